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

-- labels and impacts are free text: each distinct spelling once, with the key it is grouped
-- by (text_key, defined in stg_issues.sql) and the issues that spell it so
label_spellings as materialized (

    select
        label,
        text_key(label) as label_key,
        count(*) as issues
    from issue_rows
    group by label

),

impact_spellings as materialized (

    select
        impact,
        text_key(impact) as impact_key,
        count(*) as issues
    from issue_rows
    group by impact

),

-- each group goes by its most common spelling (on a tie, the shortest, without the stray space
-- or punctuation, then the first in byte order: "Flaky test" before "flaky test"); most groups
-- have one spelling, which names it, so the choice is made only where there are several
label_names as (

    select
        label_key,
        first(label order by issues desc, length(label), label) as label_name
    from label_spellings
    where label_key in (
        select label_key
        from label_spellings
        group by label_key
        having count(*) > 1
    )
    group by label_key

),

impact_names as (

    select
        impact_key,
        first(impact order by issues desc, length(impact), impact) as impact_name
    from impact_spellings
    where impact_key in (
        select impact_key
        from impact_spellings
        group by impact_key
        having count(*) > 1
    )
    group by impact_key

),

-- every spelling with the name of its group
label_map as (

    select
        label_spellings.label,
        coalesce(label_names.label_name, label_spellings.label) as label_name
    from label_spellings

    left join label_names
        on label_spellings.label_key = label_names.label_key

),

impact_map as (

    select
        impact_spellings.impact,
        coalesce(impact_names.impact_name, impact_spellings.impact) as impact_name
    from impact_spellings

    left join impact_names
        on impact_spellings.impact_key = impact_names.impact_key

),

-- one row per label, impact and session, so a session with several issues
-- of the same kind adds its ACUs once
label_sessions as (

    select
        label_map.label_name as label,
        impact_map.impact_name as impact,
        issue_rows.session_id,
        count(*) as issues
    from issue_rows

    inner join label_map
        on issue_rows.label is not distinct from label_map.label

    inner join impact_map
        on issue_rows.impact is not distinct from impact_map.impact

    group by
        label_map.label_name,
        impact_map.impact_name,
        issue_rows.session_id

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

comment on view v_issue_labels is 'One row per issue label and impact, each grouped by text_key (case, spacing, trailing punctuation and Unicode form do not count: "Flaky test", "flaky test." and " Flaky  Test " are one label) and shown in its most common spelling: issues found, sessions affected, and the ACUs of those sessions (exact decimal, each session once per row however many such issues it had; a session with issues of several kinds counts in each row, so do not add acus_in_sessions up over rows). Deleted sessions included.';
comment on column v_issue_labels.label is 'The issue''s category (label), in the most common of the spellings grouped in this row (NULL: issues without a label).';
comment on column v_issue_labels.impact is 'Its impact (impact), in the most common of the spellings grouped in this row.';
comment on column v_issue_labels.issues is 'Issues with this label and impact.';
comment on column v_issue_labels.sessions_affected is 'Sessions with at least one of them.';
comment on column v_issue_labels.acus_in_sessions is 'ACUs of those sessions, each once (exact decimal).';
