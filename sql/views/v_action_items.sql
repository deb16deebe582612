create or replace view v_action_items as

with items as (

    select
        session_id,
        type
    from action_items

),

final as (

    select
        type,
        count(*) as items,
        count(distinct session_id) as sessions
    from items
    group by type

)

select * from final;

comment on view v_action_items is 'One row per action item type (NULL: items without a type): how many action items the analyses proposed, and in how many sessions.';
comment on column v_action_items.type is 'Kind of action (type): machine_setup, repo_config, knowledge, prompt_improvement, ...';
comment on column v_action_items.items is 'Action items of this type.';
comment on column v_action_items.sessions is 'Sessions with at least one of them.';
