-- key: playbook_id
-- Sessions, their ACUs and pull requests by the playbook they ran (v3 playbook_id; v_playbook_outcomes, the report's playbook table).
with session_rows as (

    select
        session_id,
        playbook_id,
        acus_consumed
    from stg_sessions
    where playbook_id is not null

),

pr_counts as (

    select
        session_id,
        pr_count as prs,
        merged_pr_count as merged,
        closed_pr_count as closed,
        resolved_pr_count as resolved
    from stg_pull_requests_by_session

)

select
    session_rows.playbook_id,
    count(*) as sessions,
    count(session_rows.acus_consumed) as acus_known,
    coalesce(sum(session_rows.acus_consumed), 0)::decimal(38, 6) as acus,
    coalesce(sum(pr_counts.prs), 0)::bigint as prs_opened,
    coalesce(sum(pr_counts.merged), 0)::bigint as prs_merged,
    coalesce(sum(pr_counts.closed), 0)::bigint as prs_closed,
    coalesce(sum(pr_counts.resolved), 0)::bigint as prs_resolved
from session_rows

left join pr_counts
    on session_rows.session_id = pr_counts.session_id

group by all
