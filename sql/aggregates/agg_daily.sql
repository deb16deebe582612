-- key: created_date, org_id, status
-- Sessions, their ACUs and pull requests by the UTC day each session was created, its org and its status (v_daily_usage, the report's daily charts and headline).
with session_rows as (

    select
        session_id,
        created_date,
        org_id,
        status,
        acus_consumed
    from stg_sessions

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
    session_rows.created_date,
    session_rows.org_id,
    session_rows.status,
    count(*) as sessions,
    -- sums of nothing are NULL in the views: acus_known says whether there was anything
    count(session_rows.acus_consumed) as acus_known,
    coalesce(sum(session_rows.acus_consumed), 0)::decimal(38, 6) as acus,
    count(*) filter (where pr_counts.merged > 0) as sessions_with_merged_pr,
    coalesce(sum(pr_counts.prs), 0)::bigint as prs_opened,
    coalesce(sum(pr_counts.merged), 0)::bigint as prs_merged,
    coalesce(sum(pr_counts.closed), 0)::bigint as prs_closed,
    coalesce(sum(pr_counts.resolved), 0)::bigint as prs_resolved
from session_rows

left join pr_counts
    on session_rows.session_id = pr_counts.session_id

group by all
