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

)

select * from final;

comment on view v_people is 'One row per person of the enterprise (users: exported with people), removed ones included (removed_at set, is_removed true): name, email, enterprise role, membership (v3: direct or idp), organizations, and the sessions they created with their ACUs (exact decimal sum, deleted sessions included), last session and last login. People who created no session have 0 sessions; sessions of user ids people do not know are in v_user_usage only.';
comment on column v_people.user_id is 'The user''s id (users.user_id, sessions.user_id).';
comment on column v_people.name is 'Display name (users.name); NULL where the API has none.';
comment on column v_people.email is 'Email address (users.email); NULL where the API has none.';
comment on column v_people.enterprise_role is 'Enterprise role (users.enterprise_role): v2 enterprise_role, v3 the enterprise-level role''s name.';
comment on column v_people.membership is 'v3: direct (role assignments of its own) or idp (only through identity-provider groups); NULL in v2.';
comment on column v_people.orgs is 'The organizations the user belongs to (org_members), by name (the org_id where organizations do not name it), comma-separated in name order; NULL for none.';
comment on column v_people.org_count is 'How many organizations the user belongs to.';
comment on column v_people.sessions is 'Sessions the user created (sessions.user_id), deleted ones included.';
comment on column v_people.session_acus is 'ACUs of those sessions, an exact DECIMAL sum (the sessions'' acus_consumed, not the bill); 0 without sessions.';
comment on column v_people.last_session_at is 'When the user''s newest session was created; NULL without sessions.';
comment on column v_people.last_login is 'v2 last_login; NULL in v3 or for a user who never signed in.';
comment on column v_people.removed_at is 'When a complete people listing first no longer held the user; NULL while the API lists them.';
comment on column v_people.is_removed is 'True when removed_at is set: the user left the enterprise (or its listing).';
comment on column v_people.api_version is 'The API version the user''s row came from: v2 or v3.';
