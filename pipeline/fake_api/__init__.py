"""The embedded fake Devin Enterprise API: deterministic synthetic sessions over real HTTP.

FakeDevin holds one enterprise's sessions. Session i is generated from (seed, i) alone, on
demand, so 100,000 sessions cost only their ids and timestamps. FakeApiServer serves them on
127.0.0.1 the way the real API does (SPEC section 1, schema drift included), injects the
faults of SPEC section 7 (a Faults object), and shows the adversarial modes of a real server
(a Quirks object); tests change both between runs.

    python -m pipeline.fake_api --port 8000 --sessions 1000 --fail-rate 0.05
    python -m pipeline.fake_api --port 0 --page-cap 50 --newest-first --hostile 3 --echo-key

Faults (per request; Faults.script(key, kinds) or fail_rate + fail_kinds). Keys: a session id
for its detail, "page:<skip>" for a list page:
    429, 429-date   Too Many Requests, Retry-After in seconds or as an HTTP date
    500, 503        JSON error (503 with Retry-After); 502: a proxy's HTML page
    520..524        Cloudflare's HTML error pages (Server: cloudflare, CF-RAY)
    malformed       200 with a body that is not JSON; login: 200 with an HTML sign-in page
    truncated       the full Content-Length promised, half the body sent, then hang up
    missing-field   created_at missing; wrong-type: acus_consumed "lots" (a page: its first item)
    slow            the answer waits slow_seconds; drop: hang up without answering
    404, 422        as for an unknown or malformed id; ok: no fault (in scripts)
    redirect        307 to the same path and query on Quirks.redirect_to, by default
                    http://localhost:<port>: another host, to which a client must not send the key
    Also: latency_ms on every answer, auth_status 401/403 for all, ignore_filters.

Quirks (the server's consistent misbehaviour; every list endpoint honours them):
    page_cap=N          at most N items a page whatever the client asks; v2's "limit" says N
                        and next_cursor/has_more follow what was served
    newest_first        list order (created_at, session_id) descending, not ascending
    churn_insert/_delete/_update=K
                        before each page after the first (v2 skip > 0), add K sessions created
                        at the clock, delete K, move K updated_at to the clock (FakeDevin.churn;
                        deterministic given the seed): offset paging skips or repeats sessions
    total_drift=D       total off by 0, +D, -D, 0, ... page after page (on top of churn)
    total_null          total is null
    echo_key            error bodies (401, 404, 422, 429, 5xx, 52x) repeat the request's
                        Authorization header: JSON {"detail", "request_headers": {
                        "authorization": "Bearer ..."}}, HTML in a trailing comment
    echo_key_in_ok      200 bodies too: a "debug" field, top level and in every page item
    stuck_cursor        next_cursor repeats the skip asked for, while has_more stays true
    duplicate_items     each page's last item is a copy of its first: one session lost a page
    empty_page_every=N  every Nth list request: no items, has_more true, next_cursor = skip
    gzip                Content-Encoding: gzip when the client sends Accept-Encoding: gzip
    redirect_to=URL     where the redirect fault points

Hostile values in the data (FakeDevin.plant(kind, n), or --hostile N for n of each):
    out-of-range-time   created_at '0001-01-01T00:00:00+05:00' or updated_at
                        '9999-12-31T23:00:00-05:00': instants UTC cannot hold, sent as given
    wide-int            ledger_seq = 2**70 + k, usage.tokens, usage.history: exact integers
                        wider than 64 bits in unknown fields
    ms-time             timestamps given as epoch milliseconds
FakeDevin.update(sid, created_at=...) also keeps such text as given; FakeDevin.delete(sid)
makes a session 404 and leaves it out of the list.

The request log (FakeApiServer.requests) holds no header, so never the key.

Modules, one concern each:

    vocabulary.py  words and templates the sessions are made of
    generator.py   a session's content from (seed, index)
    clock.py       timestamps: epoch microseconds, ISO 8601, values given as they are
    catalog.py     the sessions' ids and timestamps in list order, filtered views
    state.py       FakeDevin: generation, overrides, mutations, hostile plants
    hostile.py     the hostile values FakeDevin.plant puts in sessions
    faults.py      Faults: what goes wrong on a request, and how it looks on the wire
    quirks.py      Quirks: the adversarial modes
    listing.py     cutting a page out of the list, quirks included, for every dialect
    dialect.py     what every API version shares: Request, Route, Answer, Dialect
    v2.py          the v2 dialect: paths, query parsing, page shape, payloads
    server.py      FakeApiServer: socket, authentication, faults, key echo, gzip, log
    command.py     the command line (python -m pipeline.fake_api runs __main__.py)
"""

from .clock import parse_time
from .command import main
from .faults import DEFAULT_FAIL_KINDS, FAULT_KINDS, Faults
from .hostile import HOSTILE_KINDS
from .quirks import Quirks
from .server import FakeApiServer
from .state import FILTERS, FakeDevin

__all__ = [
    "DEFAULT_FAIL_KINDS",
    "FAULT_KINDS",
    "FILTERS",
    "FakeApiServer",
    "FakeDevin",
    "Faults",
    "HOSTILE_KINDS",
    "Quirks",
    "main",
    "parse_time",
]
