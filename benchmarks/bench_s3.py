"""S3 on a moto server on 127.0.0.1: publishing one scan, a checkpoint, requests per command.

The server runs in a thread of this process (``ThreadedMotoServer``), so it shares the two
cores with the client; the baselines (bare boto3 calls to the same server) pay the same
price. The request counts are section 2's scenarios, on ``s3``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_sync import SPARE_FROM, Site, count_scenarios, scan, sync_env
from builders import add_spare_pairs, build_demo
from common import TABLE_HEADER, Pair, environment, fmt_bytes, ops_table, paired, timed

from casman.db.schema import DATABASE_NAMES
from casman.sync.checkpoint import take_checkpoint
from casman.sync.engine import converge
from casman.testing.moto import FAKE_CREDENTIALS, free_port

RUNS = 9
QUICK = 3


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


def new_bucket(client: Any) -> dict[str, str | None]:
    """A fresh bucket, and the variables that point casman's ``s3`` backend at it."""
    bucket = f"casman-bench-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return {"CASMAN_SYNC_BACKEND": "s3", "CASMAN_S3_BUCKET": bucket}


def timings(root: Path, client: Any, runs: int) -> list[Pair]:
    """Publishing one scan, and a checkpoint, against bare boto3 doing the same requests."""
    backend = new_bucket(client)
    bucket = backend["CASMAN_S3_BUCKET"]
    site = Site({**sync_env(root, "a", root / "unused"), **backend})
    build_demo(site.directory)
    pairs = iter(add_spare_pairs(site.directory, SPARE_FROM, 2 * runs + 2))
    counter = iter(range(1_000_000))
    with site.active():
        session = site.session()
        converge(session)
        scan(site.directory, next(pairs))
        converge(session)  # first connection and credential lookup, untimed
        head = json.loads(client.get_object(Bucket=bucket, Key="head.json")["Body"].read())
        segment = next(iter(head["sites"].values()))["key"]  # the one-scan segment
        segment_body = client.get_object(Bucket=bucket, Key=segment)["Body"].read()
        head_body = client.get_object(Bucket=bucket, Key="head.json")["Body"].read()

        def publish() -> float:
            scan(site.directory, next(pairs))
            return timed(lambda: converge(session))

        def bare_publish() -> float:
            def run() -> None:
                client.get_object(Bucket=bucket, Key="head.json")["Body"].read()
                client.put_object(Bucket=bucket, Key=f"bare/{next(counter)}", Body=segment_body)
                client.put_object(Bucket=bucket, Key=f"bare/{next(counter)}", Body=head_body)

            return timed(run)

        publish_pair = paired(
            Pair(
                "publish one scan to `s3` (moto): `converge` after one `connect`",
                f"boto3: GET the head + PUT {len(segment_body):,} B + PUT {len(head_body):,} B",
            ),
            publish,
            bare_publish,
            runs,
        )
        sizes = sum((site.directory / name).stat().st_size for name in DATABASE_NAMES)

        def bare_checkpoint() -> float:
            def run() -> None:
                for name in DATABASE_NAMES:
                    copy = root / f"floor-{name}"
                    copy.unlink(missing_ok=True)
                    reader = sqlite3.connect(site.directory / name)
                    writer = sqlite3.connect(copy)
                    try:
                        reader.backup(writer)
                    finally:
                        writer.close()
                        reader.close()
                    body = copy.read_bytes()
                    client.put_object(Bucket=bucket, Key=f"bare/{next(counter)}", Body=body)

            return timed(run)

        checkpoint_pair = paired(
            Pair(
                f"checkpoint to `s3` (moto), demo pair ({fmt_bytes(sizes)})",
                "SQLite backup API + boto3 `put_object`, each database",
            ),
            lambda: timed(lambda: take_checkpoint(session, 3)),
            bare_checkpoint,
            runs,
        )
    return [publish_pair, checkpoint_pair]


def run(runs: int = RUNS) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="casman-bench-s3-") as name:
        work = Path(name)
        with moto_s3(work) as (_, client):
            pairs = timings(work / "timings", client, runs)
            counts = count_scenarios(work / "counts", new_bucket(client))
    return [
        "### 3. S3 on moto (issues «S3 and R2», 20)",
        "",
        TABLE_HEADER,
        *(pair.row() for pair in pairs),
        "",
        "- Publishing a scan = one GET of the head, one PUT of a segment (with Content-MD5 "
        "and `If-None-Match: *`), one PUT of the head (`If-Match` its ETag), plus the local "
        "reads and the site-state writes; the baseline sends the same three requests bare.",
        "",
        "Requests per command on `s3` (Class A = PUT/LIST, Class B = GET/HEAD, DELETE free; "
        "the `r2` backend uses the same S3 client and cost model):",
        "",
        *ops_table(counts),
    ]
