create or replace view v_issue_labels as

with issue_rows as (

    select
        session_id,
        label,
        impact
    from issues

),

session_facts as (

    select
        session_id,
        acus_consumed
    from stg_sessions

),

-- one row per label, impact and session, so a session with several issues
-- of the same kind adds its ACUs once
label_sessions as (

    select
        label,
        impact,
        session_id,
        count(*) as issues
    from issue_rows
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
        sum(session_facts.acus_consumed) as acus_in_sessions
    from label_sessions

    left join session_facts
        on label_sessions.session_id = session_facts.session_id

    group by
        label_sessions.label,
        label_sessions.impact

)

select * from final;

comment on view v_issue_labels is 'One row per issue label and impact (as the analysis words them): issues found, sessions affected, and the ACUs of those sessions (exact decimal, each session once per row however many such issues it had; a session with issues of several kinds counts in each row, so do not add acus_in_sessions up over rows). Deleted sessions included.';
comment on column v_issue_labels.label is 'The issue''s category (label).';
comment on column v_issue_labels.impact is 'Its impact (impact).';
comment on column v_issue_labels.issues is 'Issues with this label and impact.';
comment on column v_issue_labels.sessions_affected is 'Sessions with at least one of them.';
comment on column v_issue_labels.acus_in_sessions is 'ACUs of those sessions, each once (exact decimal).';
