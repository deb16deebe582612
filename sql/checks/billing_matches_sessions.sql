-- severity: warn
-- Billing cycles whose Devin ACUs on the bill (v3 product devin of the enterprise; v2 the sum of the organizations' days, which hold Devin ACUs only) and the ACUs of the sessions created on the same billing days differ by more than 10% of the bill, and by more than 1 ACU (README: Billing, reconciliation): sessions missing from the warehouse, or a bill that does not match them.
-- scope: warehouse (the bill is not about a run's sessions: a night must compare every cycle)
with cycle_days as (

    select
        cycle_start,
        ((cycle_start at time zone 'UTC') - interval 8 hour)::date as start_date,
        ((cycle_end at time zone 'UTC') - interval 8 hour)::date as end_date
    from consumption_cycles

),

devin_days as (

    -- one figure a day: v3 names the product; v2 does not, but its org filter keeps only Devin
    select
        billing_date,
        coalesce(
            sum(acus) filter (where scope = 'enterprise' and product = 'devin'),
            sum(acus) filter (where scope = 'organization' and product = 'all')
        ) as acus
    from consumption_daily
    group by billing_date

),

billed as (

    select
        cycle_days.cycle_start,
        cycle_days.start_date,
        max(devin_days.billing_date) as last_day,
        sum(devin_days.acus) as devin_acus
    from cycle_days

    inner join devin_days
        on devin_days.billing_date >= cycle_days.start_date
        and devin_days.billing_date < cycle_days.end_date

    group by cycle_days.cycle_start, cycle_days.start_date

),

-- the sessions created on the days the bill covers so far (not the day in progress)
sessions_billed as (

    select
        billed.cycle_start,
        coalesce(sum(stg_sessions.acus_consumed), 0) as session_acus
    from billed

    left join stg_sessions
        on ((stg_sessions.created_at at time zone 'UTC') - interval 8 hour)::date
            between billed.start_date and billed.last_day

    group by billed.cycle_start

)

select
    concat('consumption_cycles(', billed.cycle_start, ')') as key,
    billed.devin_acus,
    sessions_billed.session_acus,
    sessions_billed.session_acus - billed.devin_acus as difference
from billed

inner join sessions_billed
    on billed.cycle_start = sessions_billed.cycle_start

where billed.devin_acus is not null
    and abs(sessions_billed.session_acus - billed.devin_acus)
        > greatest(billed.devin_acus * 0.10, 1)
