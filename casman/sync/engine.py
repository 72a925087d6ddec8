"""Publish, fetch, converge: sync is the union of record sets (DESIGN §5).

One round, under the site's sync lock:

1. read the head (one GET; the array's identity when there is no head yet);
2. refuse a store of another array, and a store this site published to that is now empty;
3. notice a store rolled back (a site's newest segment older than this site saw) and, if
   so, stop assuming anything is in it;
4. fetch the segments the site has not read, walking each site's chain back from the head,
   each verified against its name; install the union (:func:`.site.receive.receive`);
5. publish, as one segment under this site's prefix, every record the store is not known to
   hold, then name it in the head by compare-and-swap; a lost race starts again at 1 (the
   segment is already stored, so only the head is written again).

No merge base exists anywhere: nothing can go stale, nothing for retention to delete. A
no-op round is one GET.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from casman.db import records as record_store
from casman.db.connection import open_databases
from casman.db.schema import DATABASE_NAMES
from casman.domain.records import ChangeRecord
from casman.domain.timestamps import now_iso
from casman.storage.errors import ObjectNotFoundError, PreconditionFailedError
from casman.sync.errors import (
    ArrayMismatchError,
    DamagedObjectError,
    StoreMissingError,
    SyncBusyError,
    SyncError,
)
from casman.sync.fold import Conflict
from casman.sync.offsite import note_offsite
from casman.sync.session import Session
from casman.sync.site.receive import receive
from casman.sync.site.state import SiteState, StoreState, store_location
from casman.sync.store import segments
from casman.sync.store.head import (
    ArrayIdentity,
    Head,
    SiteTip,
    read_array,
    read_head,
    write_array,
    write_head,
)
from casman.sync.store.legacy import legacy_records

log = logging.getLogger("casman.sync")
LOCK_FILE = ".casman-sync.lock"
MAX_ROUNDS = 8


@dataclass
class SyncOutcome:
    """What one sync did, for the CLI to render."""

    location: str
    array: str
    fetched: int = 0
    published: int = 0
    segments_read: int = 0
    changed_tables: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    founded_store: bool = False
    rolled_back: bool = False
    set_aside: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    republished: bool = False
    rounds: int = 1
    store_empty: bool = False

    @property
    def summary(self) -> str:
        if self.store_empty:
            return "the store holds nothing published yet; nothing to receive"
        if self.founded_store:
            return f"created the store's array and published {self.published} change(s)"
        done = []
        if self.fetched:
            done.append(f"received {self.fetched} change(s)")
        if self.published:
            done.append(f"published {self.published} change(s)")
        if self.rolled_back:
            done.insert(0, "the store had lost changes (rolled back); published them again")
        elif self.republished:
            done.insert(0, "the store had damaged or lost changes; published them again")
        return "; ".join(done) if done else "in sync; nothing to do"


@contextlib.contextmanager
def site_lock(database_dir: Path, wait: float = 30.0) -> Iterator[None]:
    """One sync at a time per site; a second one waits ``wait`` seconds, then says so."""
    import fcntl

    database_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(database_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise SyncBusyError(
                        f"another sync of {database_dir} is running; try again when it "
                        "has finished (your changes are safe in the database meanwhile)"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def _local_array(conn: sqlite3.Connection) -> str | None:
    return record_store.get_meta(conn, record_store.META_ARRAY)


def _set_local_array(conn: sqlite3.Connection, array: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        record_store.ensure_tables(conn)
        record_store.set_meta(conn, record_store.META_ARRAY, array)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _has_records(conn: sqlite3.Connection) -> bool:
    return record_store.record_count(conn) > 0


def _ensure_genesis(conn: sqlite3.Connection) -> None:
    """An adopted database gets its genesis records (and array id) before it syncs."""
    if record_store.record_count(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        record_store.ensure_tables(conn)
        record_store.write_genesis(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _fetch(
    session: Session, head: Head, state: StoreState, site_state: SiteState, outcome: SyncOutcome
) -> tuple[list[ChangeRecord], list[str]]:
    already = site_state.segments_read(state.location)
    found: list[ChangeRecord] = []
    read: list[str] = []
    for _site, tip in sorted(head.sites.items()):
        key: str | None = tip.key
        chain: list[str] = []
        whole = True
        while key is not None and key not in already and key not in read and key not in chain:
            try:
                segment = segments.download(session.storage, key)
            except (ObjectNotFoundError, DamagedObjectError) as error:
                problem = (
                    f"{key}: missing" if isinstance(error, ObjectNotFoundError) else str(error)
                )
                log.warning("%s", problem)
                outcome.set_aside.append(problem)
                outcome.damaged.append(key)
                whole = False
                break
            found.extend(segment.records)
            for problem in segment.refused:
                log.warning("%s", problem)
                outcome.set_aside.append(problem)
            chain.append(key)
            key = segment.previous
        # a chain broken by a damaged segment is walked again next time, so the damage is
        # noted in the head until a site holding its records has published them again
        if whole:
            read.extend(chain)
    return found, read


def _check_array(session: Session, conn: sqlite3.Connection, head: Head, location: str) -> str:
    local = _local_array(conn)
    if local is None:
        if _has_records(conn):  # pragma: no cover - records always come with an array id
            raise ArrayMismatchError("this database has changes but no array id")
        _set_local_array(conn, head.array)
        return head.array
    if local != head.array and _adopted_into_converted(session, local):
        _set_local_array(conn, head.array)
        return head.array
    if local != head.array:
        raise ArrayMismatchError(
            f"this database belongs to array {local}, the store at {location} holds array "
            f"{head.array}; they are unrelated histories. `casman sync join` merges this "
            "database into the store's array (nothing is lost), or choose another store"
        )
    return local


def _held_damaged(head: Head, me: str | None, read: set[str]) -> set[str]:
    """The segments the head says are damaged whose records this site holds (its own, or
    ones it read before they were damaged): it publishes everything again."""
    return {
        key
        for key in head.damaged
        if key in read or (me is not None and key.startswith(f"log/{me}/"))
    }


def _adopted_into_converted(session: Session, local: str) -> bool:
    """A database adopted from its rows (a casman 0.x or round-2 database) meeting a store
    converted from round 2: it synced with that store before the upgrade, so it belongs
    (a database casman creates now has a random array id, never a genesis one)."""
    if not local.startswith(record_store.GENESIS_ARRAY_PREFIX):
        return False
    identity = read_array(session.storage)
    return identity is not None and identity.converted


def _rolled_back(head: Head, state: StoreState) -> bool:
    for site, seq in state.tips.items():
        tip = head.sites.get(site)
        if tip is None or tip.seq < seq:
            return True
    return False


class _NothingToFollow(Exception):
    """A fetch-only sync (``publish=False``) found an empty store: nothing to receive."""


def _open_store(
    session: Session, conn: sqlite3.Connection, state: StoreState, publish: bool = True
) -> tuple[Head, bool]:
    """The head to work on, founding the store if it is new and empty (only when
    publishing: a fetch-only sync, e.g. a consumer following the store, never writes)."""
    head = read_head(session.storage)
    if head is not None:
        return head, False
    identity = read_array(session.storage)
    if identity is not None:
        return Head(identity.array), False
    if state.known:
        raise StoreMissingError(
            f"the store at {state.location} is empty, but this site published to it (array "
            f"{state.array_id}, last contact {state.last_contact or 'unknown'}): is it "
            "mounted? Nothing was sent. If it was wiped on purpose, `casman sync join` "
            "publishes everything this site has again"
        )
    if not publish:
        raise _NothingToFollow
    converted = legacy_records(session.storage)
    if converted is not None:
        log.info("converting a round-2 store: %d rows become records", len(converted))
        receive(conn, converted)
    array = _local_array(conn) or record_store.new_array_id()
    identity = write_array(
        session.storage, ArrayIdentity(array, now_iso(), converted=converted is not None)
    )
    return Head(identity.array), identity.array == array


def _store_is_empty(session: Session) -> bool:
    return read_head(session.storage) is None and read_array(session.storage) is None


def converge(session: Session, *, publish: bool = True, wait: float = 30.0) -> SyncOutcome:
    """One sync: fetch what the site lacks, publish what the store lacks.

    ``publish=False`` (a consumer following the store) only fetches: it writes nothing to
    the store, and creates no database before the store has something to give.
    """
    with site_lock(session.database_dir, wait):
        missing = not all((session.database_dir / name).is_file() for name in DATABASE_NAMES)
        if not publish and missing and _store_is_empty(session):
            return SyncOutcome(store_location(session.storage), "", store_empty=True)
        conn = open_databases(session.database_dir)
        try:
            return _converge(session, conn, publish)
        except _NothingToFollow:
            return SyncOutcome(store_location(session.storage), "", store_empty=True)
        finally:
            conn.close()


def _converge(session: Session, conn: sqlite3.Connection, publish: bool) -> SyncOutcome:
    site_state = SiteState(session.database_dir)
    _forget_if_replaced(conn, site_state)
    location = store_location(session.storage)
    state = site_state.load(location)
    _ensure_genesis(conn)
    for round_number in range(1, MAX_ROUNDS + 1):
        head, founded = _open_store(session, conn, state, publish)
        array = _check_array(session, conn, head, location)
        outcome = SyncOutcome(location, array, founded_store=founded, rounds=round_number)
        everything = False  # publish every record this site holds, in one segment
        if _rolled_back(head, state):
            log.warning("the store at %s was rolled back; publishing again", location)
            outcome.rolled_back = True
            site_state.forget_store(location)
            state.tips, state.own_key, state.published_seq = {}, None, 0
            everything = True
        me = record_store.get_meta(conn, record_store.META_SITE)
        held = _held_damaged(head, me, site_state.segments_read(location))
        if held:
            log.warning("the store lost or damaged changes this site holds; publishing again")
            outcome.republished = True
            site_state.forget_store(location)
            state.own_key = None  # the new segment holds everything: no chain behind it
            state.published_seq = 0
            everything = True
        found, read = _fetch(session, head, state, site_state, outcome)
        received = receive(conn, found)
        site_state.mark_published(location, (r.id for r in found))
        site_state.mark_read(location, read)
        outcome.fetched = received.new
        outcome.segments_read = len(read)
        outcome.changed_tables = received.changed_tables
        outcome.conflicts = received.conflicts
        state.array_id = array
        state.last_contact = now_iso()
        pending: list[ChangeRecord] = []
        newest_seq = state.published_seq
        if publish:
            newest_seq, candidates = record_store.records_after(conn, state.published_seq)
            # a segment that starts a new chain must hold everything: records this round
            # found in the store sit in segments its chain no longer reaches
            published = set()
            if candidates and not everything:
                published = site_state.published(location)
            pending = [r for r in candidates if r.id not in published]
        own_tip = head.sites.get(me) if me else None
        stale_tip = (
            me is not None
            and state.own_key is not None
            and (own_tip is None or own_tip.key != state.own_key)
        )
        damaged = (set(head.damaged) - held) | set(outcome.damaged)
        if held:  # their records go out again in a new chain that does not name them
            damaged -= held | {k for k in damaged if me is not None and k.startswith(f"log/{me}/")}
        if not publish or (
            not pending and not stale_tip and not founded and damaged == set(head.damaged)
        ):
            state.tips = {s: t.seq for s, t in head.sites.items()}
            if publish:
                state.published_seq = newest_seq  # everything up to it is in the store
            site_state.save(state)
            _bind(conn, site_state)
            if publish:
                note_offsite(session.database_dir, conn, state.last_contact, location)
            return outcome
        if me is None:
            me = _claim_site_id(conn)
        if pending:
            seq = max(state.own_seq, own_tip.seq if own_tip else 0) + 1
            # a republished segment holds everything: it starts a new chain, so no
            # reader walks into the damaged segment again (and notes it again, forever)
            previous = state.own_key or (own_tip.key if own_tip and not held else None)
            key = segments.upload(session.storage, me, seq, previous, pending)
            site_state.mark_published(location, (r.id for r in pending))
            state.own_key, state.own_seq, state.published_seq = key, seq, newest_seq
            site_state.save(state)  # a crash after this still knows its newest segment
            site_state.mark_read(location, [key])  # its records are this site's own
            outcome.published = len(pending)
        new_head = replace(head, damaged=tuple(sorted(damaged)))
        if state.own_key is not None:
            new_head = new_head.with_tip(me, SiteTip(state.own_seq, state.own_key))
        try:
            written = write_head(session.storage, new_head, head if head.etag is not None else None)
        except PreconditionFailedError:
            log.info("another site replaced the head meanwhile; another round")
            continue
        state.tips = {s: t.seq for s, t in written.sites.items()}
        site_state.save(state)
        _bind(conn, site_state)
        note_offsite(session.database_dir, conn, state.last_contact, location)
        return outcome
    raise SyncError(
        f"the store's head changed {MAX_ROUNDS} times while syncing (many sites at once?); "
        "your changes are published, run `casman sync sync` again to name them in the head"
    )


def _newest_seq(conn: sqlite3.Connection) -> int:
    if not record_store.has_record_tables(conn):
        return 0
    row = conn.execute("SELECT MAX(seq) FROM main.casman_changes").fetchone()
    return int(row[0] or 0)


def _forget_if_replaced(conn: sqlite3.Connection, site_state: SiteState) -> None:
    """Records never leave a database, so one holding fewer than the state last saw, or
    made by another site, is not the database the state describes (set aside and
    rebuilt, deleted, an older copy put back): what the state says was read or published
    is untrue of it, and trusting it would leave the rebuilt database empty and chain its
    next segment to another site's."""
    bound = site_state.binding()
    if bound is None:
        return
    site, seq = bound
    me = record_store.get_meta(conn, record_store.META_SITE)
    if _newest_seq(conn) < seq or (site is not None and me != site):
        log.warning("this site's databases were replaced; reading the store again")
        site_state.forget_everything()


def _bind(conn: sqlite3.Connection, site_state: SiteState) -> None:
    site_state.bind(record_store.get_meta(conn, record_store.META_SITE), _newest_seq(conn))


def _claim_site_id(conn: sqlite3.Connection) -> str:
    conn.execute("BEGIN IMMEDIATE")
    try:
        record_store.ensure_tables(conn)
        site = record_store.site_id(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return site


def join(session: Session) -> SyncOutcome:
    """Make this database and this store one array, explicitly (like git's unrelated
    histories): an empty store is seeded again with everything this site has; a store of
    another array is joined (this database takes its id; the records are united)."""
    with site_lock(session.database_dir):
        conn = open_databases(session.database_dir)
        try:
            location = store_location(session.storage)
            site_state = SiteState(session.database_dir)
            site_state.forget_store(location)
            state = site_state.load(location)
            state.array_id, state.tips, state.own_key = None, {}, None
            state.published_seq = 0
            site_state.save(state)
            _ensure_genesis(conn)
            head = read_head(session.storage)
            identity = read_array(session.storage)
            store_array = head.array if head else identity.array if identity else None
            if store_array is not None:
                _set_local_array(conn, store_array)
            return _converge(session, conn, True)
        finally:
            conn.close()
