create or replace view v_pull_requests as

with pull_requests as (

    select * from pull_requests

),

sessions as (

    select * from sessions

),

final as (

    select
        pull_requests.session_id,
        pull_requests.ordinal,
        pull_requests.url,
        pull_requests.state,
        pull_requests.repo,
        pull_requests.pr_number,
        coalesce(lower(pull_requests.state) = 'merged', false) as is_merged,
        sessions.org_id,
        sessions.user_id,
        sessions.created_at as session_created_at,
        -- the whole session's ACUs, repeated on each of its PRs: summing them over PRs
        -- counts a session once per PR (v_repo_outcomes.acus_spent counts it once)
        sessions.acus_consumed,
        sessions.status as session_status
    from pull_requests

    -- left join: a PR is never dropped, so this view always has every PR
    left join sessions
        on pull_requests.session_id = sessions.session_id

)

select * from final
