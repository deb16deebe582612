-- severity: error
-- Keys (pipeline/schema.py) held by more than one row of their table, every table.
-- Keys are grouped by their 64-bit hash first: a table of hashes fits the small cache where one of
-- strings spills (twice as fast at 100k sessions); the rows a hash picks are then grouped by key.
select
    concat('sessions(', session_id, ')') as key,
    count(*) as copies
from sessions
where hash(session_id) in (
    select hash(session_id) from sessions group by 1 having count(*) > 1
)
group by session_id
having count(*) > 1

union all

select
    concat('session_tags(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from session_tags
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from session_tags group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('pull_requests(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from pull_requests
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from pull_requests group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('issues(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from issues
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from issues group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('action_items(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from action_items
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from action_items group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('timeline_events(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from timeline_events
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from timeline_events group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('feedback_items(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from feedback_items
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from feedback_items group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('session_languages(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from session_languages
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from session_languages group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('session_tools(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from session_tools
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from session_tools group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('child_sessions(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from child_sessions
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from child_sessions group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('note_usages(', session_id, ', ', kind, ', ', ordinal, ')') as key,
    count(*) as copies
from note_usages
where hash(session_id, kind, ordinal) in (
    select hash(session_id, kind, ordinal) from note_usages group by 1 having count(*) > 1
)
group by session_id, kind, ordinal
having count(*) > 1

union all

select
    concat('session_messages(', session_id, ', ', ordinal, ')') as key,
    count(*) as copies
from session_messages
where hash(session_id, ordinal) in (
    select hash(session_id, ordinal) from session_messages group by 1 having count(*) > 1
)
group by session_id, ordinal
having count(*) > 1

union all

select
    concat('users(', user_id, ')') as key,
    count(*) as copies
from users
where hash(user_id) in (
    select hash(user_id) from users group by 1 having count(*) > 1
)
group by user_id
having count(*) > 1

union all

select
    concat('user_roles(', user_id, ', ', ordinal, ')') as key,
    count(*) as copies
from user_roles
where hash(user_id, ordinal) in (
    select hash(user_id, ordinal) from user_roles group by 1 having count(*) > 1
)
group by user_id, ordinal
having count(*) > 1

union all

select
    concat('organizations(', org_id, ')') as key,
    count(*) as copies
from organizations
where hash(org_id) in (
    select hash(org_id) from organizations group by 1 having count(*) > 1
)
group by org_id
having count(*) > 1

union all

select
    concat('org_members(', org_id, ', ', user_id, ')') as key,
    count(*) as copies
from org_members
where hash(org_id, user_id) in (
    select hash(org_id, user_id) from org_members group by 1 having count(*) > 1
)
group by org_id, user_id
having count(*) > 1

union all

select
    concat('playbooks(', playbook_id, ')') as key,
    count(*) as copies
from playbooks
where hash(playbook_id) in (
    select hash(playbook_id) from playbooks group by 1 having count(*) > 1
)
group by playbook_id
having count(*) > 1

union all

select
    concat('knowledge_notes(', note_id, ')') as key,
    count(*) as copies
from knowledge_notes
where hash(note_id) in (
    select hash(note_id) from knowledge_notes group by 1 having count(*) > 1
)
group by note_id
having count(*) > 1

union all

select
    concat('consumption_cycles(', cycle_start, ')') as key,
    count(*) as copies
from consumption_cycles
where hash(cycle_start) in (
    select hash(cycle_start) from consumption_cycles group by 1 having count(*) > 1
)
group by cycle_start
having count(*) > 1

union all

select
    concat('consumption_daily(', billing_date, ', ', scope, ', ', scope_id, ', ', product, ')') as key,
    count(*) as copies
from consumption_daily
where hash(billing_date, scope, scope_id, product) in (
    select hash(billing_date, scope, scope_id, product) from consumption_daily group by 1 having count(*) > 1
)
group by billing_date, scope, scope_id, product
having count(*) > 1

union all

select
    concat('active_users(', period, ', ', start_time, ')') as key,
    count(*) as copies
from active_users
where hash(period, start_time) in (
    select hash(period, start_time) from active_users group by 1 having count(*) > 1
)
group by period, start_time
having count(*) > 1

union all

select
    concat('usage_daily(', metric_date, ')') as key,
    count(*) as copies
from usage_daily
where hash(metric_date) in (
    select hash(metric_date) from usage_daily group by 1 having count(*) > 1
)
group by metric_date
having count(*) > 1

union all

select
    concat('export_runs(', run_id, ')') as key,
    count(*) as copies
from export_runs
where hash(run_id) in (
    select hash(run_id) from export_runs group by 1 having count(*) > 1
)
group by run_id
having count(*) > 1

union all

select
    concat('export_errors(', run_id, ', ', part, ', ', session_id, ')') as key,
    count(*) as copies
from export_errors
where hash(run_id, part, session_id) in (
    select hash(run_id, part, session_id) from export_errors group by 1 having count(*) > 1
)
group by run_id, part, session_id
having count(*) > 1

union all

select
    concat('quality_checks(', run_id, ', ', check_name, ')') as key,
    count(*) as copies
from quality_checks
where hash(run_id, check_name) in (
    select hash(run_id, check_name) from quality_checks group by 1 having count(*) > 1
)
group by run_id, check_name
having count(*) > 1
