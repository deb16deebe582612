-- severity: warn
-- Sessions whose playbook_id (v3) is no playbook of the enterprise, though playbooks were exported (playbooks has rows): an org playbook the enterprise listing does not show, or playbooks not refreshed since it was written.
select
    concat('sessions(', sessions.session_id, ')') as key,
    sessions.playbook_id
from sessions
where sessions.playbook_id is not null
    and exists (select 1 from playbooks)
    and not exists (
        select 1 from playbooks where playbooks.playbook_id = sessions.playbook_id
    )
