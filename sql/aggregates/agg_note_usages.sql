-- key: note_id
-- Uses of each Knowledge note that session analyses judged good or bad, and the sessions with any (v3 analysis.note_usage; v_note_usage, the report's notes).
-- A batch replaces its sessions' rows whole and no session is in two batches, so the distinct
-- sessions of a note add up over batches like the counts.
select
    note_id,
    count(*) as uses,
    count(*) filter (where kind = 'good') as good_uses,
    count(*) filter (where kind = 'bad') as bad_uses,
    count(distinct session_id) as sessions
from note_usages
where note_id is not null
group by all
