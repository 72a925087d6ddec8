"""The quota against what the server actually received, over real HTTP and real processes.

A small counting proxy on loopback stands between casman and the moto server: it is the
independent witness of "requests R2 would bill", so the tracker is compared with the
server's count rather than with itself. The proxy can also answer 500 in the server's
place, to show that a request answered with a 5xx is counted as R2 bills it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from casman_s3 import S3Backend

from casman.storage import quota
from casman.storage.errors import BackendUnavailableError
from casman.storage.operations import BackendHandle, Storage
from casman.storage.plugins import (
    get_backend_spec,
    get_plugin_manager,
    reset_plugin_manager,
    resolve_options,
)
from casman.testing.moto import FAKE_CREDENTIALS, free_port, moto_server, s3_bucket, s3_client

__all__ = ["moto_server", "s3_bucket"]  # fixtures, imported as casman_s3's conftest does

TRACKER = ".r2_quota_tracker.json"
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "expect", "te", "upgrade", "trailer"}
)
INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)

Fail = Callable[[str, str], bool]
"""(method, path) -> answer 500 instead of forwarding."""


class CountingProxy:
    """Forwards every request to ``upstream`` and records it first, as "received".

    Path-style addressing (botocore's choice for an IP endpoint): ``/bucket`` or
    ``/bucket?list-type=2`` is the bucket, ``/bucket/key`` an object.
    """

    def __init__(self, upstream: str, fail: Fail | None = None) -> None:
        self.upstream = urlsplit(upstream)
        self.fail = fail
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def billed(self, bucket: str, billing_class: str) -> int:
        """Requests R2 bills as ``billing_class`` ("A": PUT/POST/LIST, "B": GET/HEAD)."""
        with self._lock:
            requests = list(self.requests)
        count = 0
        for method, target in requests:
            path = urlsplit(target).path.strip("/")
            is_object = path.startswith(f"{bucket}/")
            if method in ("PUT", "POST") or (method == "GET" and not is_object):
                cls = "A"
            elif method in ("GET", "HEAD"):
                cls = "B"
            else:
                cls = None  # DELETE is free
            count += cls == billing_class
        return count


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive as botocore expects; answers 100-continue

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the records, not a log."""

    def do_GET(self) -> None:
        self._forward()

    do_PUT = do_HEAD = do_POST = do_DELETE = do_GET

    def _forward(self) -> None:
        proxy: CountingProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy.record(self.command, self.path)
        if proxy.fail is not None and proxy.fail(self.command, self.path):
            self._answer(500, "Internal Server Error", [("Content-Type", "application/xml")])
            self.wfile.write(b"" if self.command == "HEAD" else INTERNAL_ERROR)
            return
        upstream = http.client.HTTPConnection(
            proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=60
        )
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            kept = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in HOP_BY_HOP | {"content-length", "date", "server"}
            ]
            if self.command == "HEAD":
                announced = response.getheader("Content-Length")
                self._answer(response.status, response.reason, kept, announced)
            else:
                self._answer(response.status, response.reason, kept, str(len(data)))
                self.wfile.write(data)
        finally:
            upstream.close()

    def _answer(
        self,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        length: str | None = str(len(INTERNAL_ERROR)),
    ) -> None:
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()


@pytest.fixture
def proxy_for(moto_server: str) -> Iterator[Callable[..., CountingProxy]]:
    """Start a counting proxy in front of the session's moto server (stopped afterwards)."""
    started: list[CountingProxy] = []

    def start(fail: Fail | None = None) -> CountingProxy:
        proxy = CountingProxy(moto_server, fail)
        proxy.start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    reset_plugin_manager()
    yield
    reset_plugin_manager()


def r2_through(proxy: CountingProxy, bucket: str, state_dir: Path, class_a: int) -> Storage:
    """The r2 backend on ``proxy`` with one attempt per request (no client-side retries)."""
    backend = S3Backend(
        bucket,
        region="auto",
        endpoint=proxy.endpoint,
        access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        max_attempts=1,
    )
    handle = BackendHandle(
        "r2", get_backend_spec("r2"), backend, {"quota": {"class_a": class_a}}, state_dir
    )
    return Storage(handle, get_plugin_manager().hook, purpose="backup")


def test_a_request_answered_500_is_counted_as_r2_bills_it(
    proxy_for: Callable[..., CountingProxy], s3_bucket: str, tmp_path: Path
) -> None:
    proxy = proxy_for(fail=lambda method, path: method == "PUT")
    store = r2_through(proxy, s3_bucket, tmp_path, class_a=20)
    with pytest.raises(BackendUnavailableError, match="unavailable"):
        store.put("backups/a", b"abc", {})
    store.list_page("backups/")
    assert proxy.billed(s3_bucket, "A") == 2
    used = quota.usage(store.handle)
    assert used.class_a == 2, "the 500 reached the server: R2 bills it, the tracker counts it"
    assert used.storage_bytes == 0


def test_every_attempt_of_a_retried_request_is_counted(
    proxy_for: Callable[..., CountingProxy], s3_bucket: str, tmp_path: Path
) -> None:
    proxy = proxy_for(fail=lambda method, path: method == "PUT")
    spec = get_backend_spec("r2")
    environ = {
        "R2_ENDPOINT": proxy.endpoint,
        "R2_ACCESS_KEY_ID": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "R2_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "R2_BUCKET_NAME": s3_bucket,
    }
    backend = spec.factory(resolve_options(spec, {}, environ))  # the defaults users get
    handle = BackendHandle("r2", spec, backend, {"quota": {"class_a": 20}}, tmp_path)
    store = Storage(handle, get_plugin_manager().hook, purpose="backup")
    with pytest.raises(BackendUnavailableError):
        store.put("backups/a", b"abc", {})
    assert quota.usage(handle).class_a == proxy.billed(s3_bucket, "A")


def test_the_host_retries_reads_and_counts_every_attempt(
    proxy_for: Callable[..., CountingProxy], s3_bucket: str, tmp_path: Path
) -> None:
    """botocore does not retry (max_attempts 1); casman's Storage does, through the hook."""
    proxy = proxy_for(fail=lambda method, path: method == "HEAD")
    spec = get_backend_spec("r2")
    environ = {
        "R2_ENDPOINT": proxy.endpoint,
        "R2_ACCESS_KEY_ID": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "R2_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "R2_BUCKET_NAME": s3_bucket,
    }
    backend = spec.factory(resolve_options(spec, {}, environ))
    handle = BackendHandle("r2", spec, backend, {"quota": {"class_b": 20}}, tmp_path)
    store = Storage(handle, get_plugin_manager().hook, purpose="status", attempts=3)
    with pytest.raises(BackendUnavailableError):
        store.head("backups/a")
    assert proxy.billed(s3_bucket, "B") == 3
    assert quota.usage(handle).class_b == 3


def test_a_server_that_cannot_be_reached_costs_nothing(tmp_path: Path, s3_bucket: str) -> None:
    """Connection refused: botocore never sent the request; its reservation is released."""
    backend = S3Backend(
        s3_bucket,
        region="auto",
        endpoint=f"http://127.0.0.1:{free_port()}",  # nobody listens there
        access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        max_attempts=1,
        connect_timeout=1,
    )
    handle = BackendHandle(
        "r2", get_backend_spec("r2"), backend, {"quota": {"class_a": 20}}, tmp_path
    )
    store = Storage(handle, get_plugin_manager().hook, purpose="backup")
    with pytest.raises(BackendUnavailableError, match="cannot reach"):
        store.put("backups/a", b"abc", {})
    used = quota.usage(handle)
    assert (used.class_a, used.storage_bytes) == (0, 0)


def _casman_exe() -> list[str]:
    found = shutil.which("casman", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "casman"]


@pytest.mark.slow
def test_sixteen_parallel_backups_never_pass_the_quota(
    proxy_for: Callable[..., CountingProxy], s3_bucket: str, tmp_path: Path
) -> None:
    """16 ``casman sync backup`` processes share one tracker under ``class_a: 20``.

    Each backup needs at least 2 Class A (LIST + PUT), 32 or more in all: the reservations
    stop at 95 % (19), and the server receives exactly what the tracker counted. Before
    reservations the server saw 25–30. The assertions hold whatever else a backup sends.
    """
    proxy = proxy_for()
    database = tmp_path / "database"
    config = tmp_path / "config.yaml"
    config.write_text(
        "database:\n  sync:\n    keep_versions: 100\nr2:\n  quota:\n    class_a: 20\n",
        encoding="utf-8",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CASMAN_SYNC_BACKEND", "CASMAN_TRACE_PLUGINS", "CASMAN_LOAD_PLUGINS")
        and not k.startswith("R2_")
    }
    env.update(
        CASMAN_DATABASE_DIR=str(database),
        CASMAN_CONFIG=str(config),
        HOME=str(tmp_path / "home"),
        R2_ENDPOINT=proxy.endpoint,
        R2_ACCESS_KEY_ID=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        R2_SECRET_ACCESS_KEY=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        R2_BUCKET_NAME=s3_bucket,
    )
    setup = subprocess.run(
        [*_casman_exe(), "parts", "add", "ANTENNA", "2", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    assert proxy.requests == [] and not (database / TRACKER).exists()

    processes = [
        subprocess.Popen(
            [*_casman_exe(), "sync", "--backend", "r2", "backup"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(16)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    tracker = json.loads((database / TRACKER).read_text(encoding="utf-8"))
    server_a, server_b = proxy.billed(s3_bucket, "A"), proxy.billed(s3_bucket, "B")
    seen = f"server saw {proxy.requests}, processes said {[err for _, err in outputs]}"
    print(f"\n16 processes: the server received {server_a} Class A, the tracker counted ", end="")
    print(f"{tracker['class_a']} (Class B: {server_b} and {tracker['class_b']})")
    assert server_a <= 20, seen
    assert tracker["class_a"] == server_a, seen
    assert tracker["class_b"] == server_b, seen
    assert server_a == 19, "the reservations stop at exactly 95 % of 20"

    blocked = 0
    for process, (_stdout, stderr) in zip(processes, outputs, strict=True):
        assert "Traceback" not in stderr, stderr
        if process.returncode != 0:
            assert process.returncode == 1, stderr
            error = stderr.splitlines()[-1]  # the 80 % warning may come before it
            assert error.startswith("Error: R2 quota limit reached: 95.0% of Class A"), stderr
            blocked += 1
    assert blocked > 0
    listing = s3_client(proxy.upstream.geturl()).list_objects_v2(Bucket=s3_bucket)
    stored = {item["Key"] for item in listing.get("Contents", [])}
    backups = {key for key in stored if key.endswith("_parts.db")}
    assert tracker["backups"] == 16 - blocked
    assert len(backups) >= 16 - blocked  # a process may be blocked after its upload
    assert set(tracker["objects"]) == stored
    leftovers = [p.name for p in database.glob(f"{TRACKER}.*") if p.suffix != ".lock"]
    assert leftovers == []
