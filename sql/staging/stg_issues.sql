create or replace view stg_issues as

with source as (

    select * from issues

),

referenced as (

    select
        session_id,
        ordinal,
        issue,
        impact,
        label,
        issue_id,
        -- what action_items.issue_id and feedback_items.issue_id hold for this issue: v3 gives
        -- each issue an id; v2 numbers them issue_1, issue_2, ... in list order (1-based)
        coalesce(issue_id, 'issue_' || (ordinal + 1)) as issue_ref
    from source

)

select * from referenced;

comment on view stg_issues is 'Staging: one row per issue (issues), plus issue_ref: the value action_items.issue_id and feedback_items.issue_id use for it (v3: the issue''s id; v2, or a v3 issue without id: issue_N, N its 1-based position in the list).';

-- text_key(text): the key the views group the analyses' free text by (issue labels and impacts,
-- action item types). A language model writes them, and the same words come back in another
-- case, spacing or trailing punctuation: "Flaky test", "flaky test.", " Flaky  Test ". The key
-- is the text in Unicode NFC (an accent as one character, not two), every run of spaces (tabs,
-- line breaks, no-break and ideographic spaces too) one space, no sentence punctuation (.,;:!?
-- and ..., and their CJK and Arabic forms) nor space at its end, no space at its start, in
-- lower case. A key is at most 333 characters: a text whose key would be longer than 300 (a
-- pasted log) keys by its first 300, '…' and the md5 of the whole, so two long texts stay
-- apart however alike they start, the same long text in another case or spacing still groups,
-- and the aggregate tables keyed by it (sql/aggregates) stay small however long the text: a
-- night merges them within the export's memory. Defined here, after stg_issues, so that every
-- view finds it (views are created after the whole staging layer); analysts may call it too.
-- Most texts need nothing but lower(): plain ASCII without runs of spaces, tabs or line breaks,
-- and without a space or punctuation at either end. Only the others go through every step. A
-- macro is expanded where it is used, argument and all, so the steps that name their argument
-- more than once take the text itself (text_key_bounded: the finished key). Four nested steps
-- that each named theirs three times made a plan of 81 copies of the text: 50 ms to plan each
-- use of text_key, and a night's aggregates use it a dozen times a batch.
create or replace macro text_key_nfc(text) as
    case
        -- only a combining mark or Hangul jamo can make a text change under NFC
        when strlen(text) <> length(text)
            and regexp_matches(text, '[\p{M}\x{1100}-\x{11ff}\x{a960}-\x{a97f}\x{d7b0}-\x{d7ff}]')
            then nfc_normalize(text)
        else text
    end;

create or replace macro text_key_spaces(text) as
    regexp_replace(text, '[\s\p{Z}]+', ' ', 'g');

create or replace macro text_key_end(text) as
    regexp_replace(text, '[ .,;:!?…。，、；：！？؟،؛]+$', '');

create or replace macro text_key_bounded(key) as
    case
        when length(key) > 300 then left(key, 300) || '…' || md5(key)
        else key
    end;

create or replace macro text_key_unbounded(text) as
    case
        when strlen(text) = length(text)
            and not regexp_matches(text, '[\t\n\x{0b}\f\r]|  |^ |[ .,;:!?]$')
            then lower(text)
        else lower(ltrim(text_key_end(text_key_spaces(text_key_nfc(text)))))
    end;

create or replace macro text_key(text) as
    text_key_bounded(text_key_unbounded(text));

-- text_cut(text): a spelling as the views show it, and as agg_spellings counts it: the text
-- itself, or its first 300 characters and '…' when it is longer (the report shows no more).
create or replace macro text_cut(text) as
    case
        when length(text) > 300 then left(text, 300) || '…'
        else text
    end;
