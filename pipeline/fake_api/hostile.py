"""Values a hostile server puts in sessions, planted by FakeDevin.plant(kind, n).

out-of-range-time  created_at or updated_at whose instant UTC cannot hold, as given:
                   '0001-01-01T00:00:00+05:00' (created) or '9999-12-31T23:00:00-05:00'
                   (updated); v3 sends their exact epoch seconds, outside year 1..9999
wide-int           integers wider than 64 bits in an unknown top-level field (ledger_seq)
                   and in nested unknown fields (usage.*), sent as exact JSON integers
ms-time            created_at and updated_at given as integer epoch milliseconds: v3 sends
                   them so (v2 still writes ISO 8601)
oversized          an unknown field (blob) of 33 MiB, past the most the client reads of an
                   answer: a runaway body; with the gzip quirk, a decompression bomb
"""

from __future__ import annotations

from typing import Any

HOSTILE_KINDS = ("out-of-range-time", "wide-int", "ms-time", "oversized")
OVERSIZED_BYTES = 33 * 2**20
TOO_LATE = "9999-12-31T23:00:00-05:00"
TOO_EARLY = "0001-01-01T00:00:00+05:00"


def hostile_fields(kind: str, nth: int, created_ms: int, updated_ms: int) -> dict[str, Any]:
    """Returns the fields that make a session hostile in this way (nth: its rank, from 0)."""
    if kind == "out-of-range-time":
        return {"created_at": TOO_EARLY} if nth % 2 else {"updated_at": TOO_LATE}
    if kind == "wide-int":
        return {
            "ledger_seq": 2**70 + nth,
            "usage": {"tokens": 2**64 + nth, "history": [2**63, -(2**63) - 1, 10**30 + nth]},
        }
    if kind == "ms-time":
        return {"created_at": created_ms, "updated_at": updated_ms}
    if kind == "oversized":
        return {"blob": "x" * OVERSIZED_BYTES}
    raise ValueError(f"unknown hostile kind {kind!r}; known: {', '.join(HOSTILE_KINDS)}")
