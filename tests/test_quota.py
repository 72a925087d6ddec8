"""Quota enforcement: counted from what is sent, blocked at 95 % before sending.

The requests go through the real plugin manager's ``casman_storage_op`` hook to a recording
fake backend, so these tests see exactly what a real backend would receive.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casman.storage import quota
from casman.storage.backend import (
    BackendSpec,
    Capabilities,
    CostModel,
    ListPage,
    ObjectInfo,
)
from casman.storage.errors import (
    BackendConfigError,
    BackendUnavailableError,
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
    QuotaExceededError,
    StorageError,
)
from casman.storage.operations import BackendHandle, Storage, StorageOp
from casman.storage.plugins import get_plugin_manager
from casman.storage.quota import tracker, wrapper

R2_LIKE = CostModel(
    default_limits={"storage_gb": 10, "class_a": 1_000_000, "class_b": 10_000_000},
    label="R2 Free Tier",
)


class RecordingBackend:
    """An in-memory backend that records every call that reached it."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_next: BaseException | None = None
        self.during: Callable[[], None] | None = None
        """Runs inside the next call, before it answers: what the tracker says mid-flight."""

    def _maybe_fail(self) -> None:
        if self.during is not None:
            during, self.during = self.during, None
            during()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    def put(
        self,
        key: str,
        body: bytes,
        *,
        metadata: Mapping[str, str],
        content_md5: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> ObjectInfo:
        self.calls.append(("put", key))
        self._maybe_fail()
        if if_none_match == "*" and key in self.objects:
            raise PreconditionFailedError(f"{key} exists")
        self.objects[key] = (body, dict(metadata))
        return ObjectInfo(key, len(body), "etag")

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        self.calls.append(("get", key))
        self._maybe_fail()
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        body, meta = self.objects[key]
        return body, ObjectInfo(key, len(body), "etag", metadata=meta)

    def head(self, key: str) -> ObjectInfo:
        return self.get(key)[1]

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        self.calls.append(("list", prefix))
        self._maybe_fail()
        infos = tuple(
            ObjectInfo(k, len(v[0]), "etag")
            for k, v in self.objects.items()
            if k.startswith(prefix)
        )
        return ListPage(infos)

    def delete(self, key: str) -> None:
        self.calls.append(("delete", key))
        self._maybe_fail()
        self.objects.pop(key, None)


def make_handle(
    state_dir: Path,
    quota_settings: Mapping[str, Any] | None = None,
    *,
    name: str = "r2",
    cost_model: CostModel = R2_LIKE,
) -> BackendHandle:
    spec = BackendSpec(
        name=name,
        factory=lambda options: RecordingBackend(),
        description="recording fake",
        capabilities=Capabilities(conditional_writes=True, cost_model=cost_model),
    )
    settings: dict[str, Any] = {}
    if quota_settings is not None:
        settings["quota"] = dict(quota_settings)
    return BackendHandle(name, spec, RecordingBackend(), settings, state_dir)


def storage_for(handle: BackendHandle) -> Storage:
    """One attempt per call: these tests count what one request costs (retries are the
    host's, tested in test_quota_processes.py)."""
    return Storage(handle, get_plugin_manager().hook, purpose="backup", attempts=1)


def fake(handle: BackendHandle) -> RecordingBackend:
    assert isinstance(handle.impl, RecordingBackend)
    return handle.impl


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    wrapper._warned.clear()
    yield
    wrapper._warned.clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """A settable UTC clock: replace ``clock[0]`` to move time."""
    moment = [datetime(2026, 3, 15, 12, 0, tzinfo=UTC)]
    monkeypatch.setattr(quota, "now", lambda: moment[0])
    return moment


def test_quota_plugin_is_registered_in_the_real_manager() -> None:
    names = [type(p).__name__ for p in get_plugin_manager().get_plugins()]
    assert "QuotaPlugin" in names


def test_puts_succeed_until_95_percent_then_blocked_before_sending(tmp_path: Path) -> None:
    handle = make_handle(tmp_path, {"class_a": 20})
    store = storage_for(handle)
    for i in range(19):  # 19/20 = 95 %: the last allowed request reaches it
        store.put(f"backups/k{i}", b"x", {})
    assert len(fake(handle).calls) == 19
    with pytest.raises(QuotaExceededError) as caught:
        store.put("backups/k19", b"x", {})
    assert len(fake(handle).calls) == 19, "the blocked request must never reach the backend"
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("R2 quota limit reached: 95.0% of Class A operations used;")
    assert "operation 'backup' blocked" in message
    assert "Class A: 19/20" in message
    assert quota.usage(handle).class_a == 19


def test_message_shape_matches_the_spec(tmp_path: Path, clock: list[datetime]) -> None:
    handle = make_handle(tmp_path)
    data = tracker.fresh(clock[0])
    data.update(class_a=953_000, class_b=234_567, objects={"a": 3_450_000_000})
    tracker.write_atomic(quota.tracker_path(handle), data)
    with pytest.raises(QuotaExceededError) as caught:
        storage_for(handle).put("backups/x", b"1", {})
    assert str(caught.value) == (
        "R2 quota limit reached: 95.3% of Class A operations used; operation 'backup' "
        "blocked to prevent exceeding the free tier (Storage: 3.45/10 GB, "
        "Class A: 953,000/1,000,000, Class B: 234,567/10,000,000)"
    )
    # Class B requests are still allowed: only the exhausted class is blocked.
    with pytest.raises(ObjectNotFoundError):
        storage_for(handle).get("backups/x")


def test_storage_block_counts_the_upload_size(tmp_path: Path) -> None:
    handle = make_handle(tmp_path, {"storage_gb": 1e-6})  # 1,000 bytes
    store = storage_for(handle)
    store.put("a", b"x" * 900, {})
    store.put("a", b"x" * 940, {})  # replaces: 940 bytes stored, not 1,840
    with pytest.raises(QuotaExceededError, match=r"would bring Storage to 99\.0%"):
        store.put("b", b"x" * 50, {})
    assert fake(handle).calls == [("put", "a"), ("put", "a")]


def test_storage_falls_after_delete(tmp_path: Path) -> None:
    handle = make_handle(tmp_path)
    store = storage_for(handle)
    store.put("backups/a", b"x" * 100, {})
    store.put("backups/b", b"x" * 50, {})
    assert quota.usage(handle).storage_bytes == 150
    store.delete("backups/a")
    used = quota.usage(handle)
    assert used.storage_bytes == 50
    assert used.class_a == 2, "R2 deletes are free"


def test_a_412_is_counted_but_stores_nothing(tmp_path: Path) -> None:
    handle = make_handle(tmp_path)
    store = storage_for(handle)
    store.put("backups/a", b"x" * 10, {}, if_none_match="*")
    with pytest.raises(PreconditionFailedError):
        store.put("backups/a", b"y" * 99, {}, if_none_match="*")
    used = quota.usage(handle)
    assert used.class_a == 2
    assert used.storage_bytes == 10


def test_missing_object_get_is_billed_but_unreachable_is_not(tmp_path: Path) -> None:
    handle = make_handle(tmp_path)
    store = storage_for(handle)
    with pytest.raises(ObjectNotFoundError):
        store.get("nothing")
    # what casman_s3 raises when the connection cannot even be opened
    fake(handle).fail_next = BackendUnavailableError("cannot reach", request_sent=False)
    with pytest.raises(BackendUnavailableError):
        store.head("nothing")
    assert quota.usage(handle).class_b == 1


def test_month_rollover_resets_counters_not_storage(tmp_path: Path, clock: list[datetime]) -> None:
    handle = make_handle(tmp_path)
    store = storage_for(handle)
    store.put("backups/a", b"x" * 7, {})
    store.get("backups/a")
    quota.record_event(handle, "backup")
    quota.record_event(handle, "restore")
    before = quota.usage(handle)
    assert (before.month, before.class_a, before.class_b) == ("2026-03", 1, 1)
    assert (before.backups, before.restores) == (1, 1)

    clock[0] = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    assert quota.usage(handle).class_a == 1
    clock[0] = datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC)
    after = quota.usage(handle)
    assert (after.month, after.class_a, after.class_b, after.backups, after.restores) == (
        "2026-04",
        0,
        0,
        0,
        0,
    )
    assert after.storage_bytes == 7


def test_rollover_unblocks_an_exhausted_class(tmp_path: Path, clock: list[datetime]) -> None:
    handle = make_handle(tmp_path, {"class_a": 2})
    store = storage_for(handle)
    store.put("a", b"1", {})
    store.put("b", b"1", {})
    with pytest.raises(QuotaExceededError):
        store.put("c", b"1", {})
    clock[0] = datetime(2026, 4, 1, tzinfo=UTC)
    store.put("c", b"1", {})
    assert quota.usage(handle).storage_bytes == 3


def test_no_limits_means_nothing_is_tracked(tmp_path: Path) -> None:
    handle = make_handle(tmp_path, name="s3", cost_model=CostModel())
    storage_for(handle).put("a", b"1", {})
    assert not quota.tracker_path(handle).exists()
    assert quota.tracker_path(handle).name == ".s3_quota_tracker.json"


def test_tracker_file_name_for_r2(tmp_path: Path) -> None:
    handle = make_handle(tmp_path)
    storage_for(handle).put("a", b"1", {})
    assert (tmp_path / ".r2_quota_tracker.json").exists()


def test_warning_at_80_percent_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    handle = make_handle(tmp_path, {"class_b": 10})
    store = storage_for(handle)
    store.put("a", b"1", {})
    caplog.set_level(logging.WARNING, logger="casman.quota")
    for _ in range(7):
        store.get("a")
    assert not caplog.records
    store.get("a")  # 8/10
    store.get("a")  # 9/10: no second warning
    warnings = [r for r in caplog.records if r.name == "casman.quota"]
    assert len(warnings) == 1
    assert "80.0% of Class B operations" in warnings[0].getMessage()


def test_corrupt_tracker_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, clock: list[datetime]
) -> None:
    handle = make_handle(tmp_path)
    path = quota.tracker_path(handle)
    path.write_text("{not json", encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="casman.quota")
    storage_for(handle).put("a", b"12", {})
    aside = list(tmp_path.glob(".r2_quota_tracker.json.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_text(encoding="utf-8") == "{not json"
    assert json.loads(path.read_text(encoding="utf-8"))["class_a"] == 1
    assert any("unreadable" in r.getMessage() for r in caplog.records)


def test_wrong_shape_tracker_is_set_aside(tmp_path: Path) -> None:
    handle = make_handle(tmp_path)
    quota.tracker_path(handle).write_text('{"month": 5}', encoding="utf-8")
    assert quota.usage(handle).class_a == 0
    assert len(list(tmp_path.glob("*.corrupt-*"))) == 1


def test_dry_run_is_neither_sent_nor_counted(tmp_path: Path) -> None:
    handle = make_handle(tmp_path)
    op = StorageOp("put", "a", purpose="backup", body=b"1", content_md5="x", dry_run=True)
    assert get_plugin_manager().hook.casman_storage_op(backend=handle, op=op) is None
    assert fake(handle).calls == []
    assert quota.usage(handle).class_a == 0


def test_reconcile_storage_replaces_the_prefix_only(tmp_path: Path) -> None:
    handle = make_handle(tmp_path)
    store = storage_for(handle)
    store.put("backups/a", b"x" * 10, {})
    store.put("other/b", b"x" * 5, {})
    mark = quota.listing_mark(handle)
    listing = [ObjectInfo("backups/c", 30, "e"), ObjectInfo("backups/d", 4, "e")]
    assert quota.reconcile_storage(handle, listing, "backups/", mark) == 39
    assert quota.usage(handle).storage_bytes == 39


# --- reservation: check and count are one step under the lock, before sending -----------


def test_a_request_is_counted_before_it_is_sent(tmp_path: Path) -> None:
    handle = make_handle(tmp_path, {"class_a": 20})
    seen: list[int] = []
    fake(handle).during = lambda: seen.append(quota.usage(handle).class_a)
    storage_for(handle).put("a", b"1", {})
    assert seen == [1], "the tracker counts the request while it is in flight"
    assert quota.usage(handle).class_a == 1


def test_a_parallel_request_sees_the_one_in_flight(tmp_path: Path) -> None:
    """The 19th request of 20 is in flight when another process asks: it is blocked."""
    handle = make_handle(tmp_path, {"class_a": 20})
    other = make_handle(tmp_path, {"class_a": 20})  # another process, the same tracker
    store = storage_for(handle)
    for i in range(18):
        store.put(f"k{i}", b"x", {})
    refused: list[str] = []

    def another_process_asks() -> None:
        with pytest.raises(QuotaExceededError) as caught:
            storage_for(other).put("late", b"x", {})
        refused.append(str(caught.value))

    fake(handle).during = another_process_asks
    store.put("k18", b"x", {})
    assert len(refused) == 1 and "95.0% of Class A operations used" in refused[0]
    assert fake(other).calls == [], "the refused request never reached the backend"
    assert quota.usage(handle).class_a == 19


def test_an_upload_in_flight_reserves_its_size(tmp_path: Path) -> None:
    handle = make_handle(tmp_path, {"storage_gb": 1e-6})  # 1,000 bytes, blocks at 950
    other = make_handle(tmp_path, {"storage_gb": 1e-6})

    def another_process_uploads() -> None:
        with pytest.raises(QuotaExceededError, match=r"would bring Storage to 100\.0%"):
            storage_for(other).put("b", b"x" * 500, {})

    fake(handle).during = another_process_uploads
    storage_for(handle).put("a", b"x" * 500, {})
    assert fake(other).calls == []
    assert quota.usage(handle).storage_bytes == 500


def _not_sent_by_attribute() -> StorageError:
    error = StorageError("refused locally: body over the single-upload limit")
    error.request_sent = False
    return error


@pytest.mark.parametrize(
    "error",
    [
        BackendUnavailableError("R2 is unavailable (500); try again later"),
        BackendUnavailableError("endpoint did not answer in time; try again later"),
        StorageError("R2 put of backups/a failed: HTTP 400"),
        RuntimeError("a bug in a third-party backend"),
        TimeoutError("socket timeout"),
    ],
    ids=["5xx", "read-timeout", "other-4xx", "non-casman", "builtin-timeout"],
)
def test_a_request_that_may_have_reached_the_server_stays_counted(
    tmp_path: Path, error: BaseException
) -> None:
    """R2 bills every request it answers, 5xx included; the reservation is kept."""
    handle = make_handle(tmp_path, {"class_a": 20})
    fake(handle).fail_next = error
    with pytest.raises(type(error)):
        storage_for(handle).put("backups/a", b"x" * 10, {})
    used = quota.usage(handle)
    assert used.class_a == 1
    assert used.storage_bytes == 0, "a failed upload stored nothing as far as casman knows"


@pytest.mark.parametrize(
    "error",
    [
        StorageError("refused locally", request_sent=False),
        BackendUnavailableError("cannot reach the endpoint", request_sent=False),
        _not_sent_by_attribute(),
        BackendConfigError("no credentials; set R2_ACCESS_KEY_ID"),
        InvalidKeyError("key must be relative"),
    ],
    ids=["constructor", "unreachable", "attribute", "config", "invalid-key"],
)
def test_a_request_refused_before_sending_is_released(tmp_path: Path, error: StorageError) -> None:
    handle = make_handle(tmp_path, {"class_a": 20})
    store = storage_for(handle)
    store.put("backups/a", b"x" * 7, {})
    seen: list[tuple[int, int]] = []
    fake(handle).during = lambda: seen.append(in_flight(handle))
    fake(handle).fail_next = error
    with pytest.raises(type(error)):
        store.put("backups/a", b"y" * 30, {})
    assert seen == [(2, 30)], "count and size reserved while in flight"
    used = quota.usage(handle)
    assert (used.class_a, used.storage_bytes) == (1, 7), "both given back"
    assert in_flight(handle) == (1, 0)


def in_flight(handle: BackendHandle) -> tuple[int, int]:
    """(class_a, bytes reserved by uploads in flight) as the tracker file says now."""
    data = json.loads(quota.tracker_path(handle).read_text(encoding="utf-8"))
    return int(data["class_a"]), tracker.pending_bytes(data)


def test_a_refused_upload_leaves_a_parallel_upload_of_the_same_key_stored(
    tmp_path: Path,
) -> None:
    """Two processes race to create one key: the loser's 412 must not erase the winner's."""
    loser = make_handle(tmp_path)
    winner = make_handle(tmp_path)

    def the_other_process_wins() -> None:
        storage_for(winner).put("backups/k", b"x" * 40, {}, if_none_match="*")

    fake(loser).during = the_other_process_wins
    fake(loser).fail_next = PreconditionFailedError("backups/k exists")
    with pytest.raises(PreconditionFailedError):
        storage_for(loser).put("backups/k", b"x" * 40, {}, if_none_match="*")
    used = quota.usage(loser)
    assert (used.class_a, used.storage_bytes) == (2, 40)
    assert in_flight(loser) == (2, 0)


@pytest.mark.parametrize(("age_hours", "blocked"), [(1, True), (25, False)])
def test_a_reservation_left_by_a_dead_process_expires(
    tmp_path: Path, clock: list[datetime], age_hours: int, blocked: bool
) -> None:
    handle = make_handle(tmp_path, {"storage_gb": 1e-6})  # 1,000 bytes
    data = tracker.fresh(clock[0])
    at = (clock[0] - timedelta(hours=age_hours)).isoformat()
    data["pending"] = {"dead": {"key": "backups/big", "bytes": 900, "at": at}}
    tracker.write_atomic(quota.tracker_path(handle), data)
    if blocked:
        with pytest.raises(QuotaExceededError, match=r"would bring Storage to 96\.0%"):
            storage_for(handle).put("backups/small", b"x" * 60, {})
    else:
        storage_for(handle).put("backups/small", b"x" * 60, {})
        assert in_flight(handle) == (1, 0)
        assert quota.usage(handle).storage_bytes == 60


def test_a_release_after_the_month_rolled_leaves_the_new_month_alone(
    tmp_path: Path, clock: list[datetime]
) -> None:
    handle = make_handle(tmp_path, {"class_a": 20})
    other = make_handle(tmp_path, {"class_a": 20})

    def april_arrives_and_another_process_uploads() -> None:
        clock[0] = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)
        storage_for(other).put("b", b"1", {})

    fake(handle).during = april_arrives_and_another_process_uploads
    fake(handle).fail_next = StorageError("refused locally", request_sent=False)
    with pytest.raises(StorageError, match="refused locally"):
        storage_for(handle).put("a", b"1", {})
    used = quota.usage(handle)
    assert (used.month, used.class_a, used.storage_bytes) == ("2026-04", 1, 1)


def test_a_clock_wound_back_60_days_does_not_reset_the_month(
    tmp_path: Path, clock: list[datetime]
) -> None:
    handle = make_handle(tmp_path, {"class_a": 20})
    store = storage_for(handle)
    for i in range(19):
        store.put(f"k{i}", b"x", {})
    newest = clock[0]
    clock[0] = newest - timedelta(days=60)  # mid-January
    used = quota.usage(handle)
    assert (used.month, used.class_a) == ("2026-03", 19)
    with pytest.raises(QuotaExceededError):
        store.put("late", b"x", {})
    quota.record_event(handle, "backup")  # a write at the earlier time keeps the newest
    data = json.loads(quota.tracker_path(handle).read_text(encoding="utf-8"))
    assert (data["month"], data["class_a"]) == ("2026-03", 19)
    assert datetime.fromisoformat(data["newest"]) == newest

    clock[0] = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)  # the clock fixed, same month
    assert quota.usage(handle).class_a == 19
    clock[0] = datetime(2026, 4, 1, tzinfo=UTC)  # the newest time enters April: rollover
    store.put("late", b"x", {})
    assert (quota.usage(handle).month, quota.usage(handle).class_a) == ("2026-04", 1)


def test_a_tracker_without_newest_is_read_and_upgraded(
    tmp_path: Path, clock: list[datetime]
) -> None:
    """Trackers written before ``newest`` existed keep their counts."""
    handle = make_handle(tmp_path, {"class_a": 20})
    path = quota.tracker_path(handle)
    old = {"version": 1, "month": "2026-03", "class_a": 5, "class_b": 0}
    old.update(backups=0, restores=0, objects={"a": 3})
    path.write_text(json.dumps(old), encoding="utf-8")
    storage_for(handle).put("b", b"12", {})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["version"], data["class_a"], data["objects"]) == (3, 6, {"a": 3, "b": 2})
    assert datetime.fromisoformat(data["newest"]) == clock[0]
    assert not list(tmp_path.glob("*.corrupt-*"))


def _failure(outcome: str) -> BaseException | None:
    """``ok``, a failure that reached the server (a 5xx), or one refused before sending."""
    if outcome == "sent":
        return BackendUnavailableError("R2 is unavailable (500); try again later")
    if outcome == "not sent":
        return BackendUnavailableError("cannot reach the endpoint", request_sent=False)
    return None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["put", "delete", "get"]),
            st.sampled_from("abc"),
            st.integers(0, 50),
            st.sampled_from(["ok", "ok", "sent", "not sent"]),
        ),
        max_size=25,
    )
)
def test_counts_are_what_was_sent_and_storage_what_is_stored_now(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str, int, str]]
) -> None:
    handle = make_handle(tmp_path_factory.mktemp("q"))
    store = storage_for(handle)
    for kind, key, size, outcome in steps:
        fake(handle).fail_next = _failure(outcome)
        with contextlib.suppress(ObjectNotFoundError, BackendUnavailableError):
            if kind == "put":
                store.put(key, b"x" * size, {})
            elif kind == "delete":
                store.delete(key)
            else:
                store.get(key)
    expected = sum(len(body) for body, _ in fake(handle).objects.values())
    used = quota.usage(handle)
    assert used.storage_bytes == expected
    sent = [(kind, outcome) for kind, _, _, outcome in steps if outcome != "not sent"]
    assert used.class_a == sum(1 for kind, _ in sent if kind == "put")
    assert used.class_b == sum(1 for kind, _ in sent if kind == "get")


def _worker(state_dir: str, increments: int) -> None:
    """Runs in a spawned process: the same tracker, hammered from four processes."""
    handle = make_handle(Path(state_dir))
    store = storage_for(handle)
    for i in range(increments):
        if i % 2:
            with pytest.raises(ObjectNotFoundError):
                store.get("missing")
        else:
            store.put(f"k{i}", b"x", {})
        quota.record_event(handle, "backup")


@pytest.mark.slow
def test_four_processes_never_lose_counts(tmp_path: Path) -> None:
    increments = 25
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(str(tmp_path), increments)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    used = quota.usage(make_handle(tmp_path))
    per_process_puts = (increments + 1) // 2
    assert used.class_a == 4 * per_process_puts
    assert used.class_b == 4 * (increments - per_process_puts)
    assert used.backups == 4 * increments
    assert not list(tmp_path.glob("*.corrupt-*"))
    assert not list(tmp_path.glob("*.tmp"))
