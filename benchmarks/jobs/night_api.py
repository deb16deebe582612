"""The fake API as it is after one night: a day with sessions updated and new ones created.

    python night_api.py SESSIONS SEED NOW LATENCY_MS UPDATED_JSON NEW IDS_FILE [TEXT]

Builds FakeDevin(SESSIONS, seed=SEED, now=NOW) (the ids of the benchmark's data sets), its
free text in TEXT (kind or llm, the fake's text modes; default kind), moves
its clock one day on with NEW sessions created, and moves each session of UPDATED_JSON
({session_id: created_at}) on: it finished, spent more ACUs, keeps the created_at it has in the
warehouse the night starts from. Writes every id the night exports to IDS_FILE (one a line),
serves on a free port of 127.0.0.1 answering after LATENCY_MS, prints the URL on its first
line, and serves until terminated.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

import orjson

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults, with_text


def main() -> int:
    sessions, seed, latency_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[4])
    now = datetime.fromisoformat(sys.argv[3])
    updated = orjson.loads(Path(sys.argv[5]).read_bytes())
    new, ids_file = int(sys.argv[6]), Path(sys.argv[7])
    text = sys.argv[8] if len(sys.argv) > 8 else "kind"
    devin = with_text(FakeDevin(sessions, seed=seed, now=now), text)
    created = devin.advance(days=1, new_sessions=new)["new_sessions"]
    for number, (session_id, created_at) in enumerate(sorted(updated.items())):
        devin.update(session_id, created_at=created_at, status="exit", acus_consumed=number + 0.5)
    ids_file.write_text("\n".join([*sorted(updated), *created]) + "\n")
    server = FakeApiServer(devin, faults=Faults(latency_ms=latency_ms))
    print(server.url, flush=True)
    with server:
        while True:
            time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
