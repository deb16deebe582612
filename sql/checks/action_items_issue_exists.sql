-- severity: warn
-- Action items whose issue_id names no issue of their session (v2 issue_N: 1-based; v3: issues.issue_id).
-- warn, not error: no figure of the views depends on these references; they describe what the API sent
select
    concat('action_items(', action_items.session_id, ', ', action_items.ordinal, ')') as key,
    action_items.issue_id
from action_items
where action_items.issue_id is not null
  and not exists (
      select 1
      from stg_issues
      where stg_issues.session_id = action_items.session_id
        and stg_issues.issue_ref = action_items.issue_id
  )
