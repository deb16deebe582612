"""A real S3-protocol server for the mirror tests: moto's standalone server on 127.0.0.1, with
IAM enforced (real signatures, real permissions), and a fault-injecting HTTP proxy before it."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config

REGION = "us-east-1"


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str


class MotoStore:
    """moto's server in a thread, with users: admin (s3:*), reader (list, get), writer (all
    that a mirror needs but s3:GetObject)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line a request otherwise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        iam = self._client("iam", Keys("bootstrap", "bootstrap"))
        self.admin = self._user(iam, "mirror-admin", ["s3:*"])
        self.reader = self._user(iam, "mirror-reader", ["s3:ListBucket", "s3:GetObject"])
        self.writer = self._user(iam, "mirror-writer",
                                 ["s3:ListBucket", "s3:PutObject", "s3:DeleteObject"])  # fmt: skip
        # From here on every request must be signed by a known key and allowed by its policy.
        self._moto_api("reset-auth", b"0")
        self.s3 = self._client("s3", self.admin)
        self._check_iam_actions()

    def _check_iam_actions(self) -> None:
        """Fail at once, saying why, if this moto checks S3 requests against the API operation's
        name instead of the IAM action AWS checks: 5.2.6 asks for s3:ListObjectsV2 where AWS
        asks for s3:ListBucket, so every test of a user with a policy written for AWS fails."""
        import botocore.exceptions
        from moto import __version__ as moto_version

        bucket = self.new_bucket()
        try:
            self._client("s3", self.reader).list_objects_v2(Bucket=bucket)
        except botocore.exceptions.ClientError as err:
            raise RuntimeError(
                f"moto {moto_version} refused ListObjectsV2 to a user allowed s3:ListBucket, "
                "the IAM action AWS checks for it: this release authorizes S3 by operation "
                "name, so the mirror tests cannot trust its answers. Exclude it in "
                "pyproject.toml (as 5.2.6 is) and run make lock."
            ) from err
        finally:
            self.s3.delete_bucket(Bucket=bucket)

    def stop(self) -> None:
        self._moto_api("reset-auth", b"inf")
        self._moto_api("reset", b"")
        self.server.stop()

    def _moto_api(self, path: str, body: bytes) -> None:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        conn.request("POST", f"/moto-api/{path}", body=body)
        assert conn.getresponse().status == 200
        conn.close()

    def _client(self, service: str, keys: Keys, endpoint: str | None = None) -> Any:
        return botocore.session.Session().create_client(
            service,
            region_name=REGION,
            endpoint_url=endpoint or self.url,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}),
        )

    @staticmethod
    def _user(iam: Any, name: str, actions: list[str]) -> Keys:
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}  # fmt: skip
        iam.put_user_policy(UserName=name, PolicyName="mirror", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def new_bucket(self) -> str:
        name = f"devin-{uuid.uuid4().hex[:12]}"
        self.s3.create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str, prefix: str = "") -> dict[str, tuple[int, str]]:
        """Return {key: (size, etag)} of every object under prefix."""
        found = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = (item["Size"], item["ETag"].strip('"'))
        return found

    def get(self, bucket: str, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=data)

    def open_uploads(self, bucket: str) -> list[str]:
        answer = self.s3.list_multipart_uploads(Bucket=bucket)
        return [u["Key"] for u in answer.get("Uploads", [])]


@dataclass
class Faults:
    """What the proxy does to requests; each is matched on the method and, if set, the query."""

    drop: int = 0  # drop this many matching requests mid-body (-1: all of them)
    drop_method: str = "PUT"
    drop_query: str = ""  # e.g. "partNumber": only the parts of multipart uploads
    stall: float = 0.0  # hold every answer this long (the client times out first)
    log: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query) forwarded


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of the store that drops or stalls requests on demand.

    It forwards bytes as received, the Host header included, so the client's signatures hold.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.faults = Faults()
        self.closing = threading.Event()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive and 100-continue, as botocore expects

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.handle(self)

            do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def requests(self, method: str) -> list[str]:
        with self.lock:
            return [path for m, path in self.faults.log if m == method]

    def _should_drop(self, handler: BaseHTTPRequestHandler) -> bool:
        f = self.faults
        with self.lock:
            if f.drop == 0 or handler.command != f.drop_method or f.drop_query not in handler.path:
                return False
            if f.drop > 0:
                f.drop -= 1
            return True

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if self._should_drop(handler):
            handler.rfile.read(length // 2)  # half the body arrived, then the line went dead
            handler.connection.shutdown(socket.SHUT_RDWR)
            handler.close_connection = True
            return
        body = handler.rfile.read(length) if length else b""
        if self.faults.stall:
            self.closing.wait(self.faults.stall)
        with self.lock:
            self.faults.log.append((handler.command, handler.path))
        conn = http.client.HTTPConnection(self.upstream.hostname or "", self.upstream.port,
                                          timeout=30)  # fmt: skip
        try:
            conn.putrequest(handler.command, handler.path, skip_host=True,
                            skip_accept_encoding=True)  # fmt: skip
            for name, value in handler.headers.items():
                if name.lower() not in ("connection", "expect", "keep-alive"):
                    conn.putheader(name, value)
            conn.endheaders(body)
            answer = conn.getresponse()
            data = answer.read()
            handler.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                        "content-length"):  # fmt: skip
                    handler.send_header(name, value)
            head = handler.command == "HEAD"
            length_out = answer.getheader("Content-Length") if head else str(len(data))
            handler.send_header("Content-Length", length_out or "0")
            handler.end_headers()
            if not head:
                handler.wfile.write(data)
        except OSError:  # the client gave up (a timeout it was told to take): nothing to say
            handler.close_connection = True
        finally:
            conn.close()
