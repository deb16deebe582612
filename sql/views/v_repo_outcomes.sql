create or replace view v_repo_outcomes as

-- agg_repos holds these sums by repo, kept by every run (sql/aggregates): each session's ACUs
-- counted once a repo, and split over its repos by their share of its PRs in exact millionths
with repos as (

    select * from agg_repos

),

final as (

    select
        repo,
        sum(prs)::bigint as prs,
        sum(merged)::bigint as merged,
        sum(closed)::bigint as closed,
        -- open PRs are not failures yet: only merged and closed ones are counted
        sum(merged)::double / nullif(sum(resolved), 0) as merge_rate,
        sum(sessions)::bigint as sessions,
        case when sum(acus_known) > 0 then sum(acus_spent) end as acus_spent,
        case
            when sum(acus_known) > 0
                then sum(micro_attributed::decimal(18, 0) * 0.000001)
        end as acus_attributed
    from repos
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
