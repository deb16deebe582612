create or replace view stg_sessions as

with source as (

    select * from sessions

),

renamed as (

    select
        session_id,
        url,
        status,
        title,
        org_id,
        user_id,
        created_at,
        updated_at,
        -- acus_consumed is a DOUBLE in the table, and sums of doubles show binary noise
        -- (15.870000000000001), so every view reads it as a decimal of 6 places; a value that
        -- is not finite or too large for it becomes NULL here (checks/acus_consumed_exact)
        try_cast(
            case when isfinite(acus_consumed) then acus_consumed end as decimal(18, 6)
        ) as acus_consumed,
        initial_user_message,
        has_session_analysis,
        original_prompt,
        suggested_prompt,
        extra,
        _run_id,
        _extracted_at,
        deleted_at,
        api_version,
        ended_at,
        analysis_requested_at,
        status_detail,
        origin,
        category,
        subcategory,
        service_user_id,
        playbook_id,
        parent_session_id,
        is_archived,
        structured_output,
        num_user_messages,
        num_devin_messages,
        session_size,
        classification_category,
        classification_confidence,
        -- the date in UTC, whatever the reader's TimeZone setting
        (created_at at time zone 'UTC')::date as created_date,
        -- ended_at, not updated_at, for an ended session: a late analysis moves updated_at;
        -- while it runs (or for rows stored before ended_at existed) updated_at is the latest
        coalesce(ended_at, updated_at) as active_until,
        -- SPEC section 1: ended = status exit or error, or v3 status_detail finished
        coalesce(
            status in ('exit', 'error') or status_detail = 'finished', false
        ) as is_ended,
        deleted_at is not null as is_deleted
    from source

),

final as (

    select
        *,
        epoch(active_until - created_at) / 60 as duration_minutes
    from renamed

)

select * from final;

comment on view stg_sessions is 'Staging: one row per session, every column of sessions with acus_consumed as an exact DECIMAL(18,6) (NULL when the stored double is not finite or too large), plus the facts the views share: created_date (UTC), active_until (ended_at, or updated_at while the session runs or when ended_at was not recorded), duration_minutes (created_at to active_until), is_ended (status exit or error, or status_detail finished), is_deleted (deleted_at set).';
