create or replace view v_issue_labels as

-- agg_issue_labels holds the sums by label and impact as text_key groups them, agg_spellings
-- every spelling (as text_cut shows it: at most 300 characters and '…') with its uses, both
-- kept by every run (sql/aggregates)
with spellings as (

    select
        field,
        text,
        text_key,
        uses
    from agg_spellings
    where field in ('label', 'impact')

),

-- each group goes by its most common spelling (on a tie, the shortest, without the stray space
-- or punctuation, then the first in byte order: "Flaky test" before "flaky test"); most groups
-- have one spelling, which names it, so the choice is made only where there are several
chosen_names as (

    select
        field,
        text_key,
        first(text order by uses desc, length(text), text) as name
    from (
        select *
        from spellings
        qualify count(*) over (partition by field, text_key) > 1
    )
    group by
        field,
        text_key

),

names as (

    select
        spellings.field,
        spellings.text_key,
        coalesce(chosen_names.name, spellings.text) as name
    from spellings

    left join chosen_names
        on spellings.field = chosen_names.field
        and spellings.text_key = chosen_names.text_key

    qualify row_number() over (partition by spellings.field, spellings.text_key) = 1

),

final as (

    select
        label_names.name as label,
        impact_names.name as impact,
        agg_issue_labels.issues,
        agg_issue_labels.sessions_affected,
        case
            when agg_issue_labels.acus_known > 0 then agg_issue_labels.acus_in_sessions
        end as acus_in_sessions
    from agg_issue_labels

    left join names as label_names
        on label_names.field = 'label'
        and agg_issue_labels.label_key is not distinct from label_names.text_key

    left join names as impact_names
        on impact_names.field = 'impact'
        and agg_issue_labels.impact_key is not distinct from impact_names.text_key

)

select * from final;

comment on view v_issue_labels is 'One row per issue label and impact, each grouped by text_key (case, spacing, trailing punctuation and Unicode form do not count: "Flaky test", "flaky test." and " Flaky  Test " are one label; a label longer than 300 characters, such as a pasted log, groups by its first 300 and a hash of the whole) and shown in its most common spelling, cut to 300 characters and … when longer: issues found, sessions affected, and the ACUs of those sessions (exact decimal, each session once per row however many such issues it had; a session with issues of several kinds counts in each row, so do not add acus_in_sessions up over rows). Deleted sessions included.';
comment on column v_issue_labels.label is 'The issue''s category (label), in the most common of the spellings grouped in this row, cut to 300 characters and … when longer (NULL: issues without a label).';
comment on column v_issue_labels.impact is 'Its impact (impact), in the most common of the spellings grouped in this row, cut to 300 characters and … when longer.';
comment on column v_issue_labels.issues is 'Issues with this label and impact.';
comment on column v_issue_labels.sessions_affected is 'Sessions with at least one of them.';
comment on column v_issue_labels.acus_in_sessions is 'ACUs of those sessions, each once (exact decimal).';
