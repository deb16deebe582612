create or replace view v_note_usage as

-- how session analyses judged each note's use (v3 analysis.note_usage): agg_note_usages,
-- kept by every run (sql/aggregates)
with usage_totals as (

    select
        note_id,
        good_uses,
        bad_uses,
        sessions
    from agg_note_usages

),

-- every note the API lists, and every one an analysis names that it does not
note_ids as (

    select note_id from knowledge_notes
    union
    select note_id from usage_totals

),

final as (

    select
        note_ids.note_id,
        knowledge_notes.name,
        knowledge_notes.folder_path,
        knowledge_notes.is_enabled,
        knowledge_notes.removed_at,
        coalesce(usage_totals.good_uses, 0)::bigint as good_uses,
        coalesce(usage_totals.bad_uses, 0)::bigint as bad_uses,
        coalesce(usage_totals.sessions, 0)::bigint as sessions
    from note_ids

    left join knowledge_notes
        on note_ids.note_id = knowledge_notes.note_id

    left join usage_totals
        on note_ids.note_id = usage_totals.note_id

)

select * from final;

comment on view v_note_usage is 'One row per Knowledge note: every note the API lists (knowledge_notes, removed ones included) and every note_id an analysis names that it does not (name NULL), with the uses session analyses judged good and bad (note_usages; a plain-string use names no note and is not counted) and the sessions whose analyses name it.';
comment on column v_note_usage.note_id is 'The note (knowledge_notes.note_id, note_usages.note_id).';
comment on column v_note_usage.name is 'Its name (knowledge_notes.name); NULL for a note only analyses name.';
comment on column v_note_usage.folder_path is 'Its folder (knowledge_notes.folder_path).';
comment on column v_note_usage.is_enabled is 'Whether Devin uses it (knowledge_notes.is_enabled).';
comment on column v_note_usage.removed_at is 'When the notes listing first no longer held it; NULL while listed.';
comment on column v_note_usage.good_uses is 'Uses the analyses judged good (note_usages kind good); 0 for none.';
comment on column v_note_usage.bad_uses is 'Uses the analyses judged bad (note_usages kind bad); 0 for none.';
comment on column v_note_usage.sessions is 'Sessions whose analyses name it, good or bad.';
