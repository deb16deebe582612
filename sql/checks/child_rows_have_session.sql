-- severity: error
-- Child rows whose session_id is in no row of sessions.
select
    concat('session_tags(', session_id, ', ', ordinal, ')') as key
from session_tags
where not exists (
    select 1 from sessions where sessions.session_id = session_tags.session_id
)

union all

select
    concat('pull_requests(', session_id, ', ', ordinal, ')') as key
from pull_requests
where not exists (
    select 1 from sessions where sessions.session_id = pull_requests.session_id
)

union all

select
    concat('issues(', session_id, ', ', ordinal, ')') as key
from issues
where not exists (
    select 1 from sessions where sessions.session_id = issues.session_id
)

union all

select
    concat('action_items(', session_id, ', ', ordinal, ')') as key
from action_items
where not exists (
    select 1 from sessions where sessions.session_id = action_items.session_id
)

union all

select
    concat('timeline_events(', session_id, ', ', ordinal, ')') as key
from timeline_events
where not exists (
    select 1 from sessions where sessions.session_id = timeline_events.session_id
)

union all

select
    concat('feedback_items(', session_id, ', ', ordinal, ')') as key
from feedback_items
where not exists (
    select 1 from sessions where sessions.session_id = feedback_items.session_id
)

union all

select
    concat('session_languages(', session_id, ', ', ordinal, ')') as key
from session_languages
where not exists (
    select 1 from sessions where sessions.session_id = session_languages.session_id
)

union all

select
    concat('session_tools(', session_id, ', ', ordinal, ')') as key
from session_tools
where not exists (
    select 1 from sessions where sessions.session_id = session_tools.session_id
)

union all

select
    concat('child_sessions(', session_id, ', ', ordinal, ')') as key
from child_sessions
where not exists (
    select 1 from sessions where sessions.session_id = child_sessions.session_id
)

union all

select
    concat('note_usages(', session_id, ', ', kind, ', ', ordinal, ')') as key
from note_usages
where not exists (
    select 1 from sessions where sessions.session_id = note_usages.session_id
)
