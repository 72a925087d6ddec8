"""Issue «S3 and R2»: backup to ``s3`` on a moto server on 127.0.0.1, and requests per command.

The server runs in a thread of this process (``ThreadedMotoServer``), so it shares the two
cores with the client; the baseline (a bare boto3 ``put_object`` of the same bytes to the same
server) pays the same price.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_sync import SIZES_BYTES, Sizes, count_scenarios, make_context, ops_lines, sync_env
from builders import build_sized, touch
from common import TABLE_HEADER, Pair, environment, fmt_bytes, paired, timed

from casman.db.schema import PARTS_DB
from casman.sync.backup import backup_database
from casman.testing.moto import FAKE_CREDENTIALS, free_port

FULL = Sizes(runs=9)
QUICK = Sizes(runs=3)


@contextmanager
def moto_s3(root: Path) -> Iterator[tuple[str, Any]]:
    """A moto server on loopback and the environment casman's ``s3`` backend reads."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env: dict[str, str | None] = {
        **FAKE_CREDENTIALS,
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_REGION": None,
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "CASMAN_S3_ENDPOINT": endpoint,
    }
    try:
        with environment(env):
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            yield endpoint, client
    finally:
        server.stop()


def new_bucket(client: Any) -> str:
    bucket = f"casman-bench-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return bucket


def time_size(root: Path, client: Any, size: int, sizes: Sizes) -> Pair:
    bucket = new_bucket(client)
    env = sync_env(root)
    counter = iter(range(1_000_000))
    with environment({**env, "CASMAN_S3_BUCKET": bucket}):
        directory = Path(env["CASMAN_DATABASE_DIR"] or "")
        actual = build_sized(directory, size)
        context = make_context("s3")
        body = (directory / PARTS_DB).read_bytes()

        def one_backup() -> float:
            touch(directory, PARTS_DB, f"2025-06-01T00:00:00Z#{next(counter)}")
            return timed(lambda: backup_database(context, PARTS_DB, "benchmark"))

        def bare_put() -> float:
            key = f"baseline/{next(counter)}"
            return timed(lambda: client.put_object(Bucket=bucket, Key=key, Body=body))

        one_backup(), bare_put()  # first connection and credential lookup, untimed
        return paired(
            Pair(
                f"backup to `s3` (moto), {fmt_bytes(actual)} parts.db",
                "boto3 `put_object` of the same bytes",
            ),
            one_backup,
            bare_put,
            sizes.runs,
        )


def run(sizes: Sizes) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="casman-bench-s3-") as name:
        work = Path(name)
        with moto_s3(work) as (_, client):
            pairs = [
                time_size(work / f"size{index}", client, size, sizes)
                for index, size in enumerate(SIZES_BYTES)
            ]
            with environment({"CASMAN_S3_BUCKET": new_bucket(client)}):
                counts = count_scenarios(work / "counts", "s3")
    return [
        "### 3. S3 on moto (issue «S3 and R2»)",
        "",
        TABLE_HEADER,
        *(pair.row() for pair in pairs),
        "",
        "- A casman backup to S3 = the local snapshot work of section 2 + one LIST + one "
        "PutObject with Content-MD5, metadata and `If-None-Match: *` (+ one DELETE once 10 "
        "versions exist). The baseline is one `put_object` of the same bytes (boto3 defaults).",
        "",
        "Requests per command on `s3` (Class A = PUT/LIST, Class B = GET/HEAD, DELETE free; the "
        "`r2` backend uses the same S3 client and cost model, with R2's free-tier limits):",
        "",
        *ops_lines(counts),
    ]
