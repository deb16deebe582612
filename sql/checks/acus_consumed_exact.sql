-- severity: warn
-- Sessions whose acus_consumed the views cannot hold exactly as DECIMAL(18,6) (stg_sessions).
select
    concat('sessions(', session_id, ')') as key,
    acus_consumed
from sessions
where isfinite(acus_consumed)
  and acus_consumed is distinct from try_cast(acus_consumed as decimal(18, 6))::double
