-- key: type_key
-- Action items by their type grouped as text_key groups it, with the sessions that have them (v_action_items, the report's action item types).
select
    text_key(type) as type_key,
    count(*) as items,
    count(distinct session_id) as sessions
from action_items
group by all
