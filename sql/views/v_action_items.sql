create or replace view v_action_items as

with action_items as (

    select * from action_items

),

final as (

    select
        type,
        count(*) as items,
        count(distinct session_id) as sessions
    from action_items
    group by type

)

select * from final
