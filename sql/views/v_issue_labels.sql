create or replace view v_issue_labels as

with issues as (

    select * from issues

),

sessions as (

    select
        session_id,
        acus_consumed
    from sessions

),

-- one row per label, impact and session, so a session with several issues
-- of the same kind adds its ACUs once
label_sessions as (

    select
        label,
        impact,
        session_id,
        count(*) as issues
    from issues
    group by
        label,
        impact,
        session_id

),

final as (

    select
        label_sessions.label,
        label_sessions.impact,
        -- sum() of BIGINT is HUGEINT in DuckDB: cast back so every count is BIGINT
        sum(label_sessions.issues)::bigint as issues,
        count(*) as sessions_affected,
        sum(sessions.acus_consumed) as acus_in_sessions
    from label_sessions

    left join sessions
        on label_sessions.session_id = sessions.session_id

    group by
        label_sessions.label,
        label_sessions.impact

)

select * from final
