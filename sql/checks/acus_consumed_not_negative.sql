-- severity: error
-- Sessions whose acus_consumed is negative or not a finite number.
select
    concat('sessions(', session_id, ')') as key,
    acus_consumed
from sessions
-- NaN compares greater than any number in DuckDB, so it is named apart
where acus_consumed < 0
   or not isfinite(acus_consumed)
