-- severity: warn
-- One session under two ids, with and without the `devin-` prefix: a warehouse fed by v2 and by v3 where the two APIs spell ids differently. The older row is stale (README: Moving a v2 cron job to v3).
select
    concat('sessions(', bare.session_id, ')') as key,
    prefixed.session_id as other_id,
    bare.api_version,
    prefixed.api_version as other_api_version
from sessions as bare
join sessions as prefixed on prefixed.session_id = concat('devin-', bare.session_id)
