-- key: repo
-- Pull requests by repository, with the ACUs of the sessions that opened them, whole and split by their share of each session's PRs (v_repo_outcomes, the report's top repositories).
with session_facts as (

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
    from stg_pull_requests
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

)

select
    repo,
    sum(prs)::bigint as prs,
    sum(merged)::bigint as merged,
    sum(closed)::bigint as closed,
    sum(resolved)::bigint as resolved,
    count(*) as sessions,
    count(acus_consumed) as acus_known,
    coalesce(sum(acus_consumed), 0)::decimal(38, 6) as acus_spent,
    coalesce(sum(micro_attributed), 0)::hugeint as micro_attributed
from attributed
group by repo
