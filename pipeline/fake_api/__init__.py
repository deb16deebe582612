"""The embedded fake Devin Enterprise API: deterministic synthetic sessions over real HTTP.

FakeDevin holds one enterprise's sessions. Session i is generated from (seed, i) alone, on
demand, so 100,000 sessions cost only their ids and timestamps. FakeApiServer serves them on
127.0.0.1 the way the real API does (SPEC section 1, schema drift included) and injects the
faults of SPEC section 7, configured through a Faults object that tests change between runs.

    python -m pipeline.fake_api --port 8000 --sessions 1000 --fail-rate 0.05

Modules, one concern each:

    vocabulary.py  words and templates the sessions are made of
    generator.py   a session's content from (seed, index)
    clock.py       timestamps: epoch microseconds, ISO 8601
    state.py       FakeDevin: ids, timestamps, overrides, caches, mutations
    faults.py      Faults: what goes wrong on a request, and how it looks on the wire
    dialect.py     what every API version shares: Request, Route, Answer, Dialect
    v2.py          the v2 dialect: paths, query parsing, page shape, payloads
    server.py      FakeApiServer: socket, authentication, faults, request log, dispatch
    command.py     the command line (python -m pipeline.fake_api runs __main__.py)
"""

from .clock import parse_time
from .command import main
from .faults import DEFAULT_FAIL_KINDS, FAULT_KINDS, Faults
from .server import FakeApiServer
from .state import FILTERS, FakeDevin

__all__ = [
    "DEFAULT_FAIL_KINDS",
    "FAULT_KINDS",
    "FILTERS",
    "FakeApiServer",
    "FakeDevin",
    "Faults",
    "main",
    "parse_time",
]
