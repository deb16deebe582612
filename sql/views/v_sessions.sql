create or replace view v_sessions as

with sessions as (

    select * from sessions

),

pull_requests as (

    select
        session_id,
        count(*) as pr_count,
        count(*) filter (where lower(state) = 'merged') as merged_pr_count
    from pull_requests
    group by session_id

),

issues as (

    select
        session_id,
        count(*) as issue_count
    from issues
    group by session_id

),

action_items as (

    select
        session_id,
        count(*) as action_item_count
    from action_items
    group by session_id

),

timeline_events as (

    select
        session_id,
        count(*) as timeline_event_count
    from timeline_events
    group by session_id

),

final as (

    select
        sessions.session_id,
        sessions.url,
        sessions.status,
        sessions.title,
        sessions.org_id,
        sessions.user_id,
        sessions.created_at,
        sessions.updated_at,
        sessions.acus_consumed,
        sessions.initial_user_message,
        sessions.has_session_analysis,
        sessions.original_prompt,
        sessions.suggested_prompt,
        sessions.extra,
        sessions._run_id,
        sessions._extracted_at,
        sessions.deleted_at,
        sessions.api_version,
        sessions.ended_at,
        sessions.status_detail,
        sessions.origin,
        sessions.category,
        sessions.subcategory,
        sessions.service_user_id,
        sessions.playbook_id,
        sessions.parent_session_id,
        sessions.is_archived,
        sessions.structured_output,
        sessions.num_user_messages,
        sessions.num_devin_messages,
        sessions.session_size,
        sessions.classification_category,
        sessions.classification_confidence,
        -- the date in UTC, whatever the reader's TimeZone setting
        (sessions.created_at at time zone 'UTC')::date as created_date,
        epoch(sessions.updated_at - sessions.created_at) / 60 as duration_minutes,
        coalesce(pull_requests.pr_count, 0) as pr_count,
        coalesce(pull_requests.merged_pr_count, 0) as merged_pr_count,
        coalesce(issues.issue_count, 0) as issue_count,
        coalesce(action_items.action_item_count, 0) as action_item_count,
        coalesce(timeline_events.timeline_event_count, 0) as timeline_event_count
    from sessions

    left join pull_requests
        on sessions.session_id = pull_requests.session_id

    left join issues
        on sessions.session_id = issues.session_id

    left join action_items
        on sessions.session_id = action_items.session_id

    left join timeline_events
        on sessions.session_id = timeline_events.session_id

)

select * from final
