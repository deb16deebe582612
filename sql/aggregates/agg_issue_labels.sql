-- key: label_key, impact_key
-- Issues by their label and impact grouped as text_key groups them, with the sessions they affect and those sessions' ACUs (v_issue_labels, the report's recurring issues).
with issue_rows as (

    select
        session_id,
        text_key(label) as label_key,
        text_key(impact) as impact_key
    from issues

),

session_facts as (

    select
        session_id,
        acus_consumed
    from stg_sessions

),

-- one row per group and session, so a session with several issues of the same kind adds its
-- ACUs once
label_sessions as (

    select
        label_key,
        impact_key,
        session_id,
        count(*) as issues
    from issue_rows
    group by all

)

select
    label_sessions.label_key,
    label_sessions.impact_key,
    sum(label_sessions.issues)::bigint as issues,
    count(*) as sessions_affected,
    count(session_facts.acus_consumed) as acus_known,
    coalesce(sum(session_facts.acus_consumed), 0)::decimal(38, 6) as acus_in_sessions
from label_sessions

left join session_facts
    on label_sessions.session_id = session_facts.session_id

group by all
