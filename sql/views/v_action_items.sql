create or replace view v_action_items as

-- agg_action_types holds the sums by type as text_key groups it, agg_spellings every spelling
-- (as text_cut shows it: at most 300 characters and '…') with its uses, both kept by every run
-- (sql/aggregates)
with spellings as (

    select
        text,
        text_key,
        uses
    from agg_spellings
    where field = 'type'

),

-- each group goes by its most common spelling (on a tie, the shortest, then the first in byte
-- order); most groups have one spelling, which names it
names as (

    select
        text_key,
        first(text order by uses desc, length(text), text) as type
    from spellings
    group by text_key

),

final as (

    select
        names.type,
        agg_action_types.items,
        agg_action_types.sessions
    from agg_action_types

    left join names
        on agg_action_types.type_key is not distinct from names.text_key

)

select * from final;

comment on view v_action_items is 'One row per action item type (NULL: items without a type), grouped by text_key (case, spacing, trailing punctuation and Unicode form do not count; a type longer than 300 characters groups by its first 300 and a hash of the whole) and shown in its most common spelling, cut to 300 characters and … when longer: how many action items the analyses proposed, and in how many sessions.';
comment on column v_action_items.type is 'Kind of action (type): machine_setup, repo_config, knowledge, prompt_improvement, ...; the most common of the spellings grouped in this row, cut to 300 characters and … when longer.';
comment on column v_action_items.items is 'Action items of this type.';
comment on column v_action_items.sessions is 'Sessions with at least one of them.';
