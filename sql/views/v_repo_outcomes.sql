create or replace view v_repo_outcomes as

with pull_requests as (

    select * from pull_requests

),

sessions as (

    select
        session_id,
        acus_consumed
    from sessions

),

-- one row per repo and session, so a session with several PRs in a repo
-- adds its ACUs to that repo once
repo_sessions as (

    select
        repo,
        session_id,
        count(*) as prs,
        count(*) filter (where lower(state) = 'merged') as merged
    from pull_requests
    group by
        repo,
        session_id

),

final as (

    select
        repo_sessions.repo,
        -- sum() of BIGINT is HUGEINT in DuckDB: cast back so every count is BIGINT
        sum(repo_sessions.prs)::bigint as prs,
        sum(repo_sessions.merged)::bigint as merged,
        sum(repo_sessions.merged)::double / nullif(sum(repo_sessions.prs), 0) as merge_rate,
        sum(sessions.acus_consumed) as acus_spent,
        count(*) as sessions
    from repo_sessions

    left join sessions
        on repo_sessions.session_id = sessions.session_id

    group by repo_sessions.repo

)

select * from final
