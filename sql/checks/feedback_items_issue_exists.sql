-- severity: warn
-- Feedback items whose issue_id names no issue of their session (v2 issue_N: 1-based; v3: issues.issue_id).
-- warn, not error: no figure of the views depends on these references; they describe what the API sent
select
    concat('feedback_items(', feedback_items.session_id, ', ', feedback_items.ordinal, ')') as key,
    feedback_items.issue_id
from feedback_items
where feedback_items.issue_id is not null
  and not exists (
      select 1
      from stg_issues
      where stg_issues.session_id = feedback_items.session_id
        and stg_issues.issue_ref = feedback_items.issue_id
  )
