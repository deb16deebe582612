create or replace view stg_session_counts as

with session_ids as (

    select session_id from sessions

),

pr_counts as (

    select * from stg_pull_requests_by_session

),

issue_counts as (

    select
        session_id,
        count(*) as issue_count
    from issues
    group by session_id

),

action_item_counts as (

    select
        session_id,
        count(*) as action_item_count
    from action_items
    group by session_id

),

timeline_event_counts as (

    select
        session_id,
        count(*) as timeline_event_count
    from timeline_events
    group by session_id

),

feedback_item_counts as (

    select
        session_id,
        count(*) as feedback_item_count
    from feedback_items
    group by session_id

),

final as (

    select
        session_ids.session_id,
        coalesce(pr_counts.pr_count, 0) as pr_count,
        coalesce(pr_counts.merged_pr_count, 0) as merged_pr_count,
        coalesce(pr_counts.closed_pr_count, 0) as closed_pr_count,
        coalesce(pr_counts.resolved_pr_count, 0) as resolved_pr_count,
        coalesce(pr_counts.merged_pr_count, 0) > 0 as has_merged_pr,
        coalesce(issue_counts.issue_count, 0) as issue_count,
        coalesce(action_item_counts.action_item_count, 0) as action_item_count,
        coalesce(timeline_event_counts.timeline_event_count, 0) as timeline_event_count,
        coalesce(feedback_item_counts.feedback_item_count, 0) as feedback_item_count
    from session_ids

    left join pr_counts
        on session_ids.session_id = pr_counts.session_id

    left join issue_counts
        on session_ids.session_id = issue_counts.session_id

    left join action_item_counts
        on session_ids.session_id = action_item_counts.session_id

    left join timeline_event_counts
        on session_ids.session_id = timeline_event_counts.session_id

    left join feedback_item_counts
        on session_ids.session_id = feedback_item_counts.session_id

)

select * from final;

comment on view stg_session_counts is 'Staging: one row per session (sessions), with the counts of its child rows: pr_count, merged_pr_count, closed_pr_count (closed without merging), resolved_pr_count (merged or closed), has_merged_pr, issue_count, action_item_count, timeline_event_count, feedback_item_count; 0 when it has none.';
