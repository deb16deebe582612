create or replace view stg_pull_requests as

with source as (

    select * from pull_requests

),

states as (

    select
        session_id,
        ordinal,
        url,
        state,
        repo,
        pr_number,
        -- the API documents lowercase states; any other spelling counts by its lowercase form
        -- (checks/known_pr_states flags it)
        coalesce(lower(state) = 'merged', false) as is_merged,
        -- closed without being merged
        coalesce(lower(state) = 'closed', false) as is_closed
    from source

),

resolved as (

    select
        *,
        -- an open PR (or one without a state) is not a failure yet, so merge rates leave it out
        is_merged or is_closed as is_resolved
    from states

)

select * from resolved;

comment on view stg_pull_requests is 'Staging: one row per pull request (pull_requests), plus is_merged (state merged), is_closed (state closed: closed without merging) and is_resolved (merged or closed), states compared in lowercase.';
