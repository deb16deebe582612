create or replace view v_daily_usage as

-- agg_daily holds these sums by day, org and status, kept by every run (sql/aggregates)
with daily as (

    select * from agg_daily

),

final as (

    select
        created_date,
        org_id,
        -- sum() of BIGINT is HUGEINT in DuckDB: cast back so every count is BIGINT
        sum(sessions)::bigint as sessions,
        -- NULL where no session of the day and org has ACUs the views can hold
        case when sum(acus_known) > 0 then sum(acus) end as acus,
        sum(sessions_with_merged_pr)::bigint as sessions_with_merged_pr,
        sum(prs_opened)::bigint as prs_opened,
        sum(prs_merged)::bigint as prs_merged
    from daily
    group by
        created_date,
        org_id

)

select * from final;

comment on view v_daily_usage is 'One row per day and org: the sessions created that day (UTC), deleted sessions included (their ACUs were spent), with their ACUs (exact decimal sum of acus_consumed), how many of them have a merged PR, and the PRs they opened and merged. A session counts on the day it was created, whatever the day its ACUs were used.';
comment on column v_daily_usage.created_date is 'The day the sessions were created, in UTC.';
comment on column v_daily_usage.org_id is 'The organization.';
comment on column v_daily_usage.sessions is 'Sessions created that day.';
comment on column v_daily_usage.acus is 'ACUs of those sessions, an exact DECIMAL sum.';
comment on column v_daily_usage.sessions_with_merged_pr is 'Of those sessions, the ones with at least one merged PR.';
comment on column v_daily_usage.prs_opened is 'PRs those sessions opened.';
comment on column v_daily_usage.prs_merged is 'Of those PRs, the merged ones.';
