create or replace view v_sessions as

with session_facts as (

    select * from stg_sessions

),

session_counts as (

    select * from stg_session_counts

),

-- names where people and organizations were exported (one row per id each)
people as (

    select
        user_id,
        name,
        email
    from users

),

orgs as (

    select
        org_id,
        name
    from organizations

),

final as (

    select
        session_facts.session_id,
        session_facts.url,
        session_facts.status,
        session_facts.title,
        session_facts.org_id,
        session_facts.user_id,
        session_facts.created_at,
        session_facts.updated_at,
        session_facts.acus_consumed,
        session_facts.initial_user_message,
        session_facts.has_session_analysis,
        session_facts.original_prompt,
        session_facts.suggested_prompt,
        session_facts.extra,
        session_facts._run_id,
        session_facts._extracted_at,
        session_facts.deleted_at,
        session_facts.api_version,
        session_facts.ended_at,
        session_facts.analysis_requested_at,
        session_facts.status_detail,
        session_facts.origin,
        session_facts.category,
        session_facts.subcategory,
        session_facts.service_user_id,
        session_facts.playbook_id,
        session_facts.parent_session_id,
        session_facts.is_archived,
        session_facts.structured_output,
        session_facts.num_user_messages,
        session_facts.num_devin_messages,
        session_facts.session_size,
        session_facts.classification_category,
        session_facts.classification_confidence,
        session_facts.created_date,
        session_facts.duration_minutes,
        session_facts.is_ended,
        session_facts.is_deleted,
        session_counts.pr_count,
        session_counts.merged_pr_count,
        session_counts.closed_pr_count,
        session_counts.issue_count,
        session_counts.action_item_count,
        session_counts.timeline_event_count,
        session_counts.feedback_item_count,
        people.name as user_name,
        people.email as user_email,
        orgs.name as org_name
    from session_facts

    left join session_counts
        on session_facts.session_id = session_counts.session_id

    left join people
        on session_facts.user_id = people.user_id

    left join orgs
        on session_facts.org_id = orgs.org_id

)

select * from final;

comment on view v_sessions is 'One row per session, deleted ones included (deleted_at set, is_deleted true): every column of sessions, acus_consumed as an exact DECIMAL(18,6), plus created_date (UTC), duration_minutes, is_ended, is_deleted and the counts of its PRs, issues, action items, timeline events and feedback items. duration_minutes runs from created_at to ended_at (updated_at when the session was first seen ended, which a late analysis does not move), or to updated_at while the session runs. The usage views (v_daily_usage, v_user_usage, v_repo_outcomes, v_issue_labels) count deleted sessions too: their ACUs were spent; filter on is_deleted here to leave them out. user_name, user_email and org_name come from users and organizations where people and organizations were exported.';
comment on column v_sessions.session_id is 'The session''s id, as the API returns it.';
comment on column v_sessions.url is 'Link to the session in the Devin web app (url).';
comment on column v_sessions.status is 'Session status (status): new, claimed, running, exit, error, suspended, resuming, or any value the API adds later.';
comment on column v_sessions.title is 'Session title (title).';
comment on column v_sessions.org_id is 'Organization the session belongs to (org_id).';
comment on column v_sessions.user_id is 'User who created the session (user_id); NULL for service users.';
comment on column v_sessions.created_at is 'When the session was created (created_at), UTC.';
comment on column v_sessions.updated_at is 'When the session last changed (updated_at), UTC.';
comment on column v_sessions.acus_consumed is 'Agent Compute Units used by the session (acus_consumed), as an exact DECIMAL(18,6): sum it without floating-point noise.';
comment on column v_sessions.initial_user_message is 'The user''s first message (v2 initial_user_message).';
comment on column v_sessions.has_session_analysis is 'True when the API sent an analysis (v2 session_analysis, v3 analysis); false while it is null.';
comment on column v_sessions.original_prompt is 'The prompt as given (analysis.suggested_prompt.original_prompt).';
comment on column v_sessions.suggested_prompt is 'A better prompt (analysis.suggested_prompt.suggested_prompt).';
comment on column v_sessions.extra is 'JSON text of the top-level fields the schema does not know, else NULL.';
comment on column v_sessions._run_id is 'The export run (export_runs.run_id) that last wrote this session.';
comment on column v_sessions._extracted_at is 'When the body this row comes from was received (for --from-raw: the raw file''s time).';
comment on column v_sessions.deleted_at is 'When --refresh-open found the session gone (404; kept in the raw files, so --from-raw rebuilds it); NULL while the API serves it.';
comment on column v_sessions.api_version is 'The API version the row came from: v2 or v3 (NULL: written by a release before v3).';
comment on column v_sessions.ended_at is 'updated_at as it was when the exporter first saw the session ended (status exit or error, or v3 status_detail finished), in the order the runs received it; later changes of an ended session (a late analysis, an edit, archiving) do not move it, and --from-raw, replaying the raw files in that order, comes to the same. NULL while the session runs (again, once reopened).';
comment on column v_sessions.analysis_requested_at is 'When --generate-insights last asked the v3 API to generate this session''s analysis (kept in the raw files, so --from-raw rebuilds it); --refresh-open re-fetches it until the analysis arrives. NULL if never asked.';
comment on column v_sessions.status_detail is 'v3 status_detail: what a running or suspended session is doing.';
comment on column v_sessions.origin is 'v3 origin: where the session was started (webapp, slack, api, ...).';
comment on column v_sessions.category is 'v3 category of the session''s work (bug_fixing, ...).';
comment on column v_sessions.subcategory is 'v3 subcategory, a display name.';
comment on column v_sessions.service_user_id is 'v3 service_user_id: the service user that created it.';
comment on column v_sessions.playbook_id is 'v3 playbook_id: the playbook the session ran.';
comment on column v_sessions.parent_session_id is 'v3 parent_session_id: the session that started this one.';
comment on column v_sessions.is_archived is 'v3 is_archived.';
comment on column v_sessions.structured_output is 'v3 structured_output, as JSON text.';
comment on column v_sessions.num_user_messages is 'v3 num_user_messages: messages sent by users.';
comment on column v_sessions.num_devin_messages is 'v3 num_devin_messages: messages sent by Devin.';
comment on column v_sessions.session_size is 'v3 session_size: xs, s, m, l or xl (from ACUs and messages).';
comment on column v_sessions.classification_category is 'v3 analysis.classification.category: the analysis'' own words for the work.';
comment on column v_sessions.classification_confidence is 'v3 analysis.classification.confidence of that category (0 to 1).';comment on column v_sessions.created_date is 'The day the session was created, in UTC (whatever the reader''s TimeZone).';
comment on column v_sessions.duration_minutes is 'Minutes from created_at to ended_at, or to updated_at while the session runs (or when ended_at was not recorded).';
comment on column v_sessions.is_ended is 'True when status is exit or error, or v3 status_detail is finished.';
comment on column v_sessions.is_deleted is 'True when --refresh-open found the session gone (deleted_at set).';
comment on column v_sessions.pr_count is 'Pull requests the session opened.';
comment on column v_sessions.merged_pr_count is 'Of those, merged (state merged, any case).';
comment on column v_sessions.closed_pr_count is 'Of those, closed without being merged (state closed, any case).';
comment on column v_sessions.issue_count is 'Issues its analysis found.';
comment on column v_sessions.action_item_count is 'Action items of its analysis.';
comment on column v_sessions.timeline_event_count is 'Timeline events of its analysis.';
comment on column v_sessions.feedback_item_count is 'Feedback items on its prompt.';
comment on column v_sessions.user_name is 'The name of the user who created it (users.name); NULL without one, or where people were not exported.';
comment on column v_sessions.user_email is 'That user''s email (users.email); NULL without one, or where people were not exported.';
comment on column v_sessions.org_name is 'The name of its organization (organizations.name); NULL where organizations were not exported or do not list it.';
