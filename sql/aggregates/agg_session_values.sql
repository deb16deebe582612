-- key: field, value
-- Sessions by the value of their v3 classification columns origin, category and session_size (the report's breakdowns).
select
    'origin' as field,
    origin as value,
    count(*) as sessions
from stg_sessions
group by all

union all

select
    'category',
    category,
    count(*)
from stg_sessions
group by all

union all

select
    'session_size',
    session_size,
    count(*)
from stg_sessions
group by all
