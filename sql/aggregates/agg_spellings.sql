-- key: field, text, text_key
-- How often each spelling of the free text the views group by text_key was written: issue labels and impacts, action item types, each spelling as text_cut shows it (cut to 300 characters and '…'). A group goes by its most common spelling.
select
    'label' as field,
    text_cut(label) as text,
    text_key(label) as text_key,
    count(*) as uses
from issues
group by all

union all

select
    'impact',
    text_cut(impact),
    text_key(impact),
    count(*)
from issues
group by all

union all

select
    'type',
    text_cut(type),
    text_key(type),
    count(*)
from action_items
group by all
