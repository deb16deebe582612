-- severity: error
-- NULLs where a value is required: NOT NULL columns of pipeline/schema.py, fields the API always sends.
select
    concat('sessions(', session_id, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when url is null then 'url' end,
        case when status is null then 'status' end,
        case when org_id is null then 'org_id' end,
        case when created_at is null then 'created_at' end,
        case when updated_at is null then 'updated_at' end,
        case when acus_consumed is null then 'acus_consumed' end,
        case when has_session_analysis is null then 'has_session_analysis' end,
        -- the v3 API always sends these; v2 does not have them
        case when api_version = 'v3' and num_user_messages is null then 'num_user_messages' end,
        case when api_version = 'v3' and num_devin_messages is null then 'num_devin_messages' end,
        case when api_version = 'v3' and session_size is null then 'session_size' end
    ) as null_columns
from sessions
where session_id is null
   or url is null
   or status is null
   or org_id is null
   or created_at is null
   or updated_at is null
   or acus_consumed is null
   or has_session_analysis is null
   or (
       api_version = 'v3'
       and (num_user_messages is null or num_devin_messages is null or session_size is null)
   )

union all

select
    concat('session_tags(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when tag is null then 'tag' end
    ) as null_columns
from session_tags
where session_id is null
   or ordinal is null
   or tag is null

union all

select
    concat('pull_requests(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when url is null then 'url' end
    ) as null_columns
from pull_requests
where session_id is null
   or ordinal is null
   or url is null

union all

select
    concat('issues(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when issue is null then 'issue' end,
        case when impact is null then 'impact' end,
        case when label is null then 'label' end
    ) as null_columns
from issues
where session_id is null
   or ordinal is null
   or issue is null
   or impact is null
   or label is null

union all

select
    concat('action_items(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when action_item is null then 'action_item' end
    ) as null_columns
from action_items
where session_id is null
   or ordinal is null
   or action_item is null

union all

select
    concat('timeline_events(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when title is null then 'title' end,
        case when description is null then 'description' end
    ) as null_columns
from timeline_events
where session_id is null
   or ordinal is null
   or title is null
   or description is null

union all

select
    concat('feedback_items(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end
    ) as null_columns
from feedback_items
where session_id is null
   or ordinal is null

union all

select
    concat('session_languages(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when language is null then 'language' end
    ) as null_columns
from session_languages
where session_id is null
   or ordinal is null
   or language is null

union all

select
    concat('session_tools(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when tool is null then 'tool' end
    ) as null_columns
from session_tools
where session_id is null
   or ordinal is null
   or tool is null

union all

select
    concat('child_sessions(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when child_session_id is null then 'child_session_id' end
    ) as null_columns
from child_sessions
where session_id is null
   or ordinal is null
   or child_session_id is null

union all

select
    concat('note_usages(', session_id, ', ', kind, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when kind is null then 'kind' end,
        case when ordinal is null then 'ordinal' end,
        case when message is null then 'message' end
    ) as null_columns
from note_usages
where session_id is null
   or kind is null
   or ordinal is null
   or message is null

union all

select
    concat('session_messages(', session_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when session_id is null then 'session_id' end,
        case when ordinal is null then 'ordinal' end,
        case when event_id is null then 'event_id' end,
        case when source is null then 'source' end,
        case when message is null then 'message' end,
        case when created_at is null then 'created_at' end
    ) as null_columns
from session_messages
where session_id is null
   or ordinal is null
   or event_id is null
   or source is null
   or message is null
   or created_at is null

union all

select
    concat('users(', user_id, ')') as key,
    'user_id' as null_columns
from users
where user_id is null

union all

select
    concat('user_roles(', user_id, ', ', ordinal, ')') as key,
    concat_ws(', ',
        case when user_id is null then 'user_id' end,
        case when ordinal is null then 'ordinal' end,
        case when role_type is null then 'role_type' end
    ) as null_columns
from user_roles
where user_id is null
   or ordinal is null
   or role_type is null

union all

select
    concat('organizations(', org_id, ')') as key,
    concat_ws(', ',
        case when org_id is null then 'org_id' end,
        case when name is null then 'name' end
    ) as null_columns
from organizations
where org_id is null
   or name is null

union all

select
    concat('org_members(', org_id, ', ', user_id, ')') as key,
    concat_ws(', ',
        case when org_id is null then 'org_id' end,
        case when user_id is null then 'user_id' end
    ) as null_columns
from org_members
where org_id is null
   or user_id is null

union all

select
    concat('playbooks(', playbook_id, ')') as key,
    concat_ws(', ',
        case when playbook_id is null then 'playbook_id' end,
        case when title is null then 'title' end,
        case when body is null then 'body' end
    ) as null_columns
from playbooks
where playbook_id is null
   or title is null
   or body is null

union all

select
    concat('knowledge_notes(', note_id, ')') as key,
    concat_ws(', ',
        case when note_id is null then 'note_id' end,
        case when name is null then 'name' end,
        case when body is null then 'body' end,
        case when trigger is null then 'trigger' end,
        case when is_enabled is null then 'is_enabled' end,
        case when created_at is null then 'created_at' end,
        case when updated_at is null then 'updated_at' end
    ) as null_columns
from knowledge_notes
where note_id is null
   or name is null
   or body is null
   or trigger is null
   or is_enabled is null
   or created_at is null
   or updated_at is null

union all

select
    concat('consumption_cycles(', cycle_start, ')') as key,
    concat_ws(', ',
        case when cycle_start is null then 'cycle_start' end
    ) as null_columns
from consumption_cycles
where cycle_start is null

union all

select
    concat('consumption_daily(', billing_date, ', ', scope, ', ', scope_id, ', ', product, ')') as key,
    concat_ws(', ',
        case when billing_date is null then 'billing_date' end,
        case when scope is null then 'scope' end,
        case when scope_id is null then 'scope_id' end,
        case when product is null then 'product' end,
        case when acus is null then 'acus' end
    ) as null_columns
from consumption_daily
where billing_date is null
   or scope is null
   or scope_id is null
   or product is null
   or acus is null

union all

select
    concat('active_users(', period, ', ', start_time, ')') as key,
    concat_ws(', ',
        case when period is null then 'period' end,
        case when start_time is null then 'start_time' end
    ) as null_columns
from active_users
where period is null
   or start_time is null

union all

select
    concat('usage_daily(', metric_date, ')') as key,
    concat_ws(', ',
        case when metric_date is null then 'metric_date' end
    ) as null_columns
from usage_daily
where metric_date is null

union all

select
    concat('export_runs(', run_id, ')') as key,
    concat_ws(', ',
        case when run_id is null then 'run_id' end,
        case when started_at is null then 'started_at' end,
        case when status is null then 'status' end
    ) as null_columns
from export_runs
where run_id is null
   or started_at is null
   or status is null

union all

select
    concat('export_errors(', run_id, ', ', part, ', ', session_id, ')') as key,
    concat_ws(', ',
        case when run_id is null then 'run_id' end,
        case when part is null then 'part' end,
        case when session_id is null then 'session_id' end,
        case when kind is null then 'kind' end,
        case when occurred_at is null then 'occurred_at' end
    ) as null_columns
from export_errors
where run_id is null
   or part is null
   or session_id is null
   or kind is null
   or occurred_at is null

union all

select
    concat('quality_checks(', run_id, ', ', check_name, ')') as key,
    concat_ws(', ',
        case when run_id is null then 'run_id' end,
        case when check_name is null then 'check_name' end,
        case when severity is null then 'severity' end,
        case when checked_at is null then 'checked_at' end
    ) as null_columns
from quality_checks
where run_id is null
   or check_name is null
   or severity is null
   or checked_at is null
