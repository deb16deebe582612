-- key: billing_date, org_id
-- Sessions and their ACUs by the billing day each session was created (days start at 08:00 UTC, midnight PST, as Devin bills) and its org (v_consumption_daily, v_billing_cycles, the reconciliation check, the report's billing section).
with session_rows as (

    select
        -- the billing day that holds created_at: the one that started at its date's 08:00 UTC
        ((created_at at time zone 'UTC') - interval 8 hour)::date as billing_date,
        org_id,
        acus_consumed
    from stg_sessions

)

select
    billing_date,
    org_id,
    count(*) as sessions,
    count(acus_consumed) as acus_known,
    coalesce(sum(acus_consumed), 0)::decimal(38, 6) as acus
from session_rows
group by all
