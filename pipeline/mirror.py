"""Mirroring DIR/parquet/ to s3://bucket/prefix/ after a run: uploads, then deletions.

The mirror compares the local tree of *.parquet files with the objects under the prefix (size,
then MD5: the ETag of a single PUT, else the MD5 we store in the object's metadata) and
1. uploads what is new or differs, the data tables first and the run tables (export_runs,
   export_errors, quality_checks) after them, so a reader who sees a run in the bucket's
   export_runs also finds its data there;
2. deletes the objects under the prefix whose local file is gone (partitions that went away),
   only after every upload succeeded, so a failed run never leaves a partition missing.
Each object is written by one PUT (or one completed multipart upload, aborted on failure): a
reader sees the whole new file or the previous one, never part of one. Nothing outside the
prefix is read or written.

botocore is imported only when a mirror runs: an export without --parquet-url never pays for it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pipeline.errors import MirrorError
from pipeline.s3url import URL_VARIABLE, S3Url

# Written after the data, so their newest run is only listed once its data is in the bucket.
RUN_TABLES = ("export_runs", "export_errors", "quality_checks")
METADATA_MD5 = "md5"  # x-amz-meta-md5: hex MD5 of the file, for ETags that are not one
MULTIPART_THRESHOLD = 64 << 20  # above it, parts: a dropped connection costs a part, not a file
PART_SIZE = 8 << 20  # read into memory, one part per worker at a time
WORKERS = 8
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "InvalidClientTokenId",
}
# The permission each call needs, named when the store refuses it.
_PERMISSIONS = {
    "list_objects_v2": "s3:ListBucket",
    "head_object": "s3:GetObject",
    "delete_object": "s3:DeleteObject",
}
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class MirrorResult:
    url: str
    uploaded: int = 0
    uploaded_bytes: int = 0
    deleted: int = 0
    unchanged: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        """Return one line for people: what the mirror did."""
        return (
            f"mirrored to {self.url}: {self.uploaded} files uploaded "
            f"({self.uploaded_bytes / 1e6:.1f} MB), {self.deleted} deleted, {self.unchanged} "
            f"unchanged in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class LocalFile:
    relative: str  # POSIX path under the mirrored folder: the key under the prefix
    path: Path
    size: int


@dataclass(frozen=True)
class RemoteObject:
    size: int
    etag: str  # without quotes


def local_files(root: Path) -> dict[str, LocalFile]:
    """Return every *.parquet file under root by relative path, dot-files and dot-folders aside."""
    found = {}
    for path in sorted(root.rglob("*.parquet")):
        relative = path.relative_to(root)
        # A leading dot marks a file still being written (or a folder of such): never mirrored.
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        found[relative.as_posix()] = LocalFile(relative.as_posix(), path, path.stat().st_size)
    return found


def file_md5(path: Path) -> str:
    """Return the hex MD5 of a file."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def mirror_parquet(
    root: Path,
    url: S3Url,
    *,
    timeout: float = 30.0,
    retries: int = 5,
    workers: int = WORKERS,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> MirrorResult:
    """Mirror root's *.parquet tree to url and return what was done; raise MirrorError."""
    started = time.monotonic()
    client = connect(timeout, retries, workers)
    mirror = Mirror(client, url, workers, multipart_threshold, part_size, timeout, retries)
    result = mirror.run(root)
    result.seconds = time.monotonic() - started
    return result


def connect(timeout: float, retries: int, workers: int = WORKERS) -> Any:
    """Return an S3 client configured by the standard AWS chain; raise MirrorError."""
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"total_max_attempts": retries + 1, "mode": "standard"},
        max_pool_connections=workers,
        # We send Content-MD5, which every S3-compatible store checks; the newer default
        # checksums (CRC32 headers and trailers) are refused by some of them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    # botocore reads AWS_ENDPOINT_URL(_S3) itself, and addresses such an endpoint path-style
    # (host/bucket/key), which MinIO, Ceph and R2 take without wildcard DNS for bucket.host.
    try:
        # botocore reads AWS_DEFAULT_REGION and the profile's region; AWS_REGION, which the AWS
        # CLI and the other SDKs read first, it leaves to us.
        region = os.environ.get("AWS_REGION") or None
        return botocore.session.Session().create_client("s3", region_name=region, config=config)
    except BotoCoreError as err:  # AWS_PROFILE names a profile the shared files do not have
        raise MirrorError(f"cannot read the AWS configuration: {err}: check AWS_PROFILE and "
                          "AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE") from None  # fmt: skip


class Mirror:
    """One mirror of a local folder to a bucket prefix, with a botocore S3 client."""

    def __init__(
        self,
        client: Any,
        url: S3Url,
        workers: int = WORKERS,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_size: int = PART_SIZE,
        timeout: float = 30.0,
        retries: int = 5,
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.client = client
        self.url = url
        self.workers = workers
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.timeout = timeout
        self.retries = retries
        self._errors = (BotoCoreError, ClientError)
        endpoint = urlsplit(str(client.meta.endpoint_url))
        host = endpoint.hostname or ""
        if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            self.store = f"AWS S3 (region {client.meta.region_name})"
            self.where = f"in {self.store}"
        else:  # named without user:password@, should an endpoint ever carry one
            port = f":{endpoint.port}" if endpoint.port else ""
            self.store = f"the object store at {endpoint.scheme}://{host}{port}"
            self.where = f"at {endpoint.scheme}://{host}{port}"

    def run(self, root: Path) -> MirrorResult:
        """Upload what is new or differs, then delete what is gone; return the counts."""
        result = MirrorResult(str(self.url))
        try:
            local = local_files(root) if root.is_dir() else {}
        except OSError as err:
            raise MirrorError(f"cannot read {root}: {err.strerror or err}") from None
        if not local:  # every table has a file: an empty tree is a mistake, not a bucket to empty
            raise MirrorError(f"no Parquet files under {root}: nothing mirrored to {self.url}")
        remote = self.list_remote()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="mirror") as pool:
            digests = dict(zip(local, _all(pool, self._md5, local.values()), strict=True))
            current = _all(pool, lambda f: self.is_current(f, digests[f.relative], remote),
                           local.values())  # fmt: skip
            changed = [f for f, same in zip(local.values(), current, strict=True) if not same]
            result.unchanged = len(local) - len(changed)
            data = [f for f in changed if f.relative.split("/")[0] not in RUN_TABLES]
            runs = [f for f in changed if f.relative.split("/")[0] in RUN_TABLES]
            for phase in (data, runs):
                _all(pool, lambda f: self.upload(f, digests[f.relative]), phase)
                result.uploaded += len(phase)
                result.uploaded_bytes += sum(f.size for f in phase)
            gone = sorted(set(remote) - set(local))
            _all(pool, self.delete, gone)
            result.deleted = len(gone)
        return result

    def list_remote(self) -> dict[str, RemoteObject]:
        """Return the objects under the prefix that a mirror writes (*.parquet), by relative key."""
        found, token = {}, None
        start = self.url.key_prefix
        while True:
            params: dict[str, Any] = {"Bucket": self.url.bucket, "Prefix": start}
            if token:
                params["ContinuationToken"] = token
            page = self._call(f"listing {self.url}/", "list_objects_v2", **params)
            for item in page.get("Contents", []):
                relative = str(item["Key"])[len(start) :]
                parts = relative.split("/")
                if relative.endswith(".parquet") and not any(p.startswith(".") for p in parts):
                    found[relative] = RemoteObject(int(item["Size"]), str(item["ETag"]).strip('"'))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return found

    def is_current(self, local: LocalFile, md5: str, remote: dict[str, RemoteObject]) -> bool:
        """Return whether the bucket already holds exactly this file."""
        existing = remote.get(local.relative)
        if existing is None or existing.size != local.size:
            return False
        if existing.etag.lower() == md5:
            return True
        # A multipart upload's ETag, or one under SSE-KMS/SSE-C, is not the MD5: ask the object.
        # Gone since the listing, or no s3:GetObject: upload it again rather than fail.
        head = self._call(f"reading {self.key_url(local)}", "head_object", not_found_ok=True,
                          Bucket=self.url.bucket, Key=self.key(local))  # fmt: skip
        return str(head.get("Metadata", {}).get(METADATA_MD5, "")).lower() == md5

    def upload(self, local: LocalFile, md5: str) -> None:
        """Write one object from one file: one PUT, or a multipart upload completed or aborted."""
        if local.size > self.multipart_threshold:
            self._upload_parts(local, md5)
            return
        what = f"uploading {self.key_url(local)}"
        try:
            with open(local.path, "rb") as body:
                self._call(what, "put_object", Bucket=self.url.bucket, Key=self.key(local),
                           Body=body, ContentLength=local.size, ContentMD5=_b64(md5),
                           Metadata={METADATA_MD5: md5})  # fmt: skip
        except OSError as err:
            raise MirrorError(f"cannot read {local.path}: {err.strerror or err}") from None

    def _upload_parts(self, local: LocalFile, md5: str) -> None:
        what = f"uploading {self.key_url(local)}"
        key = self.key(local)
        created = self._call(what, "create_multipart_upload", Bucket=self.url.bucket, Key=key,
                             Metadata={METADATA_MD5: md5})  # fmt: skip
        upload_id = str(created["UploadId"])
        try:
            parts = []
            with open(local.path, "rb") as f:
                number = 1
                while chunk := f.read(self.part_size):
                    answer = self._call(
                        what, "upload_part", Bucket=self.url.bucket, Key=key, UploadId=upload_id,
                        PartNumber=number, Body=chunk,
                        ContentMD5=base64.b64encode(hashlib.md5(chunk, usedforsecurity=False)
                                                    .digest()).decode(),
                    )  # fmt: skip
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                    number += 1
            self._call(what, "complete_multipart_upload", Bucket=self.url.bucket, Key=key,
                       UploadId=upload_id, MultipartUpload={"Parts": parts})  # fmt: skip
        except (MirrorError, OSError) as err:
            # Parts of an upload never completed are invisible to readers, but stored (and
            # billed) until aborted. Best effort: the store may be what failed.
            try:
                self.client.abort_multipart_upload(Bucket=self.url.bucket, Key=key,
                                                   UploadId=upload_id)  # fmt: skip
            except self._errors:
                pass
            if isinstance(err, OSError):
                raise MirrorError(f"cannot read {local.path}: {err.strerror or err}") from None
            raise

    def delete(self, relative: str) -> None:
        key = self.url.key_prefix + relative
        self._call(f"deleting s3://{self.url.bucket}/{key}", "delete_object",
                   Bucket=self.url.bucket, Key=key)  # fmt: skip

    def key(self, local: LocalFile) -> str:
        return self.url.key_prefix + local.relative

    def key_url(self, local: LocalFile) -> str:
        return f"s3://{self.url.bucket}/{self.key(local)}"

    def _md5(self, local: LocalFile) -> str:
        try:
            return file_md5(local.path)
        except OSError as err:
            raise MirrorError(f"cannot read {local.path}: {err.strerror or err}") from None

    def _call(
        self, what: str, operation: str, not_found_ok: bool = False, **params: Any
    ) -> dict[str, Any]:
        """Return the answer of one S3 call; raise MirrorError (or {} for a 403/404 if ok)."""
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(**params)
        except self._errors as err:
            answer = getattr(err, "response", None) or {}  # only a ClientError has one
            status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if not_found_ok and status in (403, 404):
                return {}
            raise self.explain(err, what, operation) from None
        return answer

    def explain(self, err: Exception, what: str, operation: str) -> MirrorError:
        """Return a one-line MirrorError that names what to fix."""
        from botocore import exceptions as e

        store = self.store
        tried = f"{self.retries + 1} attempt{'s' if self.retries else ''}"
        if isinstance(err, e.ClientError):
            error = err.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                return MirrorError(
                    f"bucket {self.url.bucket!r} does not exist {self.where}: check "
                    f"--parquet-url (or {URL_VARIABLE}), AWS_ENDPOINT_URL and the region, or "
                    "create the bucket"
                )
            if code in _CREDENTIAL_CODES:
                return MirrorError(
                    f"{store} rejected the AWS credentials ({code}) {what}: check "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or "
                    "AWS_PROFILE"
                )
            if code == "AccessDenied" or status == 403:
                needs = _PERMISSIONS.get(operation, "s3:PutObject")
                return MirrorError(
                    f"{store} refused {what} ({code or status}): the AWS credentials need "
                    f"{needs} on {self.url}/* (s3:ListBucket, s3:GetObject, s3:PutObject, "
                    "s3:DeleteObject in all)"
                )
            if code in ("PermanentRedirect", "AuthorizationHeaderMalformed") or status == 301:
                return MirrorError(
                    f"bucket {self.url.bucket!r} is in another region ({code}): set AWS_REGION "
                    "(or AWS_DEFAULT_REGION) to the bucket's region"
                )
            message = str(error.get("Message", "")).strip()[:200]
            after = f" ({tried})" if isinstance(status, int) and status >= 500 else ""
            return MirrorError(
                f"{store} answered HTTP {status} {code} {what}{after}"
                + (f": {message}" if message else "")
            )
        if isinstance(err, e.NoCredentialsError):
            return MirrorError(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "AWS_PROFILE, or run with an instance or container role"
            )
        if isinstance(err, e.PartialCredentialsError | e.CredentialRetrievalError):
            return MirrorError(f"the AWS credentials are incomplete or unreadable ({err}): check "
                               "the AWS_* variables or AWS_PROFILE")  # fmt: skip
        if isinstance(err, e.ReadTimeoutError | e.ConnectTimeoutError):
            return MirrorError(
                f"{store} did not answer within --timeout {self.timeout:g} s {what} ({tried}): "
                "check the store and the network, or raise --timeout"
            )
        if isinstance(err, e.EndpointConnectionError):
            return MirrorError(
                f"cannot connect to {store} {what} ({tried}): check AWS_ENDPOINT_URL (or "
                "AWS_ENDPOINT_URL_S3) and the network"
            )
        if isinstance(err, e.ConnectionError | e.HTTPClientError):
            return MirrorError(
                f"{store} dropped the connection {what} ({tried}): check the store, the "
                "network or proxy; the next run uploads what is missing"
            )
        return MirrorError(f"{what}: {type(err).__name__}: {err}")


def _b64(md5_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()


def _all(pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """Return fn over items, run in the pool; at the first failure, cancel the rest and raise."""
    futures: Sequence[Future[R]] = [pool.submit(fn, item) for item in items]
    done, pending = wait(futures, return_when=FIRST_EXCEPTION)
    failed = [f for f in futures if f.done() and not f.cancelled() and f.exception()]
    if failed:
        for f in pending:
            f.cancel()
        wait(pending)  # the ones already running finish (or fail) before we report
        error = failed[0].exception()
        assert error is not None
        raise error
    return [f.result() for f in futures]
