"""A rebuild writes consecutive replayed batches together (Batch.can_join, Batch.join): the
warehouse must end exactly as when each batch is written in turn, as its run wrote it.

Raw files are drawn at random over a few sessions, v2 and v3, that start and end and start
again, are found gone, asked for analysis, sent invalid and have their messages (valid or not)
fetched, batch after batch; each file is rebuilt both ways, in this process, into real DuckDB
files, the parts' lines replayed as the export replays them."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.batch import Batch
from pipeline.consume import Consumer, RunInfo
from pipeline.enterprise_load import PartReplay
from pipeline.fake_api import FakeDevin
from pipeline.messages_load import MessageReplay
from pipeline.part_lines import PartLines, take_messages
from pipeline.parts import LINE_PREFIX, replayed_plan
from pipeline.progress import Reporter
from pipeline.raw import event_lines, read_raw
from pipeline.schema import DATA_TABLES, EXPORT_ERRORS, SESSION_MESSAGES
from pipeline.warehouse import Warehouse

DEVIN = FakeDevin(sessions=4, seed=3)
IDS = DEVIN.ids()
START = datetime(2026, 3, 1, tzinfo=UTC)


def _line(kind: str, number: int, step: int) -> bytes:
    sid, at = IDS[number], START + timedelta(minutes=step)
    if kind in ("gone", "asked"):
        marks = {sid: at}
        return b"\n".join(event_lines(marks, {}) if kind == "gone" else event_lines({}, marks))
    if kind == "invalid":
        return orjson.dumps({**DEVIN.session(sid), "created_at": "not a time"})
    if kind.startswith("messages"):
        created = "not a time" if kind == "messages invalid" else int(at.timestamp())
        items = [{"event_id": f"e{step}", "source": "user", "message": f"prompt {step}",
                  "created_at": created}]  # fmt: skip
        meta = {"run_id": "night", "part": "messages", "api_version": "v3", "session_id": sid,
                "page": 0, "last": True, "received_at": at.isoformat()}  # fmt: skip
        return (
            LINE_PREFIX + orjson.dumps(meta) + b',"body":' + orjson.dumps({"items": items}) + b"}"
        )
    version, state = kind.split()
    if version == "v2":
        body = {**DEVIN.session(sid), "updated_at": at.isoformat().replace("+00:00", "Z")}
    else:
        body = {**DEVIN.session(sid, "v3"), "updated_at": int(at.timestamp())}
    return orjson.dumps({**body, "status": state, "title": f"step {step}"})


KINDS = ["v2 running", "v2 exit", "v3 running", "v3 exit", "gone", "asked", "invalid",
         "messages", "messages invalid"]  # fmt: skip
Members = list[list[tuple[str, int]]]
members = st.lists(
    st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, len(IDS) - 1)), min_size=1,
             max_size=3),
    min_size=3, max_size=10,
)  # fmt: skip
# Each rule of Batch.can_join, with a last batch after it (the last one is never joined).
LAST = [("v2 running", 3)]
RULES = {
    "running, then ended": [[("v2 running", 0)], [("v2 exit", 0)], LAST],
    "v2, then v3": [[("v3 exit", 0)], [("v2 exit", 0)], [("v3 exit", 0)], LAST],
    "found gone, then again": [[("v2 exit", 0), ("gone", 0)], [("v2 exit", 0)], LAST],
    "again, then asked for": [[("v3 exit", 0)], [("v3 exit", 0), ("asked", 0)], LAST],
    "asked for, then again": [[("v3 exit", 0), ("asked", 0)], [("v3 exit", 0)], LAST],
    "invalid, then whole": [[("invalid", 0)], [("v2 exit", 0)], LAST],
    "messages, then the session": [[("v3 exit", 1)], [("messages", 0)], [("v3 exit", 0)], LAST],
    "messages, then again": [
        [("v3 exit", 0)],
        [("messages", 0)],
        [("v3 exit", 0)],
        [("messages", 0)],
        LAST,
    ],
    "messages invalid, then again": [
        [("v3 exit", 0)],
        [("messages invalid", 0)],
        [("messages invalid", 0)],
        LAST,
    ],
    "messages error, then the session": [
        [("v3 exit", 0)],
        [("messages invalid", 0)],
        [("v3 exit", 0)],
        LAST,
    ],
}


def raw_file(path: Path, drawn: Members) -> Path:
    step = iter(range(1000))
    lines = [[_line(kind, number, next(step)) for kind, number in m] for m in drawn]
    path.write_bytes(b"".join(gzip.compress(b"\n".join(m) + b"\n") for m in lines))
    return path


class _Sink:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

        outcome = replayed_plan().outcomes["messages"]
        messages = MessageReplay(warehouse, "rebuild", outcome)
        self.lines = PartLines("rebuild")  # the reading process's side
        self.parts = PartReplay(warehouse, "rebuild", replayed_plan(), messages)

    def write(self, batch: Batch) -> None:  # as the export's WarehouseSink writes it
        self.warehouse.write_batch(batch)
        if batch.part_lines:  # the messages read as the reading process reads them
            self.parts(batch.part_lines, self.lines.read(take_messages(batch.part_lines)))


def rebuild(warehouse: Warehouse, path: Path) -> dict[str, list[tuple[Any, ...]]]:
    for table in (*DATA_TABLES, SESSION_MESSAGES, EXPORT_ERRORS):
        warehouse.db.execute(f"DELETE FROM {table.name}")
    warehouse.aggregates_live = False
    consumer = Consumer(RunInfo("rebuild", START, 100, land_raw=False), _Sink(warehouse),
                        Reporter(io.StringIO()))  # fmt: skip
    consumer.consume(read_raw([path]))
    consumer.flush()
    found = {}
    for table in (*DATA_TABLES, SESSION_MESSAGES):
        columns = [c for c in table.column_names if c != "_run_id"]
        found[table.name] = warehouse.db.execute(
            f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY ALL"
        ).fetchall()
    found["export_errors"] = warehouse.db.execute(
        "SELECT session_id, kind, part FROM export_errors ORDER BY ALL"
    ).fetchall()
    return found


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    opened = Warehouse(tmp_path_factory.mktemp("warehouse"))
    opened.open()
    yield opened
    opened.close()


def examples(test):  # type: ignore[no-untyped-def]
    for drawn in RULES.values():
        test = example(drawn=drawn)(test)
    return test


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@examples
@given(drawn=members)
def test_batches_written_together_leave_the_rows_they_leave_one_by_one(
    warehouse, tmp_path_factory, monkeypatch, drawn
):
    path = raw_file(tmp_path_factory.mktemp("raw") / "20260301T000000.000Z-aaaaaa.jsonl.gz", drawn)
    together = rebuild(warehouse, path)
    with monkeypatch.context() as patched:
        patched.setattr(Batch, "can_join", lambda self, other: False)
        one_by_one = rebuild(warehouse, path)
    assert together == one_by_one
