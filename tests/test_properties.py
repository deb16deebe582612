"""Property-based tests: response -> SessionDetail -> rows -> DuckDB and Parquet.

1. flatten puts every field of any valid response exactly once in its designated column.
2. schema-invalid responses are rejected, naming the broken field.
3. rows written through Batch + Warehouse read back unchanged from devin.duckdb and Parquet.
4. writing a batch twice changes nothing; a session rewritten with shorter lists leaves no stale
   child rows.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pipeline.batch import Batch
from pipeline.flatten import flatten
from pipeline.models import SessionDetail
from pipeline.parquet import write_snapshots
from pipeline.schema import BY_NAME, DATA_TABLES, TABLES
from pipeline.warehouse import Warehouse
from tests.helpers import FIXTURES
from tests.strategies import (
    KNOWN_FIELDS,
    invalid_responses,
    is_pr_like,
    parse_timestamp,
    session_responses,
)

DOCUMENTED_EXAMPLE = FIXTURES / "get-session.documented-example.json"
RUN_ID = "run-1"
EXTRACTED_AT = datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)

# A minimal valid response.
BASE = {
    "session_id": "s",
    "url": "u",
    "status": "exit",
    "tags": [],
    "org_id": "o",
    "created_at": "2024-01-15T10:30:00Z",
    "updated_at": "2024-01-15T10:30:00Z",
    "acus_consumed": 1,
    "pull_requests": [],
    "session_analysis": None,
    "initial_user_message": None,
}

STORAGE = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rows_of(
    response: dict, run_id: str = RUN_ID, extracted_at: datetime = EXTRACTED_AT
) -> dict[str, list[tuple]]:
    return flatten(SessionDetail.model_validate(response), run_id, extracted_at)


def as_dicts(table: str, rows: list[tuple]) -> list[dict[str, Any]]:
    names = BY_NAME[table].column_names
    assert all(len(row) == len(names) for row in rows)
    return [dict(zip(names, row, strict=True)) for row in rows]


def same(actual: Any, expected: Any) -> bool:
    """Equal and of the same kind: "" is not None, 0.0 is 0.0 (not 0 or False)."""
    if expected is None or actual is None:
        return actual is expected
    if isinstance(expected, float):
        return isinstance(actual, float) and actual == expected
    return type(actual) is type(expected) and actual == expected


def check(actual: Any, expected: Any, where: str) -> None:
    assert same(actual, expected), f"{where}: got {actual!r}, expected {expected!r}"


def expected_repo(url: str) -> tuple[str | None, int | None]:
    """Oracle for pull_requests.repo/pr_number on the URLs the strategies draw."""
    if not is_pr_like(url) or ("/pull/" not in url and "/-/merge_requests/" not in url):
        return None, None
    path = urlsplit(url).path.rstrip("/")
    marker = "/pull/" if "/pull/" in path else "/-/merge_requests/"
    repo, _, number = path.partition(marker)
    repo = repo.lstrip("/")
    if marker == "/pull/" and repo.count("/") != 1:
        return None, None
    n = int(number)
    return repo, n if n < 2**31 else None


# --- 1. every field lands exactly once ----------------------------------------------------


def check_child(
    tables: dict[str, list[tuple]],
    table: str,
    sid: str,
    items: list[Any],
    expected: Callable[[Any], dict[str, Any]],
) -> None:
    rows = as_dicts(table, tables[table])
    assert len(rows) == len(items), f"{table}: {len(rows)} rows for {len(items)} items"
    for i, (row, item) in enumerate(zip(rows, items, strict=True)):
        check(row["session_id"], sid, f"{table}[{i}].session_id")
        check(row["ordinal"], i, f"{table}[{i}].ordinal")
        for column, value in expected(item).items():
            check(row[column], value, f"{table}[{i}].{column}")


def pr_expected(pr: dict) -> dict[str, Any]:
    url = pr["url"] if "url" in pr else pr["pr_url"]
    state = pr.get("state")
    if state is None:
        state = pr.get("pr_state")
    repo, number = expected_repo(url)
    return {"url": url, "state": state, "repo": repo, "pr_number": number}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session_responses())
@example(json.loads(DOCUMENTED_EXAMPLE.read_text()) if DOCUMENTED_EXAMPLE.exists() else BASE)
def test_every_field_lands_exactly_once(response: dict) -> None:
    original = copy.deepcopy(response)
    tables = rows_of(response)
    assert response == original, "validation or flatten mutated the response"
    assert set(tables) == {t.name for t in DATA_TABLES}
    sid = response["session_id"]

    [session] = as_dicts("sessions", tables["sessions"])
    for name in ("session_id", "url", "status", "org_id", "initial_user_message"):
        check(session[name], response[name], f"sessions.{name}")
    for name in ("title", "user_id"):
        check(session[name], response.get(name), f"sessions.{name}")
    for name in ("created_at", "updated_at"):
        value = session[name]
        assert isinstance(value, datetime) and value.utcoffset() is not None
        assert value.utcoffset().total_seconds() == 0, f"{name} not in UTC: {value!r}"
        check(value, parse_timestamp(response[name]), f"sessions.{name}")
    check(session["acus_consumed"], float(response["acus_consumed"]), "sessions.acus_consumed")
    check(session["_run_id"], RUN_ID, "sessions._run_id")
    check(session["_extracted_at"], EXTRACTED_AT, "sessions._extracted_at")

    analysis = response["session_analysis"]
    prompt = analysis["suggested_prompt"] if analysis is not None else None
    check(session["has_session_analysis"], analysis is not None, "has_session_analysis")
    check(session["original_prompt"], prompt and prompt["original_prompt"], "original_prompt")
    check(session["suggested_prompt"], prompt and prompt["suggested_prompt"], "suggested_prompt")

    unknown = {k: v for k, v in response.items() if k not in KNOWN_FIELDS}
    if unknown:
        assert isinstance(session["extra"], str)
        assert json.loads(session["extra"]) == unknown
    else:
        check(session["extra"], None, "sessions.extra")

    check_child(tables, "session_tags", sid, response["tags"], lambda tag: {"tag": tag})
    check_child(tables, "pull_requests", sid, response["pull_requests"], pr_expected)
    analysis = analysis or {}
    check_child(tables, "issues", sid, analysis.get("issues", []), lambda x: x)
    check_child(tables, "action_items", sid, analysis.get("action_items", []), lambda x: x)
    check_child(tables, "timeline_events", sid, analysis.get("timeline", []), lambda x: x)
    feedback = prompt["feedback_items"] if prompt else []
    check_child(tables, "feedback_items", sid, feedback, lambda x: x)


@pytest.mark.parametrize(
    ("url", "repo", "number"),
    [
        ("https://github.com/example/repo/pull/123", "example/repo", 123),
        ("https://github.com/example/repo/pull/123/?w=1#top", "example/repo", 123),
        ("https://gitlab.com/g/sub/proj/-/merge_requests/7", "g/sub/proj", 7),
        ("https://github.com/example/repo/pull/2147483648", "example/repo", None),
        ("https://github.com/example/repo", None, None),
        ("", None, None),
    ],
)
def test_pr_url_oracle_agrees_with_spec_examples(url: str, repo: str | None, number: int | None):
    assert expected_repo(url) == (repo, number)
    tables = rows_of({**BASE, "pull_requests": [{"url": url}]})
    assert tables["pull_requests"][0][4:] == (repo, number)


def test_rfc3339_lower_case_z_is_accepted() -> None:
    session = SessionDetail.model_validate({**BASE, "created_at": "2024-01-15T10:30:00.5z"})
    assert session.created_at == datetime(2024, 1, 15, 10, 30, 0, 500000, tzinfo=UTC)


# --- 2. invalid responses are rejected ----------------------------------------------------


def _outcome(validate: Callable[[], SessionDetail]) -> object:
    try:
        session = validate()
    except ValidationError as err:
        return ("rejected", tuple(err.errors()[0]["loc"]))
    return ("accepted", session.model_dump(), session.model_extra)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(session_responses(), invalid_responses().map(lambda case: case[0])))
def test_validating_from_json_accepts_and_rejects_exactly_what_the_dict_path_does(
    response: dict,
) -> None:
    # --from-raw validates saved lines straight from JSON (the fast path); responses fetched
    # live are parsed with orjson first. Both must agree on every input, field for field.
    body = orjson.dumps(response)
    from_json = _outcome(lambda: SessionDetail.model_validate_json(body))
    from_dict = _outcome(lambda: SessionDetail.model_validate(orjson.loads(body)))
    assert from_json == from_dict


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid_responses())
def test_invalid_responses_are_rejected(case: tuple[dict, tuple]) -> None:
    response, path = case
    with pytest.raises(ValidationError) as info:
        SessionDetail.model_validate(response)
    loc = info.value.errors()[0]["loc"]
    assert tuple(loc[: len(path)]) == path, f"loc {loc!r}, expected to start with {path!r}"


# --- 3. round trip through storage --------------------------------------------------------


def distinct_sessions(min_size: int = 0, max_size: int = 4) -> st.SearchStrategy[list[dict]]:
    return st.lists(
        session_responses(),
        min_size=min_size,
        max_size=max_size,
        unique_by=lambda r: r["session_id"],
    )


def flattened(
    responses: list[dict], run_id: str = RUN_ID, extracted_at: datetime = EXTRACTED_AT
) -> dict[str, list[tuple]]:
    """{table: rows in key order} of the sessions, as the warehouse should hold them."""
    tables: dict[str, list[tuple]] = {t.name: [] for t in DATA_TABLES}
    for response in responses:
        for name, rows in rows_of(response, run_id, extracted_at).items():
            tables[name] += rows
    return {name: by_key(name, rows) for name, rows in tables.items()}


def make_batch(
    responses: list[dict], run_id: str = RUN_ID, extracted_at: datetime = EXTRACTED_AT
) -> Batch:
    batch = Batch()
    for response in responses:
        batch.add(response["session_id"], rows_of(response, run_id, extracted_at))
    return batch


@functools.cache
def empty_work_file() -> bytes:
    """The working copy Warehouse.open makes in an empty folder (every table, column and
    comment), made once: an example starts from a copy, not from 0.2 s of DDL and comments."""
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(Path(tmp))
        warehouse.open()
        warehouse.close()
        return warehouse.work_path.read_bytes()


@contextlib.contextmanager
def new_warehouse() -> Iterator[Path]:
    """A folder holding a new, empty warehouse, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Warehouse(Path(tmp)).work_path
        work.parent.mkdir(parents=True)
        work.write_bytes(empty_work_file())
        yield Path(tmp)


def write(out_dir: Path, *batches: Batch) -> None:
    """Write the batches through one Warehouse opened on out_dir, then close it."""
    warehouse = Warehouse(out_dir)
    warehouse.open()
    try:
        for batch in batches:
            warehouse.write_batch(batch)
    finally:
        warehouse.close()


def publish(out_dir: Path) -> Path:
    warehouse = Warehouse(out_dir)
    warehouse.open()
    write_snapshots(warehouse.db, out_dir / "parquet")
    return warehouse.publish()


def normalize(value: Any) -> Any:
    """Timestamps compare as instants, whatever zone they are read back in."""
    if isinstance(value, datetime):
        assert value.utcoffset() is not None, f"naive timestamp read back: {value!r}"
        return value.astimezone(UTC)
    return value


def by_key(table: str, rows: list[tuple]) -> list[tuple]:
    key = [BY_NAME[table].column_names.index(k) for k in BY_NAME[table].key]
    rows = [tuple(normalize(v) for v in row) for row in rows]
    return sorted(rows, key=lambda row: tuple(row[i] for i in key))


def duckdb_tables(db_path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            t.name: by_key(
                t.name,
                con.execute(f"SELECT {', '.join(t.column_names)} FROM {t.name}").fetchall(),
            )
            for t in DATA_TABLES
        }
    finally:
        con.close()


def assert_rows_equal(actual: list[tuple], expected: list[tuple], where: str) -> None:
    assert len(actual) == len(expected), f"{where}: {len(actual)} rows, expected {len(expected)}"
    for a, e in zip(actual, expected, strict=True):
        assert len(a) == len(e)
        for column, x, y in zip(BY_NAME[where].column_names, a, e, strict=True):
            assert same(x, y), f"{where}.{column}: read back {x!r}, wrote {y!r}"


# Any aware instant, in any fixed offset: stored as the same instant in UTC.
extracted_ats = st.datetimes(
    datetime(2000, 1, 1),
    datetime(2100, 1, 1),
    timezones=st.timezones() | st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)


@STORAGE
@given(distinct_sessions(), extracted_ats)
def test_round_trip_through_duckdb_and_parquet(
    responses: list[dict], extracted_at: datetime
) -> None:
    expected = flattened(responses, RUN_ID, extracted_at)
    with new_warehouse() as out_dir:
        write(out_dir, make_batch(responses, RUN_ID, extracted_at))
        db_path = publish(out_dir)

        stored = duckdb_tables(db_path)
        for table in DATA_TABLES:
            assert_rows_equal(stored[table.name], expected[table.name], table.name)

        for table in TABLES:
            data = pq.read_table(out_dir / "parquet" / table.name, partitioning=None)
            assert data.schema == table.arrow_schema, table.name
            if table in DATA_TABLES:
                rows = [tuple(r.values()) for r in data.to_pylist()]
                assert_rows_equal(by_key(table.name, rows), expected[table.name], table.name)


# --- 4. upsert idempotence and shrink -----------------------------------------------------

LINEAGE = ("_run_id", "_extracted_at")


def without_lineage(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    keep = [i for i, c in enumerate(BY_NAME["sessions"].column_names) if c not in LINEAGE]
    return {
        name: [tuple(row[i] for i in keep) for row in rows] if name == "sessions" else rows
        for name, rows in tables.items()
    }


@STORAGE
@given(distinct_sessions(min_size=1), st.booleans(), st.booleans())
def test_writing_the_same_batch_twice_changes_nothing(
    responses: list[dict], reopen: bool, same_run: bool
) -> None:
    """The same batch again (from the same run, or a later one) changes no row, except the
    lineage columns naming the later run."""
    run_id, extracted_at = (RUN_ID, EXTRACTED_AT) if same_run else ("run-2", datetime.now(UTC))
    first = flattened(responses)
    with new_warehouse() as out_dir:
        work = Warehouse(out_dir).work_path
        first_batch = make_batch(responses)
        second_batch = make_batch(responses, run_id, extracted_at)
        if reopen:
            write(out_dir, first_batch)
            assert duckdb_tables(work) == first
            write(out_dir, second_batch)
        else:
            write(out_dir, first_batch, second_batch)
        second = duckdb_tables(work)
    assert without_lineage(second) == without_lineage(first)
    assert second == flattened(responses, run_id, extracted_at)
    if same_run:
        assert second == first


def shorten(response: dict, data: st.DataObject) -> dict:
    """The same session with every list cut to a prefix (possibly empty)."""
    new = copy.deepcopy(response)

    def cut(items: list) -> list:
        return items[: data.draw(st.integers(0, len(items)))]

    new["tags"] = cut(new["tags"])
    new["pull_requests"] = cut(new["pull_requests"])
    analysis = new["session_analysis"]
    if analysis is not None:
        if data.draw(st.booleans()):
            new["session_analysis"] = None
        else:
            for name in ("issues", "action_items", "timeline"):
                if name in analysis:
                    analysis[name] = cut(analysis[name])
            prompt = analysis["suggested_prompt"]
            if prompt is not None:
                if data.draw(st.booleans()):
                    analysis["suggested_prompt"] = None
                else:
                    prompt["feedback_items"] = cut(prompt["feedback_items"])
    return new


@STORAGE
@given(
    distinct_sessions(min_size=1),
    st.data(),
    st.sampled_from(["reopen", "same_warehouse", "same_batch"]),
)
def test_rewriting_with_shorter_lists_leaves_no_stale_rows(
    responses: list[dict], data: st.DataObject, how: str
) -> None:
    chosen = data.draw(st.sets(st.integers(0, len(responses) - 1), min_size=1))
    updated = [shorten(r, data) if i in chosen else r for i, r in enumerate(responses)]
    rewritten = [updated[i] for i in sorted(chosen)]
    with new_warehouse() as out_dir:
        if how == "reopen":
            write(out_dir, make_batch(responses))
            write(out_dir, make_batch(rewritten))
        elif how == "same_warehouse":
            write(out_dir, make_batch(responses), make_batch(rewritten))
        else:
            # A repeated session in one batch keeps its last version.
            write(out_dir, make_batch(responses + rewritten))
        stored = duckdb_tables(Warehouse(out_dir).work_path)
    expected = flattened(updated)
    for table in DATA_TABLES:
        assert_rows_equal(stored[table.name], expected[table.name], table.name)
