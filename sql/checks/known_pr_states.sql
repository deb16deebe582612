-- severity: warn
-- Pull requests whose state is not one the API documents (open, merged, closed); kept as they are.
select
    concat('pull_requests(', session_id, ', ', ordinal, ')') as key,
    state
from pull_requests
-- a NULL state is allowed by the API; another spelling of a known state (MERGED) is flagged
-- here although stg_pull_requests reads it by its lowercase form
where state not in ('open', 'merged', 'closed')
