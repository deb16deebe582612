-- severity: warn
-- Sessions that ended more than 7 days ago and still have no analysis (deleted ones aside).
-- scope: warehouse (the clock makes a session overdue, not a run: a night must see them all)
select
    concat('sessions(', session_id, ')') as key,
    active_until as ended_at
from stg_sessions
where is_ended
  and not has_session_analysis
  and not is_deleted
  and active_until < now() - interval 7 days
