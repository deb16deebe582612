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
