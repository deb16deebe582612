"""The client alone: fetch every id with pipeline.client and drop the answers.

How fast this machine and this fake API let C workers go, with nothing downstream: the ceiling
the exporter's extraction is compared with in the same run.

    python fetch_only.py URL IDS_FILE CONCURRENCY RESULT_JSON   (DEVIN_API_KEY in the environment)

Writes {"sessions": N, "fetch_seconds": T} to RESULT_JSON.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import orjson

from pipeline.client import ClientConfig, DevinClient
from pipeline.responses import Kind, Response
from pipeline.sources.v2 import V2Source


def main() -> int:
    url, ids_file, concurrency, result = (
        sys.argv[1],
        Path(sys.argv[2]),
        int(sys.argv[3]),
        Path(sys.argv[4]),
    )
    ids = ids_file.read_text().split()
    config = ClientConfig(url, os.environ["DEVIN_API_KEY"], concurrency=concurrency)
    client = DevinClient(config)
    source = V2Source()

    def fetch(sid: str) -> Response:
        return client.answer(Kind.SESSION, sid, source.session_path(sid))

    started = time.monotonic()
    fetched = sum(1 for resp in client.parallel(fetch, ids) if resp.error is None)
    seconds = time.monotonic() - started
    client.close()
    result.write_bytes(orjson.dumps({"sessions": fetched, "fetch_seconds": seconds}))
    return 0 if fetched == len(ids) else 1


if __name__ == "__main__":
    sys.exit(main())
