-- severity: warn
-- Sessions whose org_id is no organization of the enterprise, though organizations were exported (organizations has rows): an organization the listing does not show, or organizations not refreshed since it was created.
select
    concat('sessions(', sessions.session_id, ')') as key,
    sessions.org_id
from sessions
where sessions.org_id is not null
    and exists (select 1 from organizations)
    and not exists (
        select 1 from organizations where organizations.org_id = sessions.org_id
    )
