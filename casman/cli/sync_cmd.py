"""``casman sync``: backup, list, restore, sync, status, maintain on a storage backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import click

from casman.cli.common import get_config, json_option, print_json
from casman.cli.text import printable
from casman.db.schema import ASSEMBLY_DB, DATABASE_NAMES, PARTS_DB
from casman.errors import CasmanError

T = TypeVar("T")
_WOULD = (
    ("published", "would publish"),
    ("merged", "would merge"),
    ("fast-forwarded", "would fast-forward"),
    ("in sync; nothing to do", "nothing to do"),
)


def would(action: str) -> str:
    """A real run's action, said as what a dry run would do."""
    for done, planned in _WOULD:
        if action.startswith(done):
            return planned + action[len(done) :]
    return action


SYNC_DISABLED = (
    "sync is disabled (database.sync.enabled: false, backend: disabled or "
    "CASMAN_SYNC_ENABLED=false), so nothing is sent to any backend; enable it with "
    "CASMAN_SYNC_ENABLED=true or database.sync.enabled: true in config.yaml"
)


def _require_sync(ctx: click.Context) -> None:
    if not get_config(ctx).sync.enabled:
        raise CasmanError(SYNC_DISABLED)


def _context(
    ctx: click.Context, purpose: str, *, flush_outbox: bool = True, quick: bool = False
) -> Any:
    """The sync context of a command; first publishes what waits in the outbox.

    ``quick`` (status, list: they only report) opens the backend with the short timeouts
    of automatic work, so a dead link is reported in seconds, not minutes.
    """
    from casman.cli.progress import show_progress_on_terminal
    from casman.storage.plugins import open_storage
    from casman.sync.context import SyncContext

    _require_sync(ctx)
    config = get_config(ctx)
    show_progress_on_terminal()
    storage = open_storage(config, _backend_option(ctx), purpose=purpose, automatic=quick)
    context = SyncContext(config, storage)
    if flush_outbox:
        _publish_outbox(context, wait=60.0)
    return context


def _publish_outbox(context: Any, wait: float) -> Any:
    """Publish queued automatic backups (in order); one line on stderr for what happened."""
    from casman.sync.outbox import OutboxBusyError, entries, flush, locked, snapshot_due
    from casman.sync.tracker import ScanTracker

    tracks = ScanTracker(context.database_dir).read().databases.values()
    due = any(t.queued_serial > t.backed_up_serial for t in tracks)
    if not due and not entries(context.database_dir):
        return None
    try:
        with locked(context.database_dir, wait=wait):
            snapshot_due(context)
            report = flush(context)
    except OutboxBusyError as error:
        click.echo(f"⚠ {error}; queued backups stay queued", err=True)
        return None
    done = report.published + report.merged
    if done:
        click.echo(f"✓ published {len(done)} queued backup(s): {', '.join(done)}", err=True)
    if report.error:
        click.echo(
            f"⚠ {report.remaining} backup(s) stay queued: {printable(report.error)}", err=True
        )
    return report


def _backend_option(ctx: click.Context) -> str | None:
    """The ``--backend`` given to the ``sync`` group (None: the configured default)."""
    options = ctx.find_object(dict) or {}
    value = options.get("backend")
    return str(value) if value else None


def _selected(parts: bool, assembled: bool) -> list[str]:
    if parts and not assembled:
        return [PARTS_DB]
    if assembled and not parts:
        return [ASSEMBLY_DB]
    return list(DATABASE_NAMES)


def _size(size: object) -> str:
    if not isinstance(size, int):
        return "-"
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KB", "MB", "GB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GB":
            break
    return f"{scaled:.1f} {unit}"


def _rehearse(ctx: click.Context, purpose: str, action: Callable[[Any], T]) -> tuple[T, Any]:
    """Run ``action`` for real in a sandbox whose writes are recorded, never sent."""
    from casman.sync.dryrun import dry_run

    return dry_run(_context(ctx, purpose, flush_outbox=False), action)


def _print_plan(ctx: click.Context, plan: Any, as_json: bool = False) -> None:
    """What a real run would send, request by request, and its quota cost."""
    if as_json:
        print_json(
            {
                "requests": [asdict(r) for r in plan.requests],
                "totals": plan.totals(),
            }
        )
        return
    name = _backend_option(ctx) or get_config(ctx).sync.backend
    click.echo(
        f"Dry run on backend {name}: nothing is written (the reads are sent: they decide "
        "the plan). A real run would send:"
    )
    for request in plan.requests:
        cost = f"Class {request.billing_class}" if request.billing_class else "free"
        note = "" if not request.sent else "  (read now)"
        click.echo(f"  {request.kind.upper():<6} {printable(request.key)}  ({cost}){note}")
    summary = ", ".join(f"{count} {name}" for name, count in sorted(plan.totals().items()))
    click.echo(f"Quota cost: {summary or 'none'}")


@click.group()
@click.option(
    "--backend",
    envvar="CASMAN_SYNC_BACKEND",
    help="Storage backend name (default: database.sync.backend, else local).",
)
@click.pass_context
def sync(ctx: click.Context, backend: str | None) -> None:
    """Back up, list, restore and sync the databases with a storage backend."""
    ctx.ensure_object(dict)
    ctx.obj["backend"] = backend


@sync.command("backup")
@click.argument("databases", nargs=-1, type=click.Choice(DATABASE_NAMES), metavar="[DATABASE]...")
@click.option("--parts", is_flag=True, help="Only parts.db.")
@click.option("--assembled", is_flag=True, help="Only assembled_casm.db.")
@click.option("--force", is_flag=True, help="Upload even if identical to the newest backup.")
@click.option("--dry-run", is_flag=True, help="Show the requests and quota cost; send nothing.")
@click.option("--operation", default="Manual backup", help="Text stored in the metadata.")
@json_option
@click.pass_context
def backup(
    ctx: click.Context,
    databases: tuple[str, ...],
    parts: bool,
    assembled: bool,
    force: bool,
    dry_run: bool,
    operation: str,
    as_json: bool,
) -> None:
    """Publish the databases (both, or each DATABASE named: parts.db, assembled_casm.db).

    Never overwrites a backup and never hides another site's work: a database that also
    changed on the store is merged first.
    """
    names = list(databases) if databases else _selected(parts, assembled)
    from casman.sync.backup import backup_database

    if dry_run:
        _, plan = _rehearse(
            ctx,
            "backup",
            lambda c: [backup_database(c, name, operation, force=force) for name in names],
        )
        _print_plan(ctx, plan, as_json)
        return

    context = _context(ctx, "backup")
    results = [backup_database(context, name, operation, force=force) for name in names]
    if as_json:
        print_json([asdict(result) for result in results])
        return
    for result in results:
        if result.key:
            how = (
                "merged with the other sites' work and published"
                if result.merged
                else ("backed up to")
            )
            click.echo(f"✓ {result.db_name}: {how} {result.key}")
            if result.conflicts:
                click.echo(
                    f"  ⚠ {result.conflicts} conflict(s) found by the merge; "
                    "see `casman sync status`"
                )
        elif result.unchanged_since:
            click.echo(
                f"✓ {result.db_name}: unchanged since {result.unchanged_since}; not uploaded"
            )
        else:
            click.echo(f"• {result.db_name} ({result.relation}): {result.note}")
        for key in result.deleted:
            click.echo(f"  retention: deleted {key}")


@sync.command("list")
@click.option("--db", "db_name", type=click.Choice(DATABASE_NAMES), help="Only this database.")
@json_option
@click.pass_context
def list_(ctx: click.Context, db_name: str | None, as_json: bool) -> None:
    """List backups with their metadata, newest first (every page)."""
    from casman.sync.head import load_head

    context = _context(ctx, "list", flush_outbox=False, quick=True)
    described = [
        {
            "key": version.key,
            "database": name,
            "timestamp": version.taken_at,
            "size": version.size,
            "records": version.records,
            "operation": version.operation,
            "sha256": version.sha256,
            "casman_version": version.casman_version,
            "host": version.site,
            "parents": list(version.parents),
            "head": index == 0,
        }
        for name in ([db_name] if db_name else list(DATABASE_NAMES))
        for index, version in enumerate(load_head(context, name).versions)
    ]
    if as_json:
        print_json(described)
        return
    if not described:
        click.echo("No backups found. Create one with `casman sync backup`.")
        return
    click.echo(f"Available Backups ({len(described)}):")
    click.echo("=" * 80)
    for item in described:
        sha = printable(item["sha256"] or "-")
        click.echo(f"\n{printable(item['key'])}")
        click.echo(f"  Database:    {printable(item['database'])}")
        click.echo(f"  Timestamp:   {printable(item['timestamp'])}")
        click.echo(f"  Size:        {_size(item['size'])}")
        click.echo(f"  Records:     {item['records']}")
        click.echo(f"  Operation:   {printable(item['operation'])}")
        click.echo(f"  Host:        {printable(item['host'] or '-')}")
        click.echo(f"  Checksum:    {sha[:12]}…")


@sync.command("restore")
@click.argument("what", metavar="KEY|DATABASE|latest")
@click.option(
    "--at",
    "at",
    help="With a database name: the newest version taken at or before this time (ISO 8601).",
)
@click.option(
    "--no-backup", is_flag=True, help="Skip the remote safety backup of the current database."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before replacing (on a terminal).")
@click.option("--dry-run", is_flag=True, help="Show the requests and quota cost; send nothing.")
@click.pass_context
def restore_(
    ctx: click.Context, what: str, at: str | None, no_backup: bool, yes: bool, dry_run: bool
) -> None:
    """Restore a backup after verifying it; keeps local (and remote) safety copies.

    WHAT is a backup key (from `casman sync list`), a database name (its newest version;
    with --at, the newest taken at or before that time), or `latest` (both databases).
    """
    import sys

    from casman.sync.restore import resolve_targets, restore

    if dry_run:
        _, plan = _rehearse(
            ctx,
            "restore",
            lambda c: [
                restore(c, key, remote_backup=not no_backup) for key in resolve_targets(c, what, at)
            ],
        )
        _print_plan(ctx, plan)
        return
    context = _context(ctx, "restore")
    keys = resolve_targets(context, what, at)
    if sys.stdin.isatty() and not yes:
        listed = ", ".join(keys)
        click.confirm(
            f"Replace the local database(s) with {listed}? (a safety copy is kept)",
            abort=True,
            err=True,
        )
    for key in keys:
        result = restore(context, key, remote_backup=not no_backup)
        click.echo(f"✓ restored {result.db_name} from {result.key} ({result.records} records)")
        if result.local_safety_copy:
            click.echo(f"  local safety copy: {result.local_safety_copy}")
        if result.remote_safety_backup:
            click.echo(f"  remote safety backup: {result.remote_safety_backup}")


@sync.command("sync")
@click.option("--parts", is_flag=True, help="Only parts.db.")
@click.option("--assembled", is_flag=True, help="Only assembled_casm.db.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what would be done (push, fast-forward, merge); write nothing.",
)
@json_option
@click.pass_context
def sync_(ctx: click.Context, parts: bool, assembled: bool, dry_run: bool, as_json: bool) -> None:
    """Converge with the store: publish local work, fetch other sites' work, merge both.

    Nothing is lost: a database that changed here and on the store is merged (parts and
    connection events of both sides kept, clashes reported as conflicts) and the merge is
    published; a local safety copy is kept before anything local is replaced.
    """
    from casman.sync.converge import converge

    names = _selected(parts, assembled)
    plan = None
    if dry_run:
        results, plan = _rehearse(ctx, "sync", lambda c: [converge(c, n) for n in names])
        for result in results:
            result.action = would(result.action)
            result.safety_copy = None  # it was made in the sandbox, which is gone
    else:
        context = _context(ctx, "sync")
        results = [converge(context, n) for n in names]
    if as_json:
        print_json(
            [
                {
                    "database": r.db_name,
                    "relation": r.relation.value,
                    "action": r.action,
                    "published": r.published,
                    "downloaded": r.downloaded,
                    "safety_copy": str(r.safety_copy) if r.safety_copy else None,
                    "conflicts": [asdict(c) for c in r.conflicts],
                    "dry_run": dry_run,
                    "requests": [
                        asdict(q)
                        for q in plan.requests
                        if q.key.startswith(f"backups/{r.db_name}/")
                    ]
                    if plan is not None
                    else None,
                }
                for r in results
            ]
        )
        return
    for r in results:
        click.echo(f"✓ {r.db_name} ({r.relation.value}): {printable(r.action)}")
        if r.safety_copy:
            click.echo(f"  local safety copy: {r.safety_copy}")
        for conflict in r.conflicts:
            click.echo(
                f"  ⚠ conflict ({conflict.kind} {printable(conflict.key)}): "
                f"{printable(conflict.detail)}"
            )
            click.echo(f"      kept:  {printable(conflict.kept)}")
            click.echo(f"      other: {printable(conflict.other)}")
    if plan is not None:
        _print_plan(ctx, plan)


@sync.command("push")
@json_option
@click.pass_context
def push(ctx: click.Context, as_json: bool) -> None:
    """Publish the automatic backups waiting in the outbox now, oldest first."""
    from casman.sync.outbox import entries

    context = _context(ctx, "backup", flush_outbox=False)
    report = _publish_outbox(context, wait=120.0)
    if as_json:
        print_json(asdict(report) if report is not None else {"published": [], "remaining": 0})
    elif report is None:
        click.echo("✓ nothing queued; every automatic backup is off-site")
    if entries(context.database_dir):
        raise CasmanError(
            f"{len(entries(context.database_dir))} backup(s) are still queued; they are "
            "published by the next automatic backup or `casman sync push`"
        )


@sync.command("status")
@json_option
@click.pass_context
def status_(ctx: click.Context, as_json: bool) -> None:
    """Configuration (secrets masked), backend reachability, databases, quota."""
    from casman.cli.quota_view import format_usage
    from casman.domain.timestamps import utc_now
    from casman.sync.status import automatic_backups, status

    config = get_config(ctx)
    if not config.sync.enabled:
        automatic = automatic_backups(config, utc_now())
        if as_json:
            print_json({"enabled": False, "automatic": asdict(automatic)})
            return
        click.echo("Sync is disabled: nothing is sent to any backend.")
        _print_automatic(automatic)
        return
    report = status(_context(ctx, "status", flush_outbox=False, quick=True))
    if as_json:
        data = asdict(report)
        data["quota"] = asdict(report.quota) if report.quota else None
        print_json(data)
        return
    click.echo("Database Sync Status")
    click.echo("=" * 80)
    click.echo("\nConfiguration:")
    click.echo(f"  Enabled:              {report.sync_settings['enabled']}")
    click.echo(f"  Backend:              {report.backend} — {report.description}")
    for name, value in report.settings.items():
        click.echo(f"  {name + ':':<22}{value if value is not None else '(not set)'}")
    click.echo(f"  Keep Versions:        {report.sync_settings['keep_versions']}")
    click.echo(f"  Database directory:   {report.sync_settings['database_dir']}")
    click.echo("\nBackend Status:")
    if report.reachable:
        click.echo(f"  ✓ {report.backend} backend reachable")
    elif report.error and report.error.startswith("not checked"):
        click.echo(f"  ⚠ {report.backend} backend {report.error}")
    else:
        click.echo(f"  ✗ {report.backend} backend not reachable: {report.error}")
    click.echo("\nLocal Databases:")
    for db in report.databases:
        size = _size(db.size) if db.exists else "missing"
        last = db.last_backup_at or "never"
        click.echo(f"  {db.db_name:<20} {size:>10}  {db.relation:<18} last backup: {last}")
    conflicts = report.conflicts
    if conflicts:
        click.echo(f"\nConflicts found by merges, still open ({len(conflicts)}):")
        for conflict in conflicts:
            click.echo(
                f"  ⚠ {printable(conflict.get('kind'))} {printable(conflict.get('key'))}: "
                f"{printable(conflict.get('detail'))}"
            )
            click.echo(f"      kept:  {printable(conflict.get('kept'))}")
            click.echo(f"      other: {printable(conflict.get('other'))}")
    if report.automatic is not None:
        _print_automatic(report.automatic)
    if report.quota is not None:
        click.echo("")
        for line in format_usage(report.quota):
            click.echo(line)


def _hours(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def _print_automatic(automatic: Any) -> None:
    """The spec's "Scan Tracker" block."""
    click.echo("\nScan Tracker (automatic backups):")
    state = "on" if automatic.enabled else "off (database.sync.auto_backup: false)"
    click.echo(f"  Automatic backups:    {state}")
    click.echo(
        f"  Backup on:            every {automatic.backup_on_scan_count} changes or "
        f"{automatic.backup_on_hours:g} hours with changes; after every `parts add`"
    )
    for db in automatic.databases:
        until = (
            f"{db.changes_until_backup} scan(s) until backup"
            if db.changes_until_backup is not None
            else "-"
        )
        hours = (
            f", {_hours(db.hours_until_backup)} until the hours trigger"
            if (db.hours_until_backup is not None)
            else ""
        )
        age = _hours(db.age_hours) if db.age_hours is not None else "never backed up"
        click.echo(
            f"  {db.db_name:<20} {db.changes_since_backup} change(s) since backup; "
            f"{until}{hours}; newest off-site copy: {age}"
        )
    if automatic.outbox:
        click.echo(f"  Outbox:               {len(automatic.outbox)} backup(s) waiting")
        for item in automatic.outbox:
            click.echo(f"    {item['database']} taken {item['taken_at']} ({_size(item['size'])})")
    else:
        click.echo("  Outbox:               empty")
    if automatic.uploader_log:
        click.echo(f"  Last upload:          {printable(automatic.uploader_log)}")


@sync.command("maintain")
@click.option(
    "--deep",
    is_flag=True,
    help="Download every backup and check its SHA-256 (one GET each instead of one HEAD).",
)
@click.option("--dry-run", is_flag=True, help="Show the requests and quota cost; send nothing.")
@json_option
@click.pass_context
def maintain_(ctx: click.Context, deep: bool, dry_run: bool, as_json: bool) -> None:
    """Verify every backup, report non-Standard storage, apply retention."""
    from casman.sync.maintain import maintain

    if dry_run:
        _, plan = _rehearse(ctx, "maintain", lambda c: maintain(c, deep=deep))
        _print_plan(ctx, plan, as_json)
        return

    report = maintain(_context(ctx, "maintain"), deep=deep)
    if as_json:
        print_json(asdict(report))
    else:
        click.echo(f"✓ {len(report.verified)} backup(s) verified: {report.level}")
        for key, problems in report.problems.items():
            click.echo(f"✗ {printable(key)}: {printable('; '.join(problems))} (left in place)")
        for key, storage_class in report.not_standard.items():
            click.echo(
                f"⚠ {key} is in {storage_class} storage, not Standard (check lifecycle rules)"
            )
        for key in report.deleted:
            click.echo(f"  retention: deleted {key}")
        for item in report.tidied:
            click.echo(f"  tidied: {printable(item)}")
    if report.problems:
        raise CasmanError(f"{len(report.problems)} backup(s) failed verification (see above)")
