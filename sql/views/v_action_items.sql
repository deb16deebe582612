create or replace view v_action_items as

with items as (

    select
        session_id,
        type
    from action_items

),

-- types are free text: each distinct spelling once, with the key it is grouped by (text_key,
-- defined in stg_issues.sql) and the items that spell it so
type_spellings as materialized (

    select
        type,
        text_key(type) as type_key,
        count(*) as items
    from items
    group by type

),

-- each group goes by its most common spelling (on a tie, the shortest, then the first in byte
-- order); most groups have one spelling, which names it, so the choice is made only where there
-- are several
type_names as (

    select
        type_key,
        first(type order by items desc, length(type), type) as type_name
    from type_spellings
    where type_key in (
        select type_key
        from type_spellings
        group by type_key
        having count(*) > 1
    )
    group by type_key

),

-- every spelling with the name of its group
type_map as (

    select
        type_spellings.type,
        coalesce(type_names.type_name, type_spellings.type) as type_name
    from type_spellings

    left join type_names
        on type_spellings.type_key = type_names.type_key

),

final as (

    select
        type_map.type_name as type,
        count(*) as items,
        count(distinct items.session_id) as sessions
    from items

    inner join type_map
        on items.type is not distinct from type_map.type

    group by type_map.type_name

)

select * from final;

comment on view v_action_items is 'One row per action item type (NULL: items without a type), grouped by text_key (case, spacing, trailing punctuation and Unicode form do not count) and shown in its most common spelling: how many action items the analyses proposed, and in how many sessions.';
comment on column v_action_items.type is 'Kind of action (type): machine_setup, repo_config, knowledge, prompt_improvement, ...; the most common of the spellings grouped in this row.';
comment on column v_action_items.items is 'Action items of this type.';
comment on column v_action_items.sessions is 'Sessions with at least one of them.';
