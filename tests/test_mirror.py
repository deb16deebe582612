"""--parquet-url: mirroring DIR/parquet/ to a real S3-protocol server (moto's, over HTTP, with
IAM and signatures enforced), through a proxy that drops or stalls requests on demand."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from pipeline.errors import MirrorError, UsageError
from pipeline.mirror import Mirror, MirrorResult, connect, local_files, mirror_parquet
from pipeline.s3url import S3Url, parse_s3_url
from tests.helpers import KEY, NO_BILL, ROOT, all_text_in, run_cli
from tests.s3store import REGION, FaultProxy, MotoStore

PREFIX = "exports/devin"
TREE = {  # a Hive-partitioned tree like the exporter's, with its unpartitioned run tables
    "sessions/created_month=2024-01/part-0.parquet": 30,
    "sessions/created_month=2024-02/part-0.parquet": 20,
    "sessions/created_month=2024-03/part-0.parquet": 10,
    "pull_requests/created_month=2024-01/part-0.parquet": 15,
    "pull_requests/created_month=2024-03/part-0.parquet": 5,
    "export_runs/export_runs.parquet": 1,
    "quality_checks/quality_checks.parquet": 2,
}


@pytest.fixture(scope="module")
def store() -> Iterator[MotoStore]:
    started = MotoStore()
    yield started
    started.stop()


@pytest.fixture
def proxy(store: MotoStore) -> Iterator[FaultProxy]:
    started = FaultProxy(store.url)
    yield started
    started.close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: MotoStore,
        proxy: FaultProxy) -> dict[str, str]:  # fmt: skip
    """The standard AWS variables of a user of the store, through the proxy, and no others."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    env = {
        "AWS_ACCESS_KEY_ID": store.admin.access_key_id,
        "AWS_SECRET_ACCESS_KEY": store.admin.secret_access_key,
        "AWS_ENDPOINT_URL": proxy.url,
        "AWS_DEFAULT_REGION": REGION,
        # No machine's own AWS set-up, and never a question to an instance-metadata address.
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def bucket(store: MotoStore) -> str:
    return store.new_bucket()


def write_part(path: Path, rows: int, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({
        "session_id": [f"s-{seed}-{i}" for i in range(rows)],
        "acus": [float(i * seed) for i in range(rows)],
    })  # fmt: skip
    pq.write_table(table, path)


def make_tree(root: Path) -> Path:
    for relative, rows in TREE.items():
        write_part(root / relative, rows)
    # Half-written files (a leading dot) and a folder of them are never mirrored.
    write_part(root / "sessions/created_month=2024-02/.part-1.parquet", 3)
    write_part(root / "sessions/.staging/part-0.parquet", 3)
    return root


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def expected(root: Path, prefix: str = PREFIX) -> dict[str, tuple[int, str]]:
    """Return {key: (size, md5)} the bucket holds once root is mirrored under prefix."""
    start = f"{prefix}/" if prefix else ""
    return {start + relative: (f.size, md5(f.path)) for relative, f in local_files(root).items()}


def mirror(root: Path, bucket: str, prefix: str = PREFIX, **options: float) -> MirrorResult:
    timeout, retries = options.pop("timeout", 5.0), int(options.pop("retries", 1))
    return mirror_parquet(root, S3Url(bucket, prefix), timeout=timeout, retries=retries,
                          **options)  # fmt: skip


def read_back(store: MotoStore, bucket: str, prefix: str, table: str) -> pa.Table:
    """Read a table from the bucket as a reader would: pyarrow's dataset API over S3."""
    s3 = pafs.S3FileSystem(access_key=store.reader.access_key_id,
                           secret_key=store.reader.secret_access_key, region=REGION,
                           endpoint_override=store.url.removeprefix("http://"),
                           scheme="http")  # fmt: skip
    data = ds.dataset(f"{bucket}/{prefix}/{table}", filesystem=s3, partitioning="hive")
    return sorted_table(data.to_table())


def read_local(root: Path, table: str) -> pa.Table:
    return sorted_table(ds.dataset(root / table, partitioning="hive").to_table())


def sorted_table(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


# --- what a run does ------------------------------------------------------------------------


def test_a_first_run_uploads_every_file_and_readers_see_the_same_tables(
    tmp_path, store, proxy, aws, bucket
):
    root = make_tree(tmp_path / "parquet")
    result = mirror(root, bucket)
    assert (result.uploaded, result.deleted, result.unchanged) == (len(TREE), 0, 0)
    assert result.uploaded_bytes == sum(f.size for f in local_files(root).values())
    assert store.objects(bucket) == expected(root)  # ETags are the MD5s: whole, single PUTs
    for table in ("sessions", "pull_requests", "export_runs", "quality_checks"):
        assert read_back(store, bucket, PREFIX, table).equals(read_local(root, table))
    assert read_back(store, bucket, PREFIX, "sessions").num_rows == 60  # no dot-file read


def test_a_second_run_uploads_only_the_files_that_changed(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    mirror(root, bucket)
    write_part(root / "sessions/created_month=2024-03/part-0.parquet", 11, seed=1)
    write_part(root / "sessions/created_month=2024-04/part-0.parquet", 4, seed=1)  # new month
    write_part(root / "export_runs/export_runs.parquet", 2, seed=1)
    proxy.faults.log.clear()
    result = mirror(root, bucket)
    assert (result.uploaded, result.deleted, result.unchanged) == (3, 0, len(TREE) - 2)
    assert sorted(proxy.requests("PUT")) == [
        f"/{bucket}/{PREFIX}/export_runs/export_runs.parquet",
        f"/{bucket}/{PREFIX}/sessions/created_month%3D2024-03/part-0.parquet",
        f"/{bucket}/{PREFIX}/sessions/created_month%3D2024-04/part-0.parquet",
    ]
    assert store.objects(bucket) == expected(root)
    assert read_back(store, bucket, PREFIX, "sessions").equals(read_local(root, "sessions"))
    proxy.faults.log.clear()
    assert mirror(root, bucket).uploaded == 0  # nothing changed: one listing, no PUT
    assert [m for m, _ in proxy.faults.log] == ["GET"]


def test_data_first_then_run_tables_then_deletions(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    mirror(root, bucket)
    (root / "pull_requests/created_month=2024-03/part-0.parquet").unlink()
    write_part(root / "sessions/created_month=2024-01/part-0.parquet", 31, seed=2)
    write_part(root / "export_runs/export_runs.parquet", 2, seed=2)
    proxy.faults.log.clear()
    mirror(root, bucket)
    order = [(m, path.split("/")[4]) for m, path in proxy.faults.log if m in ("PUT", "DELETE")]
    assert order == [("PUT", "sessions"), ("PUT", "export_runs"), ("DELETE", "pull_requests")]


def test_a_partition_that_went_away_leaves_nothing_and_the_rest_of_the_bucket_is_untouched(
    tmp_path, store, proxy, aws, bucket
):
    outside = {
        "exports/devin-old/sessions/sessions.parquet": b"a sibling prefix, not ours",
        "exports/other.parquet": b"above the prefix",
        f"{PREFIX}/README.txt": b"not a file a mirror writes",
        f"{PREFIX}/sessions/.part-0.parquet": b"a dot-file is never ours either",
    }
    for key, data in outside.items():
        store.put(bucket, key, data)
    before = {k: v for k, v in store.objects(bucket).items() if k in outside}
    root = make_tree(tmp_path / "parquet")
    mirror(root, bucket)
    gone = root / "pull_requests/created_month=2024-01"
    for path in gone.iterdir():
        path.unlink()
    gone.rmdir()
    result = mirror(root, bucket)
    assert (result.uploaded, result.deleted) == (0, 1)
    objects = store.objects(bucket)
    assert not [k for k in objects if "pull_requests/created_month=2024-01" in k]
    assert {k: v for k, v in objects.items() if k in outside} == before
    assert {k: v for k, v in objects.items() if k not in outside} == expected(root)
    assert read_back(store, bucket, PREFIX, "pull_requests").num_rows == 5


def test_a_bucket_that_differs_from_the_files_is_healed(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    mirror(root, bucket)
    damaged = f"{PREFIX}/sessions/created_month=2024-02/part-0.parquet"
    size = store.objects(bucket)[damaged][0]
    store.put(bucket, damaged, b"x" * size)  # the same size: only the content hash tells
    store.s3.delete_object(Bucket=bucket, Key=f"{PREFIX}/export_runs/export_runs.parquet")
    result = mirror(root, bucket)
    assert (result.uploaded, result.unchanged) == (2, len(TREE) - 2)
    assert store.objects(bucket) == expected(root)


def test_without_get_object_a_file_that_may_differ_is_uploaded_again(
    tmp_path, store, proxy, aws, bucket, monkeypatch
):
    root = make_tree(tmp_path / "parquet")
    mirror(root, bucket)
    damaged = f"{PREFIX}/sessions/created_month=2024-02/part-0.parquet"
    store.put(bucket, damaged, b"x" * store.objects(bucket)[damaged][0])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", store.writer.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", store.writer.secret_access_key)
    result = mirror(root, bucket)  # its HEAD is refused: the ETag alone decides
    assert (result.uploaded, result.unchanged) == (1, len(TREE) - 1)
    assert store.objects(bucket) == expected(root)


def test_the_whole_bucket_as_the_prefix(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    store.put(bucket, "notes.txt", b"kept")
    mirror_parquet(root, parse_s3_url(f"s3://{bucket}"), timeout=5, retries=1)
    kept = {"notes.txt": (4, hashlib.md5(b"kept").hexdigest())}
    assert store.objects(bucket) == expected(root, prefix="") | kept


def test_large_files_go_in_parts_and_are_compared_by_their_stored_md5(
    tmp_path, store, proxy, aws, bucket
):
    root = tmp_path / "parquet"
    big = root / "sessions/created_month=2024-01/part-0.parquet"
    big.parent.mkdir(parents=True)
    noise = pa.table({"blob": [os.urandom(1 << 20) for _ in range(6)]})  # 6 MiB, incompressible
    pq.write_table(noise, big, compression="none")
    part = 5 << 20  # the smallest part S3 (and moto) accept
    result = mirror(root, bucket, multipart_threshold=part, part_size=part)
    assert result.uploaded == 1
    key = f"{PREFIX}/sessions/created_month=2024-01/part-0.parquet"
    assert store.objects(bucket)[key][1].endswith("-2")  # two parts: the ETag is not the MD5
    assert store.get(bucket, key) == big.read_bytes()
    proxy.faults.log.clear()
    result = mirror(root, bucket, multipart_threshold=part, part_size=part)
    assert (result.uploaded, result.unchanged) == (0, 1)
    assert [m for m, _ in proxy.faults.log] == ["GET", "HEAD"]  # the MD5 kept in its metadata


def test_the_s3_endpoint_variable_and_a_host_name(tmp_path, store, aws, bucket, monkeypatch):
    # Path-style (localhost:port/bucket): bucket.localhost would need DNS a MinIO rarely has.
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", store.url.replace("127.0.0.1", "localhost"))
    root = make_tree(tmp_path / "parquet")
    assert mirror(root, bucket).uploaded == len(TREE)
    assert store.objects(bucket) == expected(root)


@pytest.mark.parametrize(
    ("variables", "region"),
    [
        ({"AWS_DEFAULT_REGION": "eu-west-1"}, "eu-west-1"),
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1"}, "eu-central-1"),
    ],
)
def test_the_region_from_the_usual_variables(aws, monkeypatch, variables, region):
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert Mirror(connect(1, 0), S3Url("my-bucket")).where == f"in AWS S3 (region {region})"


# --- faults: one clear line, nothing half-written, the next run heals -----------------------


def assert_healed_by_the_next_run(root: Path, store: MotoStore, proxy: FaultProxy,
                                  bucket: str) -> None:  # fmt: skip
    proxy.faults.drop, proxy.faults.stall = 0, 0.0
    result = mirror(root, bucket)
    assert result.uploaded + result.unchanged == len(local_files(root))
    assert store.objects(bucket) == expected(root)
    assert store.open_uploads(bucket) == []


def test_an_empty_folder_never_empties_the_bucket(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    mirror(root, bucket)
    before = store.objects(bucket)
    for path in root.rglob("*.parquet"):
        path.unlink()
    with pytest.raises(MirrorError, match="no Parquet files under .*: nothing mirrored to s3://"):
        mirror(root, bucket)
    assert store.objects(bucket) == before


def test_a_bucket_that_does_not_exist(tmp_path, aws):
    with pytest.raises(MirrorError, match=r"bucket 'no-such-bucket' does not exist at http://"):
        mirror(make_tree(tmp_path / "parquet"), "no-such-bucket")


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        (
            "AWS_SECRET_ACCESS_KEY",
            "wrong-secret-0123456789abcdefghijklmnopq",
            "SignatureDoesNotMatch",
        ),
        ("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000", "InvalidAccessKeyId"),
    ],
)
def test_wrong_credentials(tmp_path, aws, bucket, monkeypatch, variable, value, code):
    monkeypatch.setenv(variable, value)
    with pytest.raises(MirrorError) as err:
        mirror(make_tree(tmp_path / "parquet"), bucket)
    assert f"rejected the AWS credentials ({code})" in str(err.value)
    assert "AWS_SECRET_ACCESS_KEY" in str(err.value)
    assert value not in str(err.value) or variable == "AWS_ACCESS_KEY_ID"


def test_no_credentials_at_all(tmp_path, aws, bucket, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(MirrorError, match="no AWS credentials found: set AWS_ACCESS_KEY_ID"):
        mirror(make_tree(tmp_path / "parquet"), bucket)


def test_a_profile_that_does_not_exist(tmp_path, aws, bucket, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "nightly")
    with pytest.raises(MirrorError, match="nightly.*check AWS_PROFILE"):
        mirror(make_tree(tmp_path / "parquet"), bucket)


def test_credentials_from_a_profile_in_the_shared_files(tmp_path, store, aws, bucket, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    Path(aws["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[nightly]\naws_access_key_id = {store.admin.access_key_id}\n"
        f"aws_secret_access_key = {store.admin.secret_access_key}\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "nightly")
    root = make_tree(tmp_path / "parquet")
    assert mirror(root, bucket).uploaded == len(TREE)


def test_a_refused_put(tmp_path, store, proxy, aws, bucket, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", store.reader.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", store.reader.secret_access_key)
    root = make_tree(tmp_path / "parquet")
    with pytest.raises(MirrorError) as err:
        mirror(root, bucket)
    assert "refused uploading s3://" in str(err.value)
    assert "need s3:PutObject" in str(err.value)
    assert store.objects(bucket) == {}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", store.admin.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", store.admin.secret_access_key)
    assert_healed_by_the_next_run(root, store, proxy, bucket)


def test_a_store_that_drops_the_connection_mid_upload(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    mirror(root, bucket)
    before = store.objects(bucket)
    write_part(root / "sessions/created_month=2024-01/part-0.parquet", 40, seed=3)
    (root / "sessions/created_month=2024-03/part-0.parquet").unlink()
    proxy.faults.drop = -1
    with pytest.raises(MirrorError, match="dropped the connection uploading s3://.*2 attempts"):
        mirror(root, bucket, retries=1)
    assert store.objects(bucket) == before  # the old file whole, and no deletion before uploads
    assert_healed_by_the_next_run(root, store, proxy, bucket)


def test_one_dropped_connection_is_retried(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    proxy.faults.drop = 1
    assert mirror(root, bucket, retries=1).uploaded == len(TREE)
    assert store.objects(bucket) == expected(root)


def test_a_multipart_upload_that_fails_is_aborted(tmp_path, store, proxy, aws, bucket):
    root = tmp_path / "parquet"
    big = root / "sessions/created_month=2024-01/part-0.parquet"
    big.parent.mkdir(parents=True)
    pq.write_table(pa.table({"blob": [os.urandom(1 << 20) for _ in range(6)]}), big,
                   compression="none")  # fmt: skip
    proxy.faults.drop, proxy.faults.drop_query = -1, "partNumber=2"
    part = 5 << 20
    with pytest.raises(MirrorError, match="dropped the connection"):
        mirror(root, bucket, retries=0, multipart_threshold=part, part_size=part)
    assert store.objects(bucket) == {}
    assert store.open_uploads(bucket) == []  # the parts already sent are not kept (or billed)


def test_a_slow_store_times_out(tmp_path, store, proxy, aws, bucket):
    root = make_tree(tmp_path / "parquet")
    proxy.faults.stall = 5.0
    started = time.monotonic()
    with pytest.raises(MirrorError, match=r"did not answer within --timeout 0.5 s listing"):
        mirror(root, bucket, timeout=0.5, retries=0)
    assert time.monotonic() - started < 4
    assert_healed_by_the_next_run(root, store, proxy, bucket)


def test_a_store_that_is_not_there(tmp_path, aws, bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
    with pytest.raises(MirrorError, match=r"cannot connect to the object store at "
                                          r"http://127.0.0.1:9 listing .*AWS_ENDPOINT_URL"):  # fmt: skip
        mirror(make_tree(tmp_path / "parquet"), bucket, retries=0)


# --- the URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bucket", "prefix"),
    [
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my.bucket/a/b/", "my.bucket", "a/b"),
        ("s3://b0b/devin export", "b0b", "devin export"),
    ],
)
def test_urls_that_are_understood(text, bucket, prefix):
    assert parse_s3_url(text) == S3Url(bucket, prefix)


@pytest.mark.parametrize(
    "text",
    [
        "my-bucket/prefix",
        "https://my-bucket/prefix",
        "s3:/my-bucket",
        "s3://",
        "s3://My_Bucket/x",
        "s3://ab",
        "s3://my-bucket/a//b",
        "s3://my-bucket/a/../b",
        "s3://my-bucket/a?versionId=1",
        "s3://my-bucket:9000/a",
        "s3://AKIA:secret@my-bucket/a",
    ],
)
def test_urls_that_are_not_s3_bucket_prefix(text):
    with pytest.raises(UsageError, match=r"is not s3://BUCKET\[/PREFIX\]") as err:
        parse_s3_url(text)
    assert "secret" not in str(err.value)


def test_botocore_is_imported_only_when_a_mirror_runs():
    code = "import sys, pipeline.cli, pipeline.export, pipeline.mirror; print('botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# --- end to end: the command line -----------------------------------------------------------


def local_md5s(out: Path) -> dict[str, str]:
    return {rel: md5(f.path) for rel, f in local_files(out / "parquet").items()}


def test_an_export_mirrors_its_parquet_and_the_next_uploads_only_what_changed(
    server, out, tmp_path, store, proxy, aws, bucket
):
    url = f"s3://{bucket}/{PREFIX}/"
    summary = tmp_path / "summary.json"
    args = ("--all", *NO_BILL, "--out", str(out), "--api-url", server.url, "--parquet-url", url,
            "--summary-json", str(summary))  # fmt: skip
    result = run_cli(*args, env=aws)
    assert result.code == 0, result.stderr
    first = local_md5s(out)
    assert store.objects(bucket) == expected(out / "parquet")
    assert f"mirrored to s3://{bucket}/{PREFIX}: {len(first)} files uploaded" in result.stdout
    record = json.loads(summary.read_text())["mirror"]
    assert (record["uploaded"], record["deleted"], record["url"]) == (len(first), 0, url[:-1])
    for table in ("sessions", "pull_requests", "export_runs"):
        assert read_back(store, bucket, PREFIX, table).equals(read_local(out / "parquet", table))

    server.devin.update(server.devin.ids()[0], title="renamed")
    proxy.faults.log.clear()
    result = run_cli(*args, env=aws)
    assert result.code == 0, result.stderr
    changed = {rel for rel, digest in local_md5s(out).items() if first.get(rel) != digest}
    assert changed and len(changed) < len(first)
    uploaded = {p.removeprefix(f"/{bucket}/{PREFIX}/").replace("%3D", "=")
                for p in proxy.requests("PUT")}  # fmt: skip
    assert uploaded == changed
    assert store.objects(bucket) == expected(out / "parquet")


def test_the_flag_wins_over_the_variable(server, out, store, proxy, aws, bucket):
    env = {**aws, "DEVIN_EXPORT_PARQUET_URL": f"s3://{bucket}/from-variable"}
    ids = server.devin.ids()[:2]
    args = (*ids, "--out", str(out), "--api-url", server.url, "--quiet")
    assert run_cli(*args, env=env).code == 0
    assert run_cli(*args, "--parquet-url", f"s3://{bucket}/from-flag", env=env).code == 0
    assert run_cli(*args, "--parquet-url", "", env=env).code == 0  # '' turns the mirror off
    prefixes = {key.split("/")[0] for key in store.objects(bucket)}
    assert prefixes == {"from-variable", "from-flag"}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--parquet-url", "bucket/prefix"], {}, "--parquet-url 'bucket/prefix' is not s3://"),
        ([], {"DEVIN_EXPORT_PARQUET_URL": "s3://x"}, "DEVIN_EXPORT_PARQUET_URL 's3://x' is not"),
    ],
)
def test_a_url_that_is_not_s3_is_a_usage_error_before_anything_runs(args, env, message, out):
    result = run_cli("abc", "--out", str(out), *args, env=env)
    assert result.code == 2
    assert message in result.stderr
    assert not out.exists()


def test_a_failed_mirror_exits_3_with_the_warehouse_published_and_the_next_run_heals(
    server, out, tmp_path, store, proxy, aws
):
    bucket = "devin-not-created-yet"
    summary = tmp_path / "summary.json"
    args = ("--all", *NO_BILL, "--out", str(out), "--api-url", server.url, "--quiet",
            "--parquet-url", f"s3://{bucket}/{PREFIX}", "--summary-json", str(summary))  # fmt: skip
    result = run_cli(*args, env=aws)
    assert result.code == 3
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [
        f"devin-export: error: mirror to s3://{bucket}/{PREFIX} failed: bucket '{bucket}' does "
        f"not exist at {proxy.url}: check --parquet-url (or DEVIN_EXPORT_PARQUET_URL), "
        "AWS_ENDPOINT_URL and the region, or create the bucket"
    ]
    assert "not mirrored: bucket" in result.stdout
    record = json.loads(summary.read_text())
    assert record["exit_code"] == 3 and record["status"] == "ok"
    assert "does not exist" in record["mirror"]["error"]
    assert record["sessions_exported"] == len(server.devin.ids())
    assert (out / "devin.duckdb").exists() and local_files(out / "parquet")

    store.s3.create_bucket(Bucket=bucket)
    result = run_cli(*args, env=aws)
    assert result.code == 0, result.stderr
    assert store.objects(bucket) == expected(out / "parquet")


def test_no_secret_appears_anywhere(server, out, tmp_path, store, proxy, aws, bucket, monkeypatch):
    summary = tmp_path / "summary.json"
    secret = aws["AWS_SECRET_ACCESS_KEY"]
    args = ("--all", "--out", str(out), "--api-url", server.url, "--log-format", "json",
            "--parquet-url", f"s3://{bucket}/{PREFIX}", "--summary-json", str(summary))  # fmt: skip
    ok = run_cli(*args, env=aws)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret[::-1])  # rejected: an error to print
    failed = run_cli(*args, env={**aws, "AWS_SECRET_ACCESS_KEY": secret[::-1]})
    assert (ok.code, failed.code) == (0, 3)
    assert "SignatureDoesNotMatch" in failed.stderr
    written = [ok.stdout, ok.stderr, failed.stdout, failed.stderr, summary.read_text()]
    written.append(all_text_in(out).decode("latin-1"))
    written += [store.get(bucket, key).decode("latin-1") for key in store.objects(bucket)]
    for text in written:
        for value in (KEY, secret, secret[::-1]):
            assert not any(value[i : i + 8] in text for i in range(len(value) - 7))
