create or replace view v_daily_usage as

with sessions as (

    select
        session_id,
        org_id,
        -- the date in UTC, whatever the reader's TimeZone setting
        (created_at at time zone 'UTC')::date as created_date,
        acus_consumed
    from sessions

),

sessions_with_merged_pr as (

    select distinct
        session_id
    from pull_requests
    where lower(state) = 'merged'

),

final as (

    select
        sessions.created_date,
        sessions.org_id,
        count(*) as sessions,
        sum(sessions.acus_consumed) as acus,
        count(sessions_with_merged_pr.session_id) as sessions_with_merged_pr
    from sessions

    left join sessions_with_merged_pr
        on sessions.session_id = sessions_with_merged_pr.session_id

    group by
        sessions.created_date,
        sessions.org_id

)

select * from final
