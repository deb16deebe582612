create or replace view v_user_usage as

with sessions as (

    select
        session_id,
        user_id,
        acus_consumed
    from sessions

),

-- one row per session, so joining it keeps each session's ACUs counted once
session_prs as (

    select
        session_id,
        count(*) as prs_opened,
        count(*) filter (where lower(state) = 'merged') as prs_merged
    from pull_requests
    group by session_id

),

users as (

    select
        sessions.user_id,
        count(*) as sessions,
        sum(sessions.acus_consumed) as acus,
        -- sum() of BIGINT is HUGEINT in DuckDB: cast back so every count is BIGINT
        coalesce(sum(session_prs.prs_opened), 0)::bigint as prs_opened,
        coalesce(sum(session_prs.prs_merged), 0)::bigint as prs_merged
    from sessions

    left join session_prs
        on sessions.session_id = session_prs.session_id

    group by sessions.user_id

),

final as (

    select
        user_id,
        sessions,
        acus,
        prs_opened,
        prs_merged,
        prs_merged::double / nullif(prs_opened, 0) as merge_rate,
        acus / nullif(prs_merged, 0) as acus_per_merged_pr
    from users

)

select * from final
