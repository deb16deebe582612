"""Publishing devin.duckdb: a new file renamed over the old one, made by patching the spare (the
file published the time before last) where no clone is possible (pipeline.publish)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline import publish
from pipeline.warehouse import STATE_DIR
from tests.helpers import run_cli


def export(server, out: Path, *ids: str) -> None:
    result = run_cli(*ids, "--out", str(out), "--api-url", server.url, "--quiet")
    assert result.code == 0, result.stderr


def published_equals_working_copy(out: Path) -> bool:
    return (out / "devin.duckdb").read_bytes() == (out / STATE_DIR / "work.duckdb").read_bytes()


def inode(path: Path) -> int:
    return path.stat().st_ino


def test_the_spare_is_patched_into_the_next_published_file(server, out, monkeypatch):
    monkeypatch.setattr(publish, "clone", lambda source, target: False)  # as on ext4
    patched: list[int] = []
    copy_range = publish.copy_range
    monkeypatch.setattr(publish, "copy_range", lambda *a: (patched.append(a[3]), copy_range(*a)))
    ids = server.devin.ids()
    export(server, out, *ids[:3])
    first = inode(out / "devin.duckdb")
    export(server, out, ids[3])  # a whole copy: no spare yet; the first file becomes it
    assert inode(out / STATE_DIR / publish.SPARE) == first
    assert published_equals_working_copy(out) and patched == []
    second = inode(out / "devin.duckdb")
    server.devin.update(ids[0], title="changed")
    export(server, out, ids[0])
    assert inode(out / "devin.duckdb") == first  # the spare, patched
    assert inode(out / STATE_DIR / publish.SPARE) == second
    assert published_equals_working_copy(out)
    size = (out / "devin.duckdb").stat().st_size
    assert patched[0] == publish.HEADERS and 0 < sum(patched) < size  # not every block
    (title,) = (
        duckdb.connect(str(out / "devin.duckdb"), read_only=True)
        .execute("select title from sessions where session_id = ?", [ids[0]])
        .fetchall()[0]
    )
    assert title == "changed"


def test_a_reader_holding_the_spare_open_keeps_reading_it_whole(server, out, monkeypatch):
    monkeypatch.setattr(publish, "clone", lambda source, target: False)
    ids = server.devin.ids()
    export(server, out, ids[0])
    reader = duckdb.connect(str(out / "devin.duckdb"), read_only=True)  # the first file
    try:
        before = reader.execute("select * from sessions order by session_id").fetchall()
        export(server, out, ids[1])  # the first file becomes the spare, still open here
        export(server, out, ids[2])  # so it is not patched: copied whole
        assert inode(out / "devin.duckdb") != inode(out / STATE_DIR / publish.SPARE)
        assert reader.execute("select * from sessions order by session_id").fetchall() == before
    finally:
        reader.close()
    assert published_equals_working_copy(out)
    export(server, out, ids[3])  # nobody holds the spare now: patched again
    assert published_equals_working_copy(out)


def test_a_spare_that_is_half_patched_or_not_a_known_layout_is_not_used(server, out, monkeypatch):
    monkeypatch.setattr(publish, "clone", lambda source, target: False)
    ids = server.devin.ids()
    for session in ids[:2]:
        export(server, out, session)
    spare = out / STATE_DIR / publish.SPARE
    with open(spare, "r+b") as f:  # another storage version than the one patching knows
        f.seek(publish.CHECKSUM + 4)
        f.write((publish.STORAGE_VERSION + 1).to_bytes(8, "little"))
    unknown = inode(spare)
    export(server, out, ids[2])
    assert inode(out / "devin.duckdb") != unknown and published_equals_working_copy(out)

    # a crash while patching leaves the spare under another name: it is deleted, never used
    spare.rename(out / STATE_DIR / publish.PATCHING)
    export(server, out, ids[3])
    assert not (out / STATE_DIR / publish.PATCHING).exists()
    assert published_equals_working_copy(out)
