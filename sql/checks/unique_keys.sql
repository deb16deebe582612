-- severity: error
-- Keys (pipeline/schema.py) held by more than one row of their table, every table.
select
    concat('sessions(', session_id, ')') as key,
    count(*) as copies
from sessions
group by session_id
having count(*) > 1

union all

select
    concat('session_tags(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from session_tags
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('pull_requests(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from pull_requests
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('issues(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from issues
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('action_items(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from action_items
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('timeline_events(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from timeline_events
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('feedback_items(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from feedback_items
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('session_languages(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from session_languages
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('session_tools(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from session_tools
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('child_sessions(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from child_sessions
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('note_usages(', session_id, ', ', kind, ', ', ordinal, ')') as key,
    count(*) as copies
from note_usages
group by session_id, kind, ordinal
having count(*) > 1

union all

select
    concat('export_runs(', run_id, ')') as key,
    count(*) as copies
from export_runs
group by run_id
having count(*) > 1

union all

select
    concat('export_errors(', run_id, ', ', session_id, ')') as key,
    count(*) as copies
from export_errors
group by run_id, session_id
having count(*) > 1

union all

select
    concat('quality_checks(', run_id, ', ', check_name, ')') as key,
    count(*) as copies
from quality_checks
group by run_id, check_name
having count(*) > 1
