"""One validated v3 session to rows of the data tables, the same schema as v2. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime

from pipeline.flatten import ENDED_STATUSES, Rows, analysis_rows, empty_rows, json_text, list_rows
from pipeline.models_v3 import NoteUsageItem, SessionInsights
from pipeline.schema import (
    CHILD_SESSIONS,
    NOTE_USAGES,
    SESSION_LANGUAGES,
    SESSION_TOOLS,
    SESSIONS,
)


def is_ended(session: SessionInsights) -> bool:
    return session.status in ENDED_STATUSES or session.status_detail == "finished"


def flatten_v3(session: SessionInsights, run_id: str, extracted_at: datetime) -> Rows:
    """Return {table name: rows} for one v3 session."""
    sid = session.session_id
    analysis = session.analysis
    prompt = analysis.suggested_prompt if analysis else None
    classification = analysis.classification if analysis else None
    rows = empty_rows()
    rows["sessions"] = [
        SESSIONS.row(
            session_id=sid,
            url=session.url,
            status=session.status,
            title=session.title,
            org_id=session.org_id,
            user_id=session.user_id,
            created_at=session.created_at,
            updated_at=session.updated_at,
            acus_consumed=session.acus_consumed,
            initial_user_message=None,  # not in v3: its messages endpoint has it
            has_session_analysis=analysis is not None,
            original_prompt=prompt.original_prompt if prompt else None,
            suggested_prompt=prompt.suggested_prompt if prompt else None,
            extra=json_text(session.model_extra or None),
            _run_id=run_id,
            _extracted_at=extracted_at,
            deleted_at=None,
            api_version="v3",
            ended_at=session.updated_at if is_ended(session) else None,
            analysis_requested_at=None,
            status_detail=session.status_detail,
            origin=session.origin,
            category=session.category,
            subcategory=session.subcategory,
            service_user_id=session.service_user_id,
            playbook_id=session.playbook_id,
            parent_session_id=session.parent_session_id,
            is_archived=session.is_archived,
            structured_output=json_text(session.structured_output),
            num_user_messages=session.num_user_messages,
            num_devin_messages=session.num_devin_messages,
            session_size=session.session_size,
            classification_category=classification.category if classification else None,
            classification_confidence=(
                float(classification.confidence) if classification else None
            ),
        )
    ]
    rows.update(list_rows(sid, session.tags, session.pull_requests))
    rows["child_sessions"] = [
        CHILD_SESSIONS.row(session_id=sid, ordinal=i, child_session_id=child)
        for i, child in enumerate(session.child_session_ids)
    ]
    if analysis:
        feedback = prompt.feedback_items if prompt else []
        rows.update(analysis_rows(sid, analysis.issues, analysis.action_items, analysis.timeline,
                                  feedback))  # fmt: skip
        usage = analysis.note_usage
        if usage:
            rows["note_usages"] = [
                _note_usage(sid, kind, i, item)
                for kind, items in (("good", usage.good_usages), ("bad", usage.bad_usages))
                for i, item in enumerate(items)
            ]
    if classification:
        rows["session_languages"] = [
            SESSION_LANGUAGES.row(session_id=sid, ordinal=i, language=x)
            for i, x in enumerate(classification.programming_languages)
        ]
        rows["session_tools"] = [
            SESSION_TOOLS.row(session_id=sid, ordinal=i, tool=x)
            for i, x in enumerate(classification.tools_and_frameworks)
        ]
    return rows


def _note_usage(sid: str, kind: str, ordinal: int, item: NoteUsageItem | str) -> tuple[object, ...]:
    if isinstance(item, str):  # SPEC 4: a plain-string item lands in message
        return NOTE_USAGES.row(session_id=sid, kind=kind, ordinal=ordinal, note_id=None,
                               message=item, reason=None)  # fmt: skip
    return NOTE_USAGES.row(session_id=sid, kind=kind, ordinal=ordinal, note_id=item.note_id,
                           message=item.message, reason=item.reason)  # fmt: skip
