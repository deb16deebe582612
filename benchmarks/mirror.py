"""What --parquet-url costs: a first run (every file) against a night (few files changed).

    .venv/bin/python -m benchmarks.mirror [--sessions N]

At N sessions (default 100,000) from the fake API, against moto's S3 server on 127.0.0.1 in a
process of its own:
1. the exporter's first run (`--all`) with `--parquet-url`: the mirror uploads every file;
2. a night: a few hundred recent sessions change, the next incremental `--all` re-fetches them
   and the mirror uploads what changed. Both from the exporter's own --summary-json.
A night should upload only the partitions its sessions live in (and the run tables). Ratios
(night / first run) are taken within the same run, on the same machine.
Writes benchmarks/work/mirror-results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import PYTHON, RUN_EXPORT, WORK, fresh_dir
from pipeline.fake_api import FakeApiServer, FakeDevin
from pipeline.mirror import MirrorResult

BUCKET = "devin-bench"
CHANGED_AT_NIGHT = 300  # recent sessions updated between the two runs
RUN_TABLES = {"export_runs", "export_errors", "quality_checks"}
AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench-secret-not-checked",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mirror")
    parser.add_argument("--sessions", type=int, default=100_000)
    args = parser.parse_args(argv)
    text = run_mirror(args.sessions)
    (WORK / "mirror-results.md").write_text(text)
    print(text)
    return 0


def run_mirror(sessions: int) -> str:
    """Measure a first run's upload and a night's; return the markdown section."""
    work = fresh_dir(WORK / "mirror")
    rows: list[tuple[str, str, MirrorResult, int]] = []
    devin = FakeDevin(sessions=sessions, seed=0)
    with moto_server() as endpoint, FakeApiServer(devin).start() as api:
        env = {**os.environ, **AWS, "AWS_ENDPOINT_URL": endpoint, "DEVIN_API_KEY": "bench-key"}
        create_bucket(endpoint)
        out = work / "out"
        for night in (False, True):
            label = "night" if night else "first run"
            if night:
                for sid in devin.ids()[-CHANGED_AT_NIGHT:]:
                    devin.update(sid, title=f"renamed at night: {sid}")
            result, total = export(api.url, out, env, work / f"{label}.json")
            rows.append(("partitioned by created_month", label, result, total))
    return report(rows, sessions)


@contextmanager
def moto_server() -> Iterator[str]:
    """Yield the URL of moto's S3 server, started as a process of its own on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(PYTHON), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("moto's server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def create_bucket(endpoint: str) -> None:
    import botocore.session

    client = botocore.session.Session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=AWS["AWS_DEFAULT_REGION"],
        aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=BUCKET)


def export(api_url: str, out: Path, env: dict[str, str], summary: Path) -> tuple[MirrorResult, int]:
    """Run the exporter with --parquet-url; return its mirror's result and the files mirrored."""
    command = [str(PYTHON), str(RUN_EXPORT), "--all", "--out", str(out), "--api-url", api_url,
               "--parquet-url", f"s3://{BUCKET}/exporter", "--quiet",
               "--summary-json", str(summary)]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"export failed ({done.returncode}): {done.stderr[-2000:]}")
    record: dict[str, Any] = json.loads(summary.read_text())
    print(f"export: {record['sessions_exported']} sessions in {time.monotonic() - started:.0f} s",
          file=sys.stderr, flush=True)  # fmt: skip
    mirror = record["mirror"]
    result = MirrorResult(**mirror)
    return result, result.uploaded + result.unchanged


def report(rows: list[tuple[str, str, MirrorResult, int]], sessions: int) -> str:
    lines = [
        f"### Mirror to S3 (moto on 127.0.0.1), {sessions:,} sessions, "
        f"{CHANGED_AT_NIGHT} changed at night",
        "",
        "| layout | run | files uploaded / total | MB uploaded | deleted | seconds "
        "| night / first run (seconds) | night / first run (MB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    first: dict[str, MirrorResult] = {}
    for layout, run, result, total in sorted(rows, key=lambda r: (r[0], r[1] != "first run")):
        ratios = "| |"
        if run == "first run":
            first[layout] = result
        else:
            base = first[layout]
            ratios = (f"| {result.seconds / base.seconds:.2f} "
                      f"| {result.uploaded_bytes / max(base.uploaded_bytes, 1):.3f} |")  # fmt: skip
        lines.append(
            f"| {layout} | {run} | {result.uploaded} / {total} "
            f"| {result.uploaded_bytes / 1e6:.1f} | {result.deleted} | {result.seconds:.2f} "
            + ratios
        )
    lines += [
        "",
        "Seconds are the mirror's own (list, hash, upload, delete; botocore's import and the "
        "client's set-up included), from the exporter's summary.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
