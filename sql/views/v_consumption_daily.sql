create or replace view v_consumption_daily as

-- the enterprise's bill per billing day (08:00 UTC to 08:00 UTC), one column per product
with billed as (

    select
        billing_date,
        sum(acus) filter (where product = 'all') as billed_acus,
        sum(acus) filter (where product = 'devin') as devin_acus,
        sum(acus) filter (where product = 'cascade') as cascade_acus,
        sum(acus) filter (where product = 'terminal') as terminal_acus,
        sum(acus) filter (where product = 'review') as review_acus
    from consumption_daily
    where scope = 'enterprise'
    group by billing_date

),

-- agg_billing_days holds the sessions' ACUs by the billing day they were created (sql/aggregates)
session_days as (

    select
        billing_date,
        sum(sessions)::bigint as sessions,
        case when sum(acus_known) > 0 then sum(acus) end as session_acus
    from agg_billing_days
    group by billing_date

),

cycles as (

    select
        ((cycle_start at time zone 'UTC') - interval 8 hour)::date as cycle_start_date,
        ((cycle_end at time zone 'UTC') - interval 8 hour)::date as cycle_end_date
    from consumption_cycles

),

days as (

    select billing_date from billed
    union
    select billing_date from session_days

),

final as (

    select
        days.billing_date,
        cycles.cycle_start_date,
        billed.billed_acus,
        billed.devin_acus,
        billed.cascade_acus,
        billed.terminal_acus,
        billed.review_acus,
        coalesce(session_days.sessions, 0)::bigint as sessions,
        session_days.session_acus
    from days

    left join billed
        on days.billing_date = billed.billing_date

    left join session_days
        on days.billing_date = session_days.billing_date

    left join cycles
        on days.billing_date >= cycles.cycle_start_date
        and days.billing_date < cycles.cycle_end_date

)

select * from final;

comment on view v_consumption_daily is 'One row per billing day (the Devin dashboard''s day: 08:00 UTC to 08:00 UTC, midnight PST) that has a bill or sessions: the enterprise''s billed ACUs in all and by product (consumption_daily, scope enterprise) beside the sessions created that billing day and their ACUs (acus_consumed). The two differ: a session''s ACUs land on the days they were spent and are counted here on the day it was created, and the bill has products no session shows. NULL where the API did not bill the day (or consumption was not exported), never a made-up zero.';
comment on column v_consumption_daily.billing_date is 'The billing day: from billing_date 08:00 UTC to the next day''s 08:00 UTC.';
comment on column v_consumption_daily.cycle_start_date is 'The billing date on which the billing cycle holding the day starts (consumption_cycles); NULL outside every listed cycle.';
comment on column v_consumption_daily.billed_acus is 'ACUs billed for the day, every product (consumption_daily product all); NULL where the API returned no such day.';
comment on column v_consumption_daily.devin_acus is 'Of those, Devin sessions (v3 acus_by_product.devin); NULL in v2, which does not split by product.';
comment on column v_consumption_daily.cascade_acus is 'Of those, Cascade (v3 acus_by_product.cascade); NULL in v2.';
comment on column v_consumption_daily.terminal_acus is 'Of those, Terminal (v3 acus_by_product.terminal); NULL in v2.';
comment on column v_consumption_daily.review_acus is 'Of those, review (v3 acus_by_product.review, newer and optional); NULL where not given.';
comment on column v_consumption_daily.sessions is 'Sessions created that billing day (deleted ones included).';
comment on column v_consumption_daily.session_acus is 'ACUs of those sessions, an exact DECIMAL sum of acus_consumed (their whole life, not the day''s spending); NULL without sessions.';
