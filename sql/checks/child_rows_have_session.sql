-- severity: error
-- Child rows whose session_id is in no row of sessions. One anti-join over every child table's
-- rows: one hash of the sessions' ids, so the check runs within the exporter's small cache.
with child_rows as (

    select 'session_tags' as source, session_id, ordinal::varchar as position from session_tags
    union all
    select 'pull_requests', session_id, ordinal::varchar from pull_requests
    union all
    select 'issues', session_id, ordinal::varchar from issues
    union all
    select 'action_items', session_id, ordinal::varchar from action_items
    union all
    select 'timeline_events', session_id, ordinal::varchar from timeline_events
    union all
    select 'feedback_items', session_id, ordinal::varchar from feedback_items
    union all
    select 'session_languages', session_id, ordinal::varchar from session_languages
    union all
    select 'session_tools', session_id, ordinal::varchar from session_tools
    union all
    select 'child_sessions', session_id, ordinal::varchar from child_sessions
    union all
    select 'note_usages', session_id, kind || ', ' || ordinal from note_usages
    union all
    select 'session_messages', session_id, ordinal::varchar from session_messages

)

select
    concat(source, '(', session_id, ', ', position, ')') as key
from child_rows
where not exists (
    select 1 from sessions where sessions.session_id = child_rows.session_id
)
