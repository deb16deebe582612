create or replace view v_daily_usage as

with session_facts as (

    select
        session_id,
        created_date,
        org_id,
        acus_consumed
    from stg_sessions

),

session_counts as (

    select
        session_id,
        pr_count,
        merged_pr_count,
        has_merged_pr
    from stg_session_counts

),

final as (

    select
        session_facts.created_date,
        session_facts.org_id,
        count(*) as sessions,
        sum(session_facts.acus_consumed) as acus,
        count(*) filter (where session_counts.has_merged_pr) as sessions_with_merged_pr,
        -- sum() of BIGINT is HUGEINT in DuckDB: cast back so every count is BIGINT
        sum(session_counts.pr_count)::bigint as prs_opened,
        sum(session_counts.merged_pr_count)::bigint as prs_merged
    from session_facts

    left join session_counts
        on session_facts.session_id = session_counts.session_id

    group by
        session_facts.created_date,
        session_facts.org_id

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
