create or replace view v_playbook_outcomes as

-- agg_playbooks holds the sums by playbook, kept by every run (sql/aggregates)
with playbook_totals as (

    select
        playbook_id,
        sessions,
        acus_known,
        acus,
        prs_opened,
        prs_merged,
        prs_closed,
        prs_resolved
    from agg_playbooks

),

-- every playbook the API lists, and every one a session names that it does not
playbook_ids as (

    select playbook_id from playbooks
    union
    select playbook_id from playbook_totals

),

final as (

    select
        playbook_ids.playbook_id,
        playbooks.title,
        playbooks.access_type,
        playbooks.org_id,
        playbooks.removed_at,
        coalesce(playbook_totals.sessions, 0)::bigint as sessions,
        coalesce(playbook_totals.acus, 0)::decimal(38, 6) as acus,
        coalesce(playbook_totals.prs_opened, 0)::bigint as prs_opened,
        coalesce(playbook_totals.prs_merged, 0)::bigint as prs_merged,
        coalesce(playbook_totals.prs_closed, 0)::bigint as prs_closed,
        -- open PRs are not failures yet: only merged and closed ones are counted
        playbook_totals.prs_merged::double / nullif(playbook_totals.prs_resolved, 0)
            as merge_rate
    from playbook_ids

    left join playbooks
        on playbook_ids.playbook_id = playbooks.playbook_id

    left join playbook_totals
        on playbook_ids.playbook_id = playbook_totals.playbook_id

)

select * from final;

comment on view v_playbook_outcomes is 'One row per playbook: every playbook the API lists (playbooks, removed ones included) and every playbook_id a session names that it does not (title NULL), with the sessions that ran it (v3 sessions.playbook_id; v2 sessions keep it in extra), their ACUs (exact decimal sum, deleted sessions included), the PRs they opened, merged and closed, and merge_rate = merged / (merged + closed), NULL when none is merged or closed.';
comment on column v_playbook_outcomes.playbook_id is 'The playbook (playbooks.playbook_id, sessions.playbook_id).';
comment on column v_playbook_outcomes.title is 'Its title (playbooks.title); NULL for a playbook only sessions name.';
comment on column v_playbook_outcomes.access_type is 'Who may use it (playbooks.access_type): enterprise or org (v2 access).';
comment on column v_playbook_outcomes.org_id is 'The organization an org playbook belongs to (v3 playbooks.org_id).';
comment on column v_playbook_outcomes.removed_at is 'When the playbooks listing first no longer held it; NULL while listed.';
comment on column v_playbook_outcomes.sessions is 'Sessions that ran it; 0 for none.';
comment on column v_playbook_outcomes.acus is 'ACUs of those sessions, an exact DECIMAL sum; 0 for none.';
comment on column v_playbook_outcomes.prs_opened is 'PRs those sessions opened.';
comment on column v_playbook_outcomes.prs_merged is 'Of those PRs, the merged ones.';
comment on column v_playbook_outcomes.prs_closed is 'Of those PRs, the ones closed without being merged.';
comment on column v_playbook_outcomes.merge_rate is 'prs_merged / (prs_merged + prs_closed), 0 to 1: open PRs are not counted; NULL when no PR is merged or closed.';
