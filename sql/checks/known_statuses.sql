-- severity: warn
-- Sessions whose status is not one the API documents; they are kept as they are.
select
    concat('sessions(', session_id, ')') as key,
    status
from sessions
where status not in ('new', 'claimed', 'running', 'exit', 'error', 'suspended', 'resuming')
