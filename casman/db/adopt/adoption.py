"""Adopting an older CAsMan installation: read it as it is, convert it on the first write.

Three entry points share one plan (:mod:`casman.db.adopt.plan`):

* :func:`adopted_view`: for reading commands. The files are opened read-only, copied into
  memory, and the copy is adopted; nothing on disk changes (not even the journal mode).
* :func:`migrate`: ``casman database migrate`` and the first writing command. Inside one
  ``BEGIN IMMEDIATE`` over both files (rollback-journal files commit both or neither), the
  plan is made again under the lock, proved on an in-memory copy, the files are copied
  byte for byte to ``safety/before-adoption-STAMP/``, and only then rewritten.
* :func:`adopt_attached`: what the writer's opener does with one attached file, for the
  callers that do not go through the CLI (the sync engine).

Anything casman cannot read is refused with one line (:class:`AdoptionRefusedError`)
before any byte is written.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from casman.db.adopt.apply import apply_plan, check_plans, in_memory_copy
from casman.db.adopt.layout import LayoutRefused, read_layout
from casman.db.adopt.plan import Context, FilePlan, PlanRefused, clashing_numbers, plan_file
from casman.db.adopt.rules import read_part
from casman.db.adopt.times import Zone, machine_zone, map_time
from casman.db.adopt_mark import quick_current
from casman.db.connection import ASSEMBLY_SCHEMA, BUSY_TIMEOUT_MS, DatabaseFileError
from casman.db.schema import ASSEMBLY_DB, PARTS_DB
from casman.fileio import atomic_write_bytes, fsync_directory

SAFETY_FOLDER = "safety"
SAFETY_PREFIX = "before-adoption-"
Target = tuple[str, str, Path]
"""(schema, database name, path) of one attached file."""


class AdoptionRefusedError(DatabaseFileError):
    """The files hold something casman cannot read; nothing was changed."""


@dataclass
class Adoption:
    """What adopting a directory found (and, unless a dry run, did)."""

    zone: Zone
    plans: list[FilePlan]
    applied: bool = False
    safety_copies: list[Path] = field(default_factory=list)

    @property
    def substantive(self) -> bool:
        return any(plan.substantive for plan in self.plans)

    @property
    def writes(self) -> bool:
        return any(plan.writes for plan in self.plans)


def _targets(directory: Path, *, existing_only: bool) -> list[Target]:
    targets = [
        ("main", PARTS_DB, directory / PARTS_DB),
        (ASSEMBLY_SCHEMA, ASSEMBLY_DB, directory / ASSEMBLY_DB),
    ]
    return [t for t in targets if t[2].is_file()] if existing_only else targets


def _refused(error: Exception) -> AdoptionRefusedError:
    return AdoptionRefusedError(str(error))


def build_plans(conn: sqlite3.Connection, targets: Sequence[Target], zone: Zone) -> list[FilePlan]:
    """The plan of each attached file in ``targets`` (reads only)."""
    try:
        layouts = [read_layout(conn, schema, db_name, path) for schema, db_name, path in targets]
        parts = next((layout for layout in layouts if layout.db_name == PARTS_DB), None)
        clashes = clashing_numbers(conn, parts) if parts is not None else frozenset()
        context = Context(zone, clashes)
        return [plan_file(conn, layout, context) for layout in layouts]
    except (LayoutRefused, PlanRefused) as error:
        raise _refused(error) from None
    finally:
        read_part.cache_clear()  # a long-running reader (the web) keeps no old numbers
        map_time.cache_clear()


def _open_read_only(directory: Path) -> sqlite3.Connection:
    """Both files read-only (``mode=ro``: SQLite writes and creates nothing); a file that is
    not there is an empty in-memory stand-in, so a plan can say what it would create."""
    parts, assembly = directory / PARTS_DB, directory / ASSEMBLY_DB
    main = f"{parts.resolve().as_uri()}?mode=ro" if parts.is_file() else ":memory:"
    conn = sqlite3.connect(
        main,
        uri=True,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        other = f"{assembly.resolve().as_uri()}?mode=ro" if assembly.is_file() else ":memory:"
        conn.execute(f"ATTACH DATABASE ? AS {ASSEMBLY_SCHEMA}", (other,))
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _all_targets(directory: Path) -> list[Target]:
    return _targets(directory, existing_only=False)


def plan_directory(directory: Path, zone: Zone | None = None) -> Adoption:
    """What adopting ``directory`` would do (a dry run: nothing is written, no lock taken).

    The plan is also applied to an in-memory copy, so a plan that cannot be applied is
    refused here exactly as the migration would refuse it.
    """
    zone = zone or machine_zone()
    try:
        conn = _open_read_only(directory)
    except sqlite3.Error as error:
        raise DatabaseFileError(f"cannot read the databases in {directory} ({error})") from None
    try:
        try:
            plans = build_plans(conn, _all_targets(directory), zone)
        except sqlite3.DatabaseError as error:
            raise DatabaseFileError(
                f"cannot read the databases in {directory} as SQLite ({error}); restore "
                "them with `casman sync restore KEY` or point CASMAN_DATABASE_DIR elsewhere"
            ) from None
        if any(plan.writes for plan in plans):
            copy = in_memory_copy(conn, ["main", ASSEMBLY_SCHEMA])
            try:
                check_plans(copy, plans)
            except PlanRefused as error:
                raise _refused(error) from None
            finally:
                copy.close()
    finally:
        conn.close()
    return Adoption(zone, plans)


_AS_THEY_ARE: set[tuple[object, ...]] = set()
"""Files (by their stat) whose plan changes no content: a reader that opens them often (the
web, per request) plans them once, not at every open, until casman's writer marks them."""


def _files_state(directory: Path) -> tuple[object, ...]:
    state: list[object] = [str(directory.resolve())]
    for name in (PARTS_DB, ASSEMBLY_DB):
        for suffix in ("", "-wal"):
            try:
                info = (directory / f"{name}{suffix}").stat()
                state.append((info.st_ino, info.st_size, info.st_mtime_ns))
            except OSError:
                state.append(None)
    return tuple(state)


def adopted_view(directory: Path, zone: Zone | None = None) -> sqlite3.Connection | None:
    """A read-only, in-memory connection over ``directory`` adopted, or None when the files
    need nothing that changes their content (read them as they are).

    Shaped like the openers' connections: ``parts.db`` as ``main``, ``assembled_casm.db``
    as ``asm``, rows as :class:`sqlite3.Row`, autocommit, every write refused.
    """
    try:
        conn = _open_read_only(directory)
    except sqlite3.Error:
        return None  # not a database casman can plan: the opener says what is wrong
    key = _files_state(directory)
    if key in _AS_THEY_ARE:
        return None
    try:
        targets = _targets(directory, existing_only=True)
        if _all_current(conn, targets):
            return None
        plans = build_plans(conn, _all_targets(directory), zone or machine_zone())
        if not any(plan.reads_differently for plan in plans):
            _AS_THEY_ARE.add(key)
            return None
        copy = in_memory_copy(conn, ["main", ASSEMBLY_SCHEMA])
    except sqlite3.DatabaseError:
        return None  # not a database casman can plan: the opener says what is wrong
    finally:
        conn.close()
    try:
        check_plans(copy, plans)
    except PlanRefused as error:
        copy.close()
        raise _refused(error) from None
    copy.execute("PRAGMA query_only = 1")
    copy.row_factory = sqlite3.Row
    return copy


def _quick_current(conn: sqlite3.Connection, target: Target) -> bool:
    """The everyday path: marked, current, complete (the full layout only when not)."""
    schema, db_name, _ = target
    return quick_current(conn, schema, db_name)


def _all_current(conn: sqlite3.Connection, targets: Sequence[Target]) -> bool:
    """Whether every file is casman's as it is (refuses what casman cannot read)."""
    try:
        return all(
            _quick_current(conn, target) or read_layout(conn, *target).current for target in targets
        )
    except LayoutRefused as error:
        raise _refused(error) from None


def needs_adoption(directory: Path) -> bool:
    """Whether the files in ``directory`` are not (yet) casman's as they are."""
    try:
        conn = _open_read_only(directory)
    except sqlite3.Error:
        return False
    try:
        return not _all_current(conn, _targets(directory, existing_only=True))
    except sqlite3.DatabaseError:
        return False  # not a database casman can plan: the opener says what is wrong
    finally:
        conn.close()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d_%H%M%S")


def _safety_folder(directory: Path) -> Path:
    base = directory / SAFETY_FOLDER / f"{SAFETY_PREFIX}{_stamp()}"
    folder, counter = base, 1
    while folder.exists():
        counter += 1
        folder = base.with_name(f"{base.name}.{counter}")
    return folder


def write_safety_copy(conn: sqlite3.Connection, schema: str, target: Path) -> Path:
    """The file of ``schema`` as ``conn`` sees it, written to ``target`` durably.

    ``serialize`` reads the pages through SQLite under the caller's lock, so the copy is
    consistent (WAL content included) and, for a rollback-journal file, byte for byte the
    file on disk. Written to a temp file, fsynced, renamed, and the folder fsynced.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, conn.serialize(name=schema))
    fsync_directory(target.parent.parent)
    return target


def _adopt_locked(
    conn: sqlite3.Connection,
    targets: Sequence[Target],
    zone: Zone,
    safety_root: Path,
) -> Adoption:
    """Inside ``conn``'s ``BEGIN IMMEDIATE``: plan, prove, copy, apply (caller commits)."""
    plans = build_plans(conn, targets, zone)
    adoption = Adoption(zone, plans)
    if not adoption.writes:
        return adoption
    if adoption.substantive:
        copy = in_memory_copy(conn, [schema for schema, _, _ in targets])
        try:
            check_plans(copy, plans)
        except PlanRefused as error:
            raise _refused(error) from None
        finally:
            copy.close()
        folder = _safety_folder(safety_root)
        for (schema, db_name, path), plan in zip(targets, plans, strict=True):
            if plan.layout.empty or not path.exists():
                continue
            adoption.safety_copies.append(write_safety_copy(conn, schema, folder / db_name))
    for plan in plans:
        try:
            apply_plan(conn, plan)
        except sqlite3.IntegrityError as error:
            raise _refused(PlanRefused(f"{plan.layout.path}: {error}")) from None
    adoption.applied = True
    return adoption


def migrate(directory: Path, zone: Zone | None = None) -> Adoption:
    """Convert the older files in ``directory`` in place, in one transaction.

    Nothing is written when the files are already casman's (``applied`` is False). The
    files keep their journal mode during it, so two rollback-journal files commit together;
    then they are switched to WAL, as the writer's opener would.
    """
    zone = zone or machine_zone()
    # refuse before SQLite creates a missing file; the plan is made again under the lock
    if not plan_directory(directory, zone).writes:
        return Adoption(zone, [])
    parts = directory / PARTS_DB
    try:
        conn = sqlite3.connect(
            parts, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute(f"ATTACH DATABASE ? AS {ASSEMBLY_SCHEMA}", (str(directory / ASSEMBLY_DB),))
    except sqlite3.Error as error:
        raise DatabaseFileError(f"cannot open the databases in {directory} ({error})") from None
    targets = _all_targets(directory)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if all(quick_current(conn, schema, name) for schema, name, _ in targets):
                adoption = Adoption(zone, [])  # another process adopted them while we waited
            else:
                adoption = _adopt_locked(conn, targets, zone, directory)
            conn.execute("COMMIT" if adoption.applied else "ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if adoption.applied:
            _switch_to_wal(conn)
    except sqlite3.OperationalError as error:
        raise DatabaseFileError(f"cannot adopt the databases in {directory} ({error})") from None
    finally:
        conn.close()
    return adoption


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """What the writer's opener does next, done here with patience.

    Switching a rollback-journal file to WAL needs it alone for an instant. Another
    process's first command may hold the write lock just then (it waited for this
    migration and is finding the files adopted); SQLite answers "locked" at once rather
    than wait, to avoid a deadlock, so the switch is retried for up to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    for schema in ("main", ASSEMBLY_SCHEMA):
        while True:
            try:
                conn.execute(f"PRAGMA {schema}.journal_mode = WAL").fetchone()
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


def adopt_attached(conn: sqlite3.Connection, schema: str, db_name: str, path: Path) -> bool:
    """The writer's opener's step for one attached file: nothing when it is casman's,
    else adopt it in place (safety copy first). Returns whether anything was written.

    Raises :class:`AdoptionRefusedError` (nothing written) for what casman cannot read.
    """
    target: Target = (schema, db_name, path)
    if _all_current(conn, [target]):
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        adoption = _adopt_locked(conn, [target], machine_zone(), path.parent)
        conn.execute("COMMIT" if adoption.applied else "ROLLBACK")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return adoption.applied
