create or replace view v_billing_cycles as

with cycles as (

    select
        cycle_start,
        cycle_end,
        ((cycle_start at time zone 'UTC') - interval 8 hour)::date as start_date,
        ((cycle_end at time zone 'UTC') - interval 8 hour)::date as end_date,
        -- the current cycle is the newest the API lists, not one computed from the clock
        row_number() over (order by cycle_start desc) as recency
    from consumption_cycles

),

billed as (

    select
        billing_date,
        scope_id,
        scope,
        acus
    from consumption_daily
    where product = 'all' and scope in ('enterprise', 'organization')

),

cycle_totals as (

    select
        cycles.cycle_start,
        sum(billed.acus) as billed_acus,
        -- the days the bill covers so far: up to the newest billed day of the cycle
        max(billed.billing_date) - min(cycles.start_date) + 1 as days_elapsed
    from cycles

    inner join billed
        on billed.billing_date >= cycles.start_date
        and billed.billing_date < cycles.end_date
        and billed.scope = 'enterprise'

    group by cycles.cycle_start

),

-- the previous cycle's ACUs over as many of its first days as this cycle has elapsed
previous_same_day as (

    select
        cycles.cycle_start,
        sum(billed.acus) as previous_acus
    from cycles

    inner join cycle_totals
        on cycles.cycle_start = cycle_totals.cycle_start

    inner join cycles as earlier
        on earlier.recency = cycles.recency + 1

    inner join billed
        on billed.billing_date >= earlier.start_date
        and billed.billing_date < earlier.start_date + cast(cycle_totals.days_elapsed as integer)
        and billed.scope = 'enterprise'

    group by cycles.cycle_start

),

session_cycles as (

    select
        cycles.cycle_start,
        sum(agg_billing_days.sessions)::bigint as sessions,
        case
            when sum(agg_billing_days.acus_known) > 0 then sum(agg_billing_days.acus)
        end as session_acus
    from cycles

    inner join agg_billing_days
        on agg_billing_days.billing_date >= cycles.start_date
        and agg_billing_days.billing_date < cycles.end_date

    group by cycles.cycle_start

),

-- organizations with a cycle limit, and their straight-line forecast against it
limited as (

    select
        org_id,
        max_cycle_acu_limit
    from organizations
    where max_cycle_acu_limit is not null and removed_at is null

),

org_forecasts as (

    select
        cycles.cycle_start,
        limited.org_id,
        limited.max_cycle_acu_limit,
        coalesce(sum(billed.acus), 0) * (cycles.end_date - cycles.start_date)
            / max(cycle_totals.days_elapsed) as forecast
    from cycles

    inner join cycle_totals
        on cycles.cycle_start = cycle_totals.cycle_start

    cross join limited

    left join billed
        on billed.scope = 'organization'
        and billed.scope_id = limited.org_id
        and billed.billing_date >= cycles.start_date
        and billed.billing_date < cycles.end_date

    group by cycles.cycle_start, cycles.end_date, cycles.start_date, limited.org_id,
        limited.max_cycle_acu_limit

),

org_limits as (

    select
        cycle_start,
        count(*)::bigint as orgs_with_limit,
        sum(max_cycle_acu_limit)::bigint as org_cycle_limits,
        count(*) filter (where forecast > max_cycle_acu_limit)::bigint as orgs_forecast_over_limit
    from org_forecasts
    group by cycle_start

),

final as (

    select
        cycles.cycle_start,
        cycles.cycle_end,
        cycles.start_date,
        cycles.end_date,
        cycles.recency = 1 as is_current,
        (cycles.end_date - cycles.start_date)::bigint as days_in_cycle,
        coalesce(cycle_totals.days_elapsed, 0)::bigint as days_elapsed,
        cycle_totals.billed_acus,
        -- a straight line through the days so far, to the cycle's end; a decimal divided is
        -- a DOUBLE in DuckDB: back to 6 places, the scale of the ACUs
        (cycle_totals.billed_acus * (cycles.end_date - cycles.start_date)
            / nullif(cycle_totals.days_elapsed, 0))::decimal(38, 6) as forecast_acus,
        previous_same_day.previous_acus as previous_cycle_acus_same_day,
        coalesce(session_cycles.sessions, 0)::bigint as sessions,
        session_cycles.session_acus,
        org_limits.orgs_with_limit,
        org_limits.org_cycle_limits,
        org_limits.orgs_forecast_over_limit
    from cycles

    left join cycle_totals
        on cycles.cycle_start = cycle_totals.cycle_start

    left join previous_same_day
        on cycles.cycle_start = previous_same_day.cycle_start

    left join session_cycles
        on cycles.cycle_start = session_cycles.cycle_start

    left join org_limits
        on cycles.cycle_start = org_limits.cycle_start

)

select * from final;

comment on view v_billing_cycles is 'One row per billing cycle the API lists (consumption_cycles), the newest being the current one: the enterprise''s billed ACUs so far (consumption_daily, product all), the days they cover, a straight-line forecast to the cycle''s end, the previous cycle''s ACUs over as many of its first days, the sessions created in the cycle with their ACUs, and the organizations'' max_cycle_acu_limit where set, with how many are forecast past it.';
comment on column v_billing_cycles.cycle_start is 'When the cycle starts (consumption_cycles.cycle_start), 08:00 UTC.';
comment on column v_billing_cycles.cycle_end is 'When it ends, exclusive (consumption_cycles.cycle_end).';
comment on column v_billing_cycles.start_date is 'Its first billing day.';
comment on column v_billing_cycles.end_date is 'The billing day after its last one (exclusive).';
comment on column v_billing_cycles.is_current is 'True for the newest cycle the API lists: the current one.';
comment on column v_billing_cycles.days_in_cycle is 'Billing days in the cycle.';
comment on column v_billing_cycles.days_elapsed is 'Billing days from its start to the newest day billed (complete days only); 0 before any.';
comment on column v_billing_cycles.billed_acus is 'ACUs billed to the enterprise in the cycle so far, every product, exact; NULL before any billed day.';
comment on column v_billing_cycles.forecast_acus is 'billed_acus / days_elapsed * days_in_cycle: where the cycle ends at the pace so far (for a finished cycle, its total).';
comment on column v_billing_cycles.previous_cycle_acus_same_day is 'ACUs billed in the previous cycle over its first days_elapsed days: the same point of the last cycle; NULL for the oldest cycle.';
comment on column v_billing_cycles.sessions is 'Sessions created in the cycle (by billing day), deleted ones included; 0 for none.';
comment on column v_billing_cycles.session_acus is 'Their ACUs, an exact DECIMAL sum of acus_consumed (not the bill: see the README''s reconciliation); NULL without sessions.';
comment on column v_billing_cycles.orgs_with_limit is 'Organizations (listed now) with a max_cycle_acu_limit; NULL when none has one or nothing was billed.';
comment on column v_billing_cycles.org_cycle_limits is 'The sum of those organizations'' max_cycle_acu_limit.';
comment on column v_billing_cycles.orgs_forecast_over_limit is 'How many of them are forecast (their own Devin ACUs, straight line) past their limit.';
