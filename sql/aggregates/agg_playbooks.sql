-- key: playbook_id
-- Sessions, their ACUs and pull requests by the playbook they ran (v3 playbook_id; v_playbook_outcomes, the report's playbook table).
select
    playbook_id,
    count(*) as sessions,
    -- sums of nothing are NULL in the views: acus_known says whether there was anything
    count(acus_consumed) as acus_known,
    coalesce(sum(acus_consumed), 0)::decimal(38, 6) as acus,
    coalesce(sum(prs_opened), 0)::bigint as prs_opened,
    coalesce(sum(prs_merged), 0)::bigint as prs_merged,
    coalesce(sum(prs_closed), 0)::bigint as prs_closed,
    coalesce(sum(prs_resolved), 0)::bigint as prs_resolved
from stg_sessions_with_prs
where playbook_id is not null
group by all
