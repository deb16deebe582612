create or replace view v_prompt_feedback as

with feedback as (

    select * from feedback_items

),

session_facts as (

    select
        session_id,
        original_prompt,
        suggested_prompt,
        org_id,
        user_id,
        created_at
    from stg_sessions

),

final as (

    select
        feedback.session_id,
        feedback.ordinal,
        feedback.issue_id,
        feedback.summary,
        feedback.excerpt,
        feedback.details,
        session_facts.original_prompt,
        session_facts.suggested_prompt,
        session_facts.org_id,
        session_facts.user_id,
        session_facts.created_at as session_created_at
    from feedback

    -- left join: a feedback item is never dropped
    left join session_facts
        on feedback.session_id = session_facts.session_id

)

select * from final;

comment on view v_prompt_feedback is 'One row per feedback item on a session''s prompt, with the session''s original and suggested prompt, org, user and created_at.';
comment on column v_prompt_feedback.session_id is 'The session.';
comment on column v_prompt_feedback.ordinal is '0-based position of the item in the session''s feedback_items list.';
comment on column v_prompt_feedback.issue_id is 'The issue it relates to (v2: issue_N, 1-based over the issues; v3: the issue''s id).';
comment on column v_prompt_feedback.summary is 'Short summary (summary).';
comment on column v_prompt_feedback.excerpt is 'The part of the prompt it is about (excerpt).';
comment on column v_prompt_feedback.details is 'The feedback (details).';
comment on column v_prompt_feedback.original_prompt is 'The session''s prompt as given.';
comment on column v_prompt_feedback.suggested_prompt is 'The better prompt the analysis suggests.';
comment on column v_prompt_feedback.org_id is 'The session''s organization.';
comment on column v_prompt_feedback.user_id is 'The session''s user.';
comment on column v_prompt_feedback.session_created_at is 'When the session was created, UTC.';
