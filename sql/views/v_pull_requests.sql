create or replace view v_pull_requests as

with prs as (

    select * from stg_pull_requests

),

session_facts as (

    select
        session_id,
        org_id,
        user_id,
        created_at,
        acus_consumed,
        status
    from stg_sessions

),

final as (

    select
        prs.session_id,
        prs.ordinal,
        prs.url,
        prs.state,
        prs.repo,
        prs.pr_number,
        prs.is_merged,
        prs.is_closed,
        session_facts.org_id,
        session_facts.user_id,
        session_facts.created_at as session_created_at,
        -- the whole session's ACUs, repeated on each of its PRs: summing them over PRs
        -- counts a session once per PR (v_repo_outcomes.acus_attributed splits them)
        session_facts.acus_consumed,
        session_facts.status as session_status
    from prs

    -- left join: a PR is never dropped, so this view always has every PR
    left join session_facts
        on prs.session_id = session_facts.session_id

)

select * from final;

comment on view v_pull_requests is 'One row per pull request, with its session''s org, user, created_at, status and ACUs. acus_consumed is the whole session''s (exact decimal), repeated on each of its PRs: do not sum it over PRs (v_sessions or v_repo_outcomes.acus_attributed count each session once). is_merged: state merged; is_closed: state closed without merging (any case); a PR that is neither is open.';
comment on column v_pull_requests.session_id is 'The session that opened it.';
comment on column v_pull_requests.ordinal is '0-based position of the PR in the session''s pull_requests list.';
comment on column v_pull_requests.url is 'PR URL (url, else pr_url).';
comment on column v_pull_requests.state is 'PR state as the API gives it: open, merged, closed.';
comment on column v_pull_requests.repo is 'owner/name parsed from a GitHub or GitLab PR URL, else NULL.';
comment on column v_pull_requests.pr_number is 'PR or merge request number parsed from the URL, else NULL.';
comment on column v_pull_requests.is_merged is 'True when the state is merged (any case).';
comment on column v_pull_requests.is_closed is 'True when the state is closed (any case): closed without being merged.';
comment on column v_pull_requests.org_id is 'The session''s organization.';
comment on column v_pull_requests.user_id is 'The session''s user.';
comment on column v_pull_requests.session_created_at is 'When the session was created, UTC.';
comment on column v_pull_requests.acus_consumed is 'The whole session''s ACUs (exact decimal), repeated on each of its PRs.';
comment on column v_pull_requests.session_status is 'The session''s status.';
