"""The embedded fake Devin Enterprise API: deterministic synthetic sessions over real HTTP.

FakeDevin holds one enterprise's sessions. Session i is generated from (seed, i) alone, on
demand, so 100,000 sessions cost only their ids and timestamps. FakeApiServer serves them on
127.0.0.1 the way the real API does (SPEC section 1, schema drift included), in both API
versions at once, injects the faults of SPEC section 7 (a Faults object), and shows the
adversarial modes of a real server (a Quirks object); tests change both between runs.

    python -m pipeline.fake_api --port 8000 --sessions 1000 --fail-rate 0.05
    python -m pipeline.fake_api --port 0 --page-cap 50 --newest-first --hostile 3 --echo-key
    python -m pipeline.fake_api --port 0 --api-version v3 --analysis-delay 2 --forbid-generate
    python -m pipeline.fake_api --port 0 --sessions 100000 --text llm

Text (with_text(FakeDevin(...), "llm"), --text llm): the analyses' free text "kind", a few fixed
labels, impacts and action item types, or "llm", as the real API's language model writes it:
nearly every label its own, recurring ones in other case, spacing and punctuation, long texts in
every script, a few pasted logs of 10-50 kB and timelines of hundreds of events (llm.py).

Versions (FakeApiServer(api_versions=("v2", "v3")), --api-version v2|v3|both; the others 404):
    v2  GET /v2/enterprise/sessions/{session_id}, GET /v2/enterprise/sessions/insights
        (skip/limit pages, ISO filters); any Bearer key except a service user's cog_ key
    v3  GET /v3/enterprise/sessions/insights (first/after cursor pages, epoch filters),
        GET /v3/enterprise/sessions/{devin_id}/insights,
        POST /v3/enterprise/sessions/{devin_id}/insights/generate; cog_ keys only
    With key= (--key), only that key works, and only on the version its prefix is for.
    One state for both: FakeDevin.session(id) is the v2 body, session(id, "v3") the v3 one;
    ids are 'devin-<hex>' in both, and v3 paths take exactly that (a bare '<hex>' is 404).
    See v3.py for cursors and filters, v3_payload.py for the v3 body.

Faults (per request; Faults.script(key, kinds) or fail_rate + fail_kinds):
    429, 429-date   Too Many Requests, Retry-After in seconds or as an HTTP date
    500, 503        JSON error (503 with Retry-After); 502: a proxy's HTML page
    520..524        Cloudflare's HTML error pages (Server: cloudflare, CF-RAY)
    malformed       200 with a body that is not JSON; login: 200 with an HTML sign-in page
    truncated       the full Content-Length promised, half the body sent, then hang up
    missing-field   created_at missing; wrong-type: acus_consumed "lots" (a page: its first item)
    slow            the answer waits slow_seconds; drop: hang up without answering
    404, 422        as for an unknown or malformed id; ok: no fault (in scripts)
    Keys: a session id (its detail, either version), "page:<offset>" (a list page: v2's skip,
    v3's cursor offset, 0 for the first), "generate:<session id>" (v3 generate).
    redirect        307 to the same path and query on Quirks.redirect_to, by default
                    http://localhost:<port>: another host, to which a client must not send the key
    Also: latency_ms on every answer, auth_status 401/403 for all, ignore_filters (v2 and v3
    filters alike), forbid_generate (v3 generate answers 403; reads work).

Quirks (the server's consistent misbehaviour; every list endpoint honours them):
    page_cap=N          at most N items a page whatever the client asks; v2's "limit" says N
                        and next_cursor/has_more follow what was served
    newest_first        list order (created_at, session_id) descending, not ascending
    churn_insert/_delete/_update=K
                        before each page after the first (v2 skip > 0, v3 after given): add
                        K sessions created at the clock, delete K, move K updated_at to the
                        clock (FakeDevin.churn; deterministic given the seed), so offset
                        paging (v2 skip, and v3 cursors, which hold offsets) skips or repeats
    total_drift=D       total off by 0, +D, -D, 0, ... by the page's place in the list, so a
                        retried page says the same (on top of churn)
    total_null          total is null
    echo_key            error bodies (401, 404, 422, 429, 5xx, 52x) repeat the request's
                        Authorization header: JSON {"detail", "request_headers": {
                        "authorization": "Bearer ..."}}, HTML in a trailing comment
    echo_key_in_ok      200 bodies too: a "debug" field, top level and in every page item
    stuck_cursor        next_cursor repeats the skip asked for, while has_more stays true
    cursor_rewind       from the third page on, next_cursor leads back to the second page: a
                        cycle that a client watching only for a repeated cursor follows for ever
    wrap_around         past the end, pages start over from the first session, for ever
    duplicate_items     each page's last item is a copy of its first: one session lost a page
    empty_page_every=N  every Nth list request: no items, has_more true, next_cursor = skip
    gzip                Content-Encoding: gzip when the client sends Accept-Encoding: gzip
    bare_ids            v3 answers name sessions without devin-, as v3's documentation shows
    redirect_to=URL     where the redirect fault points

Hostile values in the data (FakeDevin.plant(kind, n), or --hostile N for n of each):
    out-of-range-time   created_at '0001-01-01T00:00:00+05:00' or updated_at
                        '9999-12-31T23:00:00-05:00': instants UTC cannot hold, sent as given
    wide-int            ledger_seq = 2**70 + k, usage.tokens, usage.history: exact integers
                        wider than 64 bits in unknown fields
    ms-time             timestamps given as epoch milliseconds
    oversized           an unknown field of 33 MiB: past what the client reads of an answer
FakeDevin.update(sid, created_at=...) also keeps such text as given; FakeDevin.delete(sid)
makes a session 404 and leaves it out of the list. FakeDevin.generate_analysis(sid) is what
v3's generate does: "started" (the analysis lands analysis_delay seconds later, in both
versions, updated_at unmoved) or "already_exists".

The request log (FakeApiServer.requests): {"method", "path", "query", "session_id", "status",
"fault", "api_version"} per request; no header, so never the key.

Modules, one concern each:

    vocabulary.py  words and templates the sessions are made of
    generator.py   a session's content from (seed, index)
    llm.py         the analyses' free text as a language model writes it (text="llm")
    clock.py       timestamps: epoch microseconds, ISO 8601, values given as they are
    catalog.py     the sessions' ids and timestamps in list order, filtered views
    state.py       FakeDevin: generation, overrides, mutations, hostile plants
    hostile.py     the hostile values FakeDevin.plant puts in sessions
    faults.py      Faults: what goes wrong on a request, and how it looks on the wire
    quirks.py      Quirks: the adversarial modes
    listing.py     cutting a page out of the list, quirks included, for every dialect
    dialect.py     what every API version shares: Request, Route, Answer, Dialect
    v2.py          the v2 dialect: paths, query parsing, page shape, payloads
    v3.py          the v3 dialect: paths, cursors, filters, generate, messages, page shape
    v3_payload.py  a session as v3 sends it, made from its v2 body
    enterprise.py  members, organizations, playbooks, Knowledge notes (FakeDevin.enterprise):
                   their paths in both versions, IdP-only users, items that leave and come
                   back (rotate()), a part's permission withheld (forbid(), --forbid-part)
    billing.py     the bill and the metrics (FakeDevin.enterprise.billing): cycles, daily
                   consumption from the sessions' spending plus Cascade/Terminal, revise()
    messages.py    a v3 session's messages, consistent with it (its prompt first among the
                   user's), paged; forbid("messages") makes them 403
    server.py      FakeApiServer: socket, authentication, faults, key echo, gzip, log
    command.py     the command line (python -m pipeline.fake_api runs __main__.py)
"""

from .clock import parse_time
from .command import main
from .faults import DEFAULT_FAIL_KINDS, FAULT_KINDS, Faults
from .generator import TEXT_MODES
from .hostile import HOSTILE_KINDS
from .llm import with_text
from .quirks import Quirks
from .server import FakeApiServer
from .state import FILTERS, FakeDevin
from .v3 import decode_cursor, encode_cursor

__all__ = [
    "DEFAULT_FAIL_KINDS",
    "FAULT_KINDS",
    "FILTERS",
    "FakeApiServer",
    "FakeDevin",
    "Faults",
    "HOSTILE_KINDS",
    "TEXT_MODES",
    "Quirks",
    "decode_cursor",
    "encode_cursor",
    "main",
    "parse_time",
    "with_text",
]
