create or replace view v_prompt_feedback as

with feedback_items as (

    select * from feedback_items

),

sessions as (

    select * from sessions

),

final as (

    select
        feedback_items.session_id,
        feedback_items.ordinal,
        feedback_items.issue_id,
        feedback_items.summary,
        feedback_items.excerpt,
        feedback_items.details,
        sessions.original_prompt,
        sessions.suggested_prompt,
        sessions.org_id,
        sessions.user_id,
        sessions.created_at as session_created_at
    from feedback_items

    -- left join: a feedback item is never dropped
    left join sessions
        on feedback_items.session_id = sessions.session_id

)

select * from final
