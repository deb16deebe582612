create or replace view stg_pull_requests_by_session as

with prs as (

    select * from stg_pull_requests

),

final as (

    select
        session_id,
        count(*) as pr_count,
        count(*) filter (where is_merged) as merged_pr_count,
        count(*) filter (where is_closed) as closed_pr_count,
        count(*) filter (where is_resolved) as resolved_pr_count
    from prs
    group by session_id

)

select * from final;

comment on view stg_pull_requests_by_session is 'Staging: one row per session with pull requests: how many it opened, merged, closed (without merging) and resolved (merged or closed). Sessions without PRs have no row.';
