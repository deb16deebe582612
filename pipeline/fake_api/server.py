"""FakeApiServer: the fake API on a real socket. Authenticates, injects faults, logs, and asks
the dialect the path belongs to for the answer."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from .dialect import (
    NOT_ALLOWED,
    NOT_FOUND,
    SESSION_NOT_FOUND,
    Answer,
    Context,
    Dialect,
    Request,
    Route,
)
from .faults import Faults, corrupt, fault_answer
from .quirks import Quirks
from .state import FakeDevin
from .v2 import V2
from .v3 import V3

DIALECTS: dict[str, Dialect] = {"v2": V2(), "v3": V3()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients pool their connections
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request on stderr would cost more than the request itself

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        length = self.headers.get("Content-Length", "0")
        self.rfile.read(int(length) if length.isdigit() else 0)  # no endpoint reads a body
        self._handle("POST")

    def _handle(self, method: str) -> None:
        app = self.server.app
        path, _, raw_query = self.path.partition("?")
        request = Request(method, path, parse_qs(raw_query, keep_blank_values=True))
        dialect = app.dialect_for(path)
        route = dialect.route(request) if dialect else None
        log: dict[str, Any] = {
            "received": time.monotonic(),  # when the request arrived, for rate tests
            "method": method,
            "path": path,
            "query": {k: v[-1] if len(v) == 1 else v for k, v in request.query.items()},
            "session_id": route.session_id if route else None,
            "status": 0,
            "fault": None,
            "api_version": dialect.name if dialect else None,
        }
        self._pause(app.faults.latency_ms / 1000)
        denied = self._auth_error(app.key, app.faults.auth_status, dialect)
        if denied:
            self._send(log, Answer(denied[0], {"detail": denied[1]}), auth=True)
            return
        log["fault"] = app.faults.next_fault(route.fault_key if route else None)
        self._serve(log, request, dialect, route)

    def _serve(
        self, log: dict[str, Any], request: Request, dialect: Dialect | None, route: Route | None
    ) -> None:
        """Answers the request, spoiled by the fault named in log."""
        app = self.server.app
        fault, faults = log["fault"], app.faults
        context = Context(app.devin, faults, app.quirks)
        if fault == "drop":
            app.record(log)
            self.close_connection = True
        elif fault == "redirect":
            port = self.server.server_address[1]
            target = app.quirks.redirect_to or f"http://localhost:{port}"
            self._send(log, Answer(307, body=b"", headers={"Location": target + self.path}))
        elif (spoiled := fault_answer(fault, faults.retry_after)) is not None:
            self._send(log, spoiled)
        elif fault == "404":
            self._send(log, Answer(404, SESSION_NOT_FOUND))
        elif fault == "422":
            self._send(log, Answer(422, (dialect or DIALECTS["v2"]).bad_id()))
        elif (
            fault is None
            and dialect is not None
            and route is not None
            and not app.quirks.echo_key_in_ok
            and (body := dialect.preloaded(route, context))
        ):
            self._send(log, Answer(200, body=body))
        else:
            if fault == "slow":
                self._pause(faults.slow_seconds)
            if dialect is None or route is None:
                answer = Answer(404, NOT_FOUND)
            elif route.kind == "not-allowed":
                answer = Answer(405, NOT_ALLOWED)
            else:
                answer = dialect.answer(route, request, context)
            if (
                fault in ("missing-field", "wrong-type")
                and answer.status == 200
                and isinstance(answer.payload, dict)
            ):
                corrupt(answer.payload, fault)
            self._send(log, answer, truncate=fault == "truncated")

    def _auth_error(
        self, key: str | None, forced: int | None, dialect: Dialect | None
    ) -> tuple[int, str] | None:
        if forced == 403:
            return 403, "This key is not allowed to read enterprise sessions"
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return 401, "Not authenticated"
        if forced == 401 or (key is not None and token != key):
            return 401, "Invalid API key"
        if dialect is not None and not dialect.accepts_key(token):
            return 401, f"This kind of key does not work on the {dialect.name} API"
        return None

    def _send(
        self, log: dict[str, Any], answer: Answer, auth: bool = False, truncate: bool = False
    ) -> None:
        quirks = self.server.app.quirks
        echo = quirks.echo_key if answer.status >= 400 else quirks.echo_key_in_ok
        if echo:
            echo_header(answer, self.headers.get("Authorization", ""))
        body, headers = answer.encoded(), dict(answer.headers)
        if quirks.gzip and "gzip" in self.headers.get("Accept-Encoding", "") and body:
            body, headers["Content-Encoding"] = gzip.compress(body, mtime=0), "gzip"
        log["status"] = answer.status
        self.server.app.record(log)  # before answering: a client may look as soon as it has one
        self.send_response_only(answer.status)
        self.send_header("Server", headers.pop("Server", self.version_string()))
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(body)))
        if auth:
            self.send_header("WWW-Authenticate", "Bearer")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if truncate:  # the full Content-Length promised, half the body sent, then hang up
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.server.stopping.wait(seconds)  # woken by stop(): stop never waits on a sleeper


def echo_header(answer: Answer, authorization: str) -> None:
    """Repeats the Authorization header in the answer, as a debugging proxy does."""
    echoed = {"authorization": authorization}
    if answer.body is not None:  # HTML, or bytes sent as they are
        if answer.content_type.startswith("text/html"):
            comment = f"<!-- request_headers: authorization={authorization} -->\n"
            answer.body += comment.encode()
        return
    payload = answer.payload
    if not isinstance(payload, dict):
        return
    if answer.status >= 400:
        answer.payload = {**payload, "request_headers": echoed}
        return
    answer.payload = {**payload, "debug": {"request_headers": echoed}}
    for item in payload.get("items") or []:
        if isinstance(item, dict):  # rendered for this answer alone: ours to change
            item["debug"] = {"request_headers": dict(echoed)}


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # 16-32 pooled clients connect at once

    def __init__(self, address: tuple[str, int], app: FakeApiServer) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up mid-answer are part of the game


class FakeApiServer:
    """The fake API on a real socket: FakeApiServer(FakeDevin(500)).start().url.

    key: the only Bearer key accepted (default: any, cog_ keys on v3 and the others on v2);
    faults, quirks: what goes wrong, changeable while serving (.faults, .quirks);
    api_versions: the versions served (.api_versions), the others 404.
    """

    def __init__(
        self,
        devin: FakeDevin | None = None,
        *,
        key: str | None = None,
        faults: Faults | None = None,
        quirks: Quirks | None = None,
        api_versions: tuple[str, ...] = ("v2", "v3"),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        unknown = set(api_versions) - set(DIALECTS)
        if unknown:
            raise ValueError(f"unknown API versions {sorted(unknown)}; known: v2, v3")
        self.api_versions = tuple(api_versions)  # the others answer 404
        self.devin = devin if devin is not None else FakeDevin()
        self.faults = faults if faults is not None else Faults()
        self.quirks = quirks if quirks is not None else Quirks()
        self.key = key
        self._log: deque[dict[str, Any]] = deque(maxlen=200_000)  # bounded for long benchmarks
        self._log_lock = threading.Lock()
        self._httpd = _HttpServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Returns the requests served so far, oldest first (status 0: dropped, no answer).

        Entries are {"method", "path", "query", "session_id", "status", "fault",
        "api_version"}: never a header, so never the key. "path" is as sent (percent-encoded),
        "query" maps each name to its value, or to its values when repeated; "api_version"
        is "v2", "v3" or None (no API version serves the path).
        """
        with self._log_lock:
            return list(self._log)

    def record(self, entry: dict[str, Any]) -> None:
        """Appends one entry to the request log."""
        with self._log_lock:
            self._log.append(entry)

    def clear_requests(self) -> None:
        """Empties the request log."""
        with self._log_lock:
            self._log.clear()

    def dialect_for(self, path: str) -> Dialect | None:
        """Returns the dialect serving this path, or None."""
        served = (DIALECTS[version] for version in self.api_versions)
        return next((d for d in served if path.startswith(d.prefix)), None)

    def start(self) -> FakeApiServer:
        """Serves in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and hangs up on every client, even those a slow fault keeps waiting."""
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
        for connection in list(self._httpd.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> FakeApiServer:
        return self if self._thread else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
