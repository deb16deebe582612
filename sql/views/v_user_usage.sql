create or replace view v_user_usage as

-- agg_users holds these sums by user, kept by every run (sql/aggregates)
with user_totals as (

    select
        user_id,
        -- sum() of BIGINT is HUGEINT in DuckDB: cast back so every count is BIGINT
        sum(sessions)::bigint as sessions,
        -- NULL where none of the user's sessions has ACUs the views can hold
        case when sum(acus_known) > 0 then sum(acus) end as acus,
        sum(prs_opened)::bigint as prs_opened,
        sum(prs_merged)::bigint as prs_merged,
        sum(prs_closed)::bigint as prs_closed,
        sum(prs_resolved)::bigint as prs_resolved
    from agg_users
    group by user_id

),

-- names where people were exported (users, one row per user_id)
people as (

    select
        user_id,
        name,
        email
    from users

),

final as (

    select
        user_totals.user_id,
        user_totals.sessions,
        user_totals.acus,
        user_totals.prs_opened,
        user_totals.prs_merged,
        user_totals.prs_closed,
        -- open PRs are not failures yet: only merged and closed ones are counted
        user_totals.prs_merged::double / nullif(user_totals.prs_resolved, 0) as merge_rate,
        -- a decimal divided is a DOUBLE in DuckDB: back to 6 places, the scale of the ACUs
        (user_totals.acus / nullif(user_totals.prs_merged, 0))::decimal(18, 6)
            as acus_per_merged_pr,
        people.name,
        people.email
    from user_totals

    left join people
        on user_totals.user_id = people.user_id

)

select * from final;

comment on view v_user_usage is 'One row per user (user_id; NULL gathers the sessions without a user, such as service users), deleted sessions included: sessions, ACUs (exact decimal sum), PRs opened, merged and closed (closed without merging), merge_rate = merged / (merged + closed), open PRs left out as not failed yet, NULL when none is merged or closed; acus_per_merged_pr = all of the user''s ACUs (sessions without PRs too) / merged PRs, rounded to 6 decimals, NULL without merged PRs; name and email from users where people were exported.';
comment on column v_user_usage.user_id is 'The user who created the sessions; NULL for sessions without one (service users).';
comment on column v_user_usage.sessions is 'Sessions the user created.';
comment on column v_user_usage.acus is 'ACUs of those sessions, an exact DECIMAL sum.';
comment on column v_user_usage.prs_opened is 'PRs those sessions opened.';
comment on column v_user_usage.prs_merged is 'Of those PRs, the merged ones.';
comment on column v_user_usage.prs_closed is 'Of those PRs, the ones closed without being merged.';
comment on column v_user_usage.merge_rate is 'prs_merged / (prs_merged + prs_closed), 0 to 1: open PRs are not counted; NULL when no PR is merged or closed.';
comment on column v_user_usage.acus_per_merged_pr is 'acus / prs_merged, 6 decimals; NULL without merged PRs.';
comment on column v_user_usage.name is 'The user''s name (users.name); NULL where people were not exported, the user is unknown to them, or the API has no name.';
comment on column v_user_usage.email is 'The user''s email (users.email); NULL where people were not exported, the user is unknown to them, or the API has no email.';
