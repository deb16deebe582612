create or replace view stg_sessions_with_prs as

-- the per-session facts agg_daily, agg_users and agg_playbooks sum, each by its own group
with session_rows as (

    select
        session_id,
        created_date,
        org_id,
        user_id,
        playbook_id,
        status,
        acus_consumed
    from stg_sessions

),

pr_counts as (

    select * from stg_pull_requests_by_session

),

final as (

    select
        session_rows.*,
        coalesce(pr_counts.pr_count, 0) as prs_opened,
        coalesce(pr_counts.merged_pr_count, 0) as prs_merged,
        coalesce(pr_counts.closed_pr_count, 0) as prs_closed,
        coalesce(pr_counts.resolved_pr_count, 0) as prs_resolved
    from session_rows

    left join pr_counts
        on session_rows.session_id = pr_counts.session_id

)

select * from final;

comment on view stg_sessions_with_prs is 'Staging: one row per session with the groups the usage aggregates sum it by (created_date, org_id, user_id, playbook_id, status), its ACUs, and the PRs it opened, merged, closed (without merging) and resolved (0 when none).';
