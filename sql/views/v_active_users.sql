create or replace view v_active_users as

with periods as (

    select
        period,
        start_time,
        end_time,
        active_users
    from active_users

),

final as (

    select
        period,
        (start_time at time zone 'UTC')::date as period_start_date,
        start_time,
        end_time,
        active_users
    from periods

)

select * from final;

comment on view v_active_users is 'One row per period Devin counts active users for (v3 metrics dau, wau, mau): UTC days, ISO weeks from Monday, calendar months. A user is active who created a session or a search in the period. Periods are UTC, billing days are not: do not join them on a date.';
comment on column v_active_users.period is 'day, week or month.';
comment on column v_active_users.period_start_date is 'The UTC date the period starts on.';
comment on column v_active_users.start_time is 'The period''s start (active_users.start_time).';
comment on column v_active_users.end_time is 'The period''s end as the API gives it (active_users.end_time).';
comment on column v_active_users.active_users is 'Distinct active users in the period.';
