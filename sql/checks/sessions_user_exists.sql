-- severity: warn
-- Sessions whose user_id is no user of the enterprise, though people were exported (users has rows): a user the members listings do not show (v3: neither members/users nor members/idp-users), or people not refreshed since the user joined.
select
    concat('sessions(', sessions.session_id, ')') as key,
    sessions.user_id
from sessions
where sessions.user_id is not null
    and exists (select 1 from users)
    and not exists (select 1 from users where users.user_id = sessions.user_id)
