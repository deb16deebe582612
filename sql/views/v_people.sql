create or replace view v_people as

with people as (

    select
        user_id,
        name,
        email,
        enterprise_role,
        membership,
        last_login,
        removed_at,
        api_version
    from users

),

-- each person's organizations, by name (the id where organizations do not name it)
memberships as (

    select
        org_members.user_id,
        string_agg(
            coalesce(organizations.name, org_members.org_id), ', '
            order by coalesce(organizations.name, org_members.org_id), org_members.org_id
        ) as orgs,
        count(*) as org_count
    from org_members

    left join organizations
        on org_members.org_id = organizations.org_id

    group by org_members.user_id

),

session_totals as (

    select
        user_id,
        count(*) as sessions,
        sum(acus_consumed) as session_acus,
        max(created_at) as last_session_at
    from stg_sessions
    where user_id is not null
    group by user_id

),

-- the current cycle is the newest the API lists
current_cycle as (

    select
        ((max(cycle_start) at time zone 'UTC') - interval 8 hour)::date as start_date,
        ((max(cycle_end) at time zone 'UTC') - interval 8 hour)::date as end_date
    from consumption_cycles
    having count(*) > 0

),

billed_now as (

    select
        consumption_daily.scope_id as user_id,
        sum(consumption_daily.acus) as billed_acus
    from consumption_daily

    inner join current_cycle
        on consumption_daily.billing_date >= current_cycle.start_date
        and consumption_daily.billing_date < current_cycle.end_date

    where consumption_daily.scope = 'user' and consumption_daily.product = 'all'
    group by consumption_daily.scope_id

),

final as (

    select
        people.user_id,
        people.name,
        people.email,
        people.enterprise_role,
        people.membership,
        memberships.orgs,
        coalesce(memberships.org_count, 0)::bigint as org_count,
        coalesce(session_totals.sessions, 0)::bigint as sessions,
        coalesce(session_totals.session_acus, 0)::decimal(38, 6) as session_acus,
        -- 0 for a person the bill does not name; NULL when no cycle was exported
        case
            when exists (select 1 from current_cycle)
                then coalesce(billed_now.billed_acus, 0)::decimal(38, 6)
        end as billed_acus_current_cycle,
        session_totals.last_session_at,
        people.last_login,
        people.removed_at,
        people.removed_at is not null as is_removed,
        people.api_version
    from people

    left join memberships
        on people.user_id = memberships.user_id

    left join session_totals
        on people.user_id = session_totals.user_id

    left join billed_now
        on people.user_id = billed_now.user_id

)

select * from final;

comment on view v_people is 'One row per person of the enterprise (users: exported with people), removed ones included (removed_at set, is_removed true): name, email, enterprise role, membership (v3: direct or idp), organizations, and the sessions they created with their ACUs (exact decimal sum, deleted sessions included), the ACUs billed to them in the current billing cycle, last session and last login. People who created no session have 0 sessions; sessions of user ids people do not know are in v_user_usage only.';
comment on column v_people.user_id is 'The user''s id (users.user_id, sessions.user_id).';
comment on column v_people.name is 'Display name (users.name); NULL where the API has none.';
comment on column v_people.email is 'Email address (users.email); NULL where the API has none.';
comment on column v_people.enterprise_role is 'Enterprise role (users.enterprise_role): v2 enterprise_role, v3 the enterprise-level role''s name.';
comment on column v_people.membership is 'v3: direct (role assignments of its own) or idp (only through identity-provider groups); NULL in v2.';
comment on column v_people.orgs is 'The organizations the user belongs to (org_members), by name (the org_id where organizations do not name it), comma-separated in name order; NULL for none.';
comment on column v_people.org_count is 'How many organizations the user belongs to.';
comment on column v_people.sessions is 'Sessions the user created (sessions.user_id), deleted ones included.';
comment on column v_people.session_acus is 'ACUs of those sessions, an exact DECIMAL sum (the sessions'' acus_consumed, not the bill); 0 without sessions.';
comment on column v_people.billed_acus_current_cycle is 'ACUs billed to the person in the current billing cycle (the newest consumption_cycles row), every product, exact (consumption_daily scope user, product all); 0 when the bill names them on no day of it; NULL when consumption was never exported.';
comment on column v_people.last_session_at is 'When the user''s newest session was created; NULL without sessions.';
comment on column v_people.last_login is 'v2 last_login; NULL in v3 or for a user who never signed in.';
comment on column v_people.removed_at is 'When a complete people listing first no longer held the user; NULL while the API lists them.';
comment on column v_people.is_removed is 'True when removed_at is set: the user left the enterprise (or its listing).';
comment on column v_people.api_version is 'The API version the user''s row came from: v2 or v3.';
