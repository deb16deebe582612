-- severity: error
-- Sessions whose times run backwards: updated_at or ended_at before created_at, ended_at after updated_at.
select
    concat('sessions(', session_id, ')') as key,
    created_at,
    ended_at,
    updated_at
from sessions
where updated_at < created_at
   or ended_at < created_at
   or ended_at > updated_at
