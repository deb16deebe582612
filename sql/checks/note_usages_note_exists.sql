-- severity: warn
-- Knowledge-note uses (v3 analyses) whose note_id is no Knowledge note, though knowledge was exported (knowledge_notes has rows): an org note the enterprise listing does not show, or a note deleted before it was ever exported.
select
    concat(
        'note_usages(', note_usages.session_id, ', ', note_usages.kind, ', ',
        note_usages.ordinal, ')'
    ) as key,
    note_usages.note_id
from note_usages
where note_usages.note_id is not null
    and exists (select 1 from knowledge_notes)
    and not exists (
        select 1 from knowledge_notes where knowledge_notes.note_id = note_usages.note_id
    )
