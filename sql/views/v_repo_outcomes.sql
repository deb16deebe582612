create or replace view v_repo_outcomes as

with prs as (

    select * from stg_pull_requests

),

session_facts as (

    select
        session_id,
        acus_consumed
    from stg_sessions

),

-- one row per repo and session, so a session with several PRs in a repo
-- adds its ACUs to that repo once
repo_sessions as (

    select
        repo,
        session_id,
        count(*) as prs,
        count(*) filter (where is_merged) as merged,
        count(*) filter (where is_closed) as closed,
        count(*) filter (where is_resolved) as resolved
    from prs
    group by
        repo,
        session_id

),

-- each session's ACUs in millionths (exact integers, the scale of acus_consumed), split
-- over its repos by their share of its PRs; the remainder of the integer division goes to
-- its repo with the most PRs, so the shares of a session add up to its ACUs exactly
repo_shares as (

    select
        repo_sessions.*,
        session_facts.acus_consumed,
        (session_facts.acus_consumed * 1000000)::hugeint as session_micro_acus,
        (session_facts.acus_consumed * 1000000)::hugeint * repo_sessions.prs
            // sum(repo_sessions.prs) over (partition by repo_sessions.session_id) as micro_share,
        row_number() over (
            partition by repo_sessions.session_id
            order by repo_sessions.prs desc, repo_sessions.repo nulls last
        ) as repo_rank
    from repo_sessions

    left join session_facts
        on repo_sessions.session_id = session_facts.session_id

),

attributed as (

    select
        *,
        micro_share + case
            when repo_rank = 1
                then session_micro_acus - sum(micro_share) over (partition by session_id)
            else 0
        end as micro_attributed
    from repo_shares

),

final as (

    select
        repo,
        -- sum() of BIGINT is HUGEINT in DuckDB: cast back so every count is BIGINT
        sum(prs)::bigint as prs,
        sum(merged)::bigint as merged,
        sum(closed)::bigint as closed,
        -- open PRs are not failures yet: only merged and closed ones are counted
        sum(merged)::double / nullif(sum(resolved), 0) as merge_rate,
        count(*) as sessions,
        sum(acus_consumed) as acus_spent,
        sum(micro_attributed::decimal(18, 0) * 0.000001) as acus_attributed
    from attributed
    group by repo

)

select * from final;

comment on view v_repo_outcomes is 'One row per repo (NULL: PR URLs whose repo could not be parsed): PRs opened, merged, closed (without merging), merge_rate = merged / (merged + closed), open PRs left out as not failed yet, NULL when none is merged or closed; sessions that opened PRs there. acus_spent counts the whole ACUs of every session with a PR in the repo, so a session with PRs in several repos counts in each of them and acus_spent summed over repos double counts; acus_attributed splits each session''s ACUs over its repos by its share of PRs in each (exact to 6 decimals), so it sums over repos to the ACUs of all sessions with PRs, each once. Deleted sessions included.';
comment on column v_repo_outcomes.repo is 'owner/name of the repository; NULL for PR URLs that could not be parsed.';
comment on column v_repo_outcomes.prs is 'PRs opened in the repo.';
comment on column v_repo_outcomes.merged is 'Of those, merged.';
comment on column v_repo_outcomes.closed is 'Of those, closed without being merged.';
comment on column v_repo_outcomes.merge_rate is 'merged / (merged + closed), 0 to 1: open PRs are not counted; NULL when none is merged or closed.';
comment on column v_repo_outcomes.sessions is 'Sessions that opened PRs in the repo.';
comment on column v_repo_outcomes.acus_spent is 'Whole ACUs of those sessions (exact decimal); a session with PRs in several repos counts in each, so do not add this up over repos.';
comment on column v_repo_outcomes.acus_attributed is 'Each session''s ACUs split over its repos by its share of PRs in each (exact decimal): adds up over repos to the ACUs of the sessions with PRs, each once.';
