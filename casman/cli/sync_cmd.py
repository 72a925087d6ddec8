"""``casman sync``: converge with a store, checkpoints, restore, status, conflicts.

Thin: parses, calls the engine (:mod:`casman.sync`), renders. The engine prints nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from casman.cli.common import get_config, json_option, print_json
from casman.cli.text import printable
from casman.errors import CasmanError, UsageError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

SYNC_DISABLED = (
    "sync is disabled (database.sync.enabled: false, backend: disabled or "
    "CASMAN_SYNC_ENABLED=false), so nothing is sent to any backend; enable it with "
    "CASMAN_SYNC_ENABLED=true or database.sync.enabled: true in config.yaml"
)


def _removed(flag: str, instead: str) -> Callable[[F], F]:
    """An option of the old tool, kept hidden so that using it answers with what replaced
    it (one line, exit 2) instead of click's bare "No such option"."""

    def refuse(ctx: click.Context, param: click.Parameter, value: object) -> None:
        if value:
            raise UsageError(f"{flag} is gone: {instead}")

    return click.option(flag, is_flag=True, hidden=True, expose_value=False, callback=refuse)


BOTH_FILES = "both databases always travel together, as one set of changes"


def _require_sync(ctx: click.Context) -> None:
    if not get_config(ctx).sync.enabled:
        raise CasmanError(SYNC_DISABLED)


def _backend_option(ctx: click.Context) -> str | None:
    """The ``--backend`` given to the ``sync`` group (None: the configured default)."""
    options = ctx.find_object(dict) or {}
    value = options.get("backend")
    return str(value) if value else None


def _session(ctx: click.Context, purpose: str, *, quick: bool = False) -> Any:
    """The sync session of a command. ``quick`` (status, list: they only report) uses the
    short timeouts of automatic work, so a dead link is reported in seconds."""
    from casman.cli.progress import show_progress_on_terminal
    from casman.sync.session import open_session

    _require_sync(ctx)
    show_progress_on_terminal()
    return open_session(get_config(ctx), _backend_option(ctx), purpose, automatic=quick)


def _size(size: object) -> str:
    if not isinstance(size, int):
        return "-"
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    unit = "KB"
    for unit in ("KB", "MB", "GB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GB":
            break
    return f"{scaled:.1f} {unit}"


def _print_plan(ctx: click.Context, plan: Any, as_json: bool = False) -> None:
    """What a real run would send, request by request, and its quota cost."""
    if as_json:
        print_json({"requests": [asdict(r) for r in plan.requests], "totals": plan.totals()})
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


def _outcome_json(outcome: Any, dry_run: bool = False) -> dict[str, Any]:
    return {
        "action": outcome.summary,
        "location": outcome.location,
        "array": outcome.array,
        "received": outcome.fetched,
        "published": outcome.published,
        "segments_read": outcome.segments_read,
        "changed_tables": list(outcome.changed_tables),
        "rolled_back": outcome.rolled_back,
        "set_aside": list(outcome.set_aside),
        "conflicts": [c.to_json() for c in outcome.conflicts],
        "dry_run": dry_run,
    }


def _print_conflicts(conflicts: Any) -> None:
    for conflict in conflicts:
        click.echo(f"  ⚠ conflict ({conflict.kind}) {printable(conflict.message)}")
        click.echo(f"      resolve: {printable(conflict.resolve)}")


def _print_outcome(outcome: Any, prefix: str = "✓") -> None:
    click.echo(f"{prefix} {printable(outcome.summary)}")
    for problem in outcome.set_aside:
        click.echo(f"  ✗ set aside: {printable(problem)}")
    _print_conflicts(outcome.conflicts)


@click.group()
@click.option(
    "--backend",
    envvar="CASMAN_SYNC_BACKEND",
    help="Storage backend name (default: database.sync.backend, else local).",
)
@click.pass_context
def sync(ctx: click.Context, backend: str | None) -> None:
    """Share the databases with other sites through a store; checkpoints and restore.

    Every change is a record; sync publishes the records the store lacks and fetches the
    ones this site lacks, so every site ends with the same tables (see docs/sync.md).
    """
    ctx.ensure_object(dict)
    ctx.obj["backend"] = backend


@sync.command("sync", short_help="Publish this site's changes and fetch the others'.")
@_removed(
    "--force",
    "a sync unites change records, there is nothing to force; to go back "
    "to a moment use `casman sync restore --at TIME`",
)
@_removed("--parts", BOTH_FILES)
@_removed("--assembled", BOTH_FILES)
@click.option("--dry-run", is_flag=True, help="Say what would be sent; change nothing.")
@json_option
@click.pass_context
def sync_(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Publish this site's changes and fetch the other sites' changes.

    Nothing is lost: changes are only ever added (as records), clashes between sites are
    listed as conflicts until someone settles them.
    """
    from casman.sync.engine import converge

    session = _session(ctx, "sync")
    if dry_run:
        from casman.sync.dryrun import dry_run as rehearse

        outcome, plan = rehearse(session, converge)
        if as_json:
            print_json(
                {**_outcome_json(outcome, True), "requests": [asdict(r) for r in plan.requests]}
            )
            return
        _print_outcome(outcome, prefix="would:")
        _print_plan(ctx, plan)
        return
    outcome = converge(session)
    if as_json:
        print_json(_outcome_json(outcome))
        return
    _print_outcome(outcome)


@sync.command("push", short_help="Publish the changes waiting here now.")
@json_option
@click.pass_context
def push(ctx: click.Context, as_json: bool) -> None:
    """Publish the changes made here that are not off-site yet (and fetch the others')."""
    from casman.sync.engine import converge

    outcome = converge(_session(ctx, "backup"), wait=120.0)
    if as_json:
        print_json(_outcome_json(outcome))
        return
    _print_outcome(outcome)


@sync.command("backup", short_help="Sync, then store a checkpoint of both databases.")
@_removed("--force", "every change is already published; a checkpoint is always made")
@_removed("--parts", BOTH_FILES)
@_removed("--assembled", BOTH_FILES)
@click.option("--dry-run", is_flag=True, help="Show the requests and quota cost; send nothing.")
@json_option
@click.pass_context
def backup(ctx: click.Context, dry_run: bool, as_json: bool) -> None:
    """Sync, then store a checkpoint: plain SQLite copies of both databases that open
    without casman (``sqlite3``). Retention keeps the newest ``keep_versions``."""
    from casman.sync.checkpoint import take_checkpoint
    from casman.sync.engine import converge

    session = _session(ctx, "backup")
    keep = get_config(ctx).sync.keep_versions

    def run(s: Any) -> tuple[Any, Any]:
        return converge(s), take_checkpoint(s, keep)

    if dry_run:
        from casman.sync.dryrun import dry_run as rehearse

        _, plan = rehearse(session, run)
        _print_plan(ctx, plan, as_json)
        return
    outcome, result = run(session)
    if as_json:
        print_json(
            {
                "sync": _outcome_json(outcome),
                "checkpoint": result.checkpoint.to_json(),
                "deleted": list(result.deleted),
            }
        )
        return
    _print_outcome(outcome)
    for db_name, key in result.checkpoint.keys.items():
        click.echo(f"✓ {db_name}: checkpoint {key} ({_size(result.checkpoint.sizes[db_name])})")
    for key in result.deleted:
        click.echo(f"  retention: deleted {key}")


@sync.command("list", short_help="Checkpoints and the span of restorable time.")
@_removed("--db", f"{BOTH_FILES}; each checkpoint lists both files")
@json_option
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """Checkpoints in the store (newest first) and the span of time the records cover
    (any moment in it can be restored with `casman sync restore --at`)."""
    from casman.sync.restore import moments
    from casman.sync.store.head import read_head

    session = _session(ctx, "list", quick=True)
    head = read_head(session.storage)
    checkpoints = [c.to_json() for c in head.checkpoints] if head else []
    times = moments(session.database_dir) if (session.database_dir / "parts.db").exists() else []
    span = {
        "first": times[0].at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if times else None,
        "last": times[-1].at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if times else None,
        "moments": len(times),
    }
    sites = sorted(head.sites) if head else []
    if as_json:
        print_json({"checkpoints": checkpoints, "restorable": span, "sites": sites})
        return
    if head is None:
        click.echo("The store holds nothing yet. `casman sync sync` publishes this site's work.")
        return
    click.echo(f"Sites publishing here ({len(sites)}): {', '.join(sites) or '-'}")
    if times:
        click.echo(
            f"Restorable: any moment from {span['first']} to {span['last']} "
            f"({span['moments']} changes; `casman sync restore --list-times`)"
        )
    if not checkpoints:
        click.echo("No checkpoints. Create one with `casman sync backup`.")
        return
    click.echo(f"Checkpoints ({len(checkpoints)}), newest first:")
    for item in checkpoints:
        click.echo(f"\n  {item['created']}  ({item['records']} changes)")
        for db_name, key in item["keys"].items():
            click.echo(f"    {printable(key)}  {_size(item['sizes'].get(db_name))}")


def _parse_moment(text: str) -> datetime:
    cleaned = text.strip().replace(" ", "T")
    try:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at {text!r} is not a time; give e.g. '2026-12-01 14:03' or "
            "2026-12-01T14:03:00Z (UTC unless an offset is given)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # a time says "up to the end of" its last unit: 14:03 is the whole minute, 14:03:07
    # the whole second (changes are stamped to the millisecond)
    clock = cleaned.partition("T")[2].split("+")[0].split("Z")[0].split("-")[0]
    if not clock:
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    elif clock.count(":") == 1:
        moment = moment.replace(second=59, microsecond=999999)
    elif "." not in clock:
        moment = moment.replace(microsecond=999999)
    return moment.astimezone(UTC)


@sync.command("restore", short_help="Go back to a moment, or repair a damaged database.")
@_removed("--no-backup", "a local safety copy is always kept, and going back never deletes history")
@click.argument("what", required=False, metavar="[CHECKPOINT_KEY]")
@click.option("--at", "at", help="The moment to go back to (UTC), e.g. '2026-12-01 14:03'.")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the databases of that moment into this folder; the live ones stay as they are.",
)
@click.option("--list-times", is_flag=True, help="List every restorable moment (each change).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before changing the array.")
@json_option
@click.pass_context
def restore_(
    ctx: click.Context,
    what: str | None,
    at: str | None,
    output: Path | None,
    list_times: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Go back to a moment, or repair this site's databases.

    With --at TIME (or a CHECKPOINT_KEY from `casman sync list`): the state at that moment,
    written to --output FOLDER, or applied to the whole array as one revert change that
    every site receives (asks first; parts are never deleted). Without either: repair —
    damaged local files are set aside (a safety copy is kept) and rebuilt from the store.
    """
    import sys

    from casman.sync import restore as restoring

    config = get_config(ctx)
    directory = config.database_dir
    if list_times:
        found = restoring.moments(directory)
        if as_json:
            print_json([{"at": m.at.isoformat(), "kind": m.kind, "site": m.site} for m in found])
            return
        for m in found:
            click.echo(f"{m.at:%Y-%m-%d %H:%M:%S.%f}Z  {printable(m.kind):<18} {printable(m.site)}")
        return
    moment = _parse_moment(at) if at else None
    if what is not None:
        if moment is not None:
            raise UsageError("give either a CHECKPOINT_KEY or --at, not both")
        moment = _checkpoint_moment(ctx, what)
    if moment is None:
        if output is not None:
            raise UsageError("--output needs --at TIME (or a CHECKPOINT_KEY)")
        _repair(ctx, as_json)
        return
    if output is not None:
        result = restoring.restore_to_folder(directory, moment, output)
        if as_json:
            print_json({"output": str(result.folder), "records": result.records})
            return
        click.echo(
            f"✓ the databases as they were at {moment:%Y-%m-%d %H:%M:%S}Z are in "
            f"{result.folder} ({result.records} changes); the live databases are unchanged"
        )
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "going back changes the whole array; confirm with --yes, or use --output "
                "FOLDER to look first"
            )
        click.confirm(
            f"Make the array what it was at {moment:%Y-%m-%d %H:%M:%S}Z, for every site? "
            "(one revert change; nothing is deleted from the history)",
            abort=True,
            err=True,
        )
    reverted = restoring.revert_to(directory, moment)
    if as_json:
        print_json({"record": reverted.record, "changed_rows": reverted.changed_rows})
        return
    if reverted.record is None:
        click.echo(f"✓ nothing to change: the state already is that of {moment:%Y-%m-%d %H:%M:%S}Z")
        return
    click.echo(
        f"✓ reverted {reverted.changed_rows} row(s) to {moment:%Y-%m-%d %H:%M:%S}Z as one "
        "change; it reaches the other sites with the next sync"
    )


def _checkpoint_moment(ctx: click.Context, key: str) -> datetime:
    from casman.domain import hlc
    from casman.sync.checkpoint import find_checkpoint
    from casman.sync.store.head import read_head

    head = read_head(_session(ctx, "restore").storage)
    if head is None:
        raise CasmanError("the store has no checkpoints; see `casman sync list`")
    return hlc.to_datetime(find_checkpoint(head, key).newest)


def _repair(ctx: click.Context, as_json: bool) -> None:
    from casman.sync.engine import converge
    from casman.sync.restore import set_aside_damaged

    config = get_config(ctx)
    session = _session(ctx, "restore")
    plan = set_aside_damaged(config.database_dir, config.sync.safety_copies)
    outcome = converge(session)
    if as_json:
        print_json(
            {
                "set_aside": {k: str(v) for k, v in plan.set_aside.items()},
                "sync": _outcome_json(outcome),
            }
        )
        return
    for name, copy in plan.set_aside.items():
        click.echo(f"✓ {name} was damaged: set aside (safety copy {copy}) and rebuilt")
    if not plan.set_aside:
        click.echo("✓ the local databases are readable; synced them with the store")
    _print_outcome(outcome)


@sync.command("status", short_help="Settings, reachability, waiting changes, conflicts.")
@json_option
@click.pass_context
def status_(ctx: click.Context, as_json: bool) -> None:
    """Configuration (secrets masked), whether the store is there, what waits, conflicts."""
    from casman.cli.quota_view import format_usage
    from casman.domain.timestamps import utc_now
    from casman.sync.status import automatic, status

    config = get_config(ctx)
    if not config.sync.enabled:
        waiting = automatic(config)
        if as_json:
            print_json({"enabled": False, "automatic": asdict(waiting)})
            return
        click.echo("Sync is disabled: nothing is sent to any backend.")
        _print_automatic(waiting)
        return
    from casman.sync.conflicts import local_conflicts

    report = status(_session(ctx, "status", quick=True), utc_now())
    conflicts = [c.to_json() for c in local_conflicts(config.database_dir)]
    if as_json:
        data = asdict(report)
        data["quota"] = asdict(report.quota) if report.quota else None
        data["conflicts"] = conflicts
        print_json(data)
        return
    click.echo("Sync Status")
    click.echo("=" * 80)
    click.echo("\nConfiguration:")
    click.echo(f"  Backend:              {report.backend} — {report.description}")
    for name, value in report.settings.items():
        click.echo(f"  {name + ':':<22}{value if value is not None else '(not set)'}")
    click.echo(f"  Keep checkpoints:     {report.sync_settings['keep_versions']}")
    click.echo(f"  Database directory:   {report.sync_settings['database_dir']}")
    click.echo("\nStore:")
    if report.reachable:
        held = report.store_array or "nothing yet (the first sync creates it)"
        click.echo(f"  ✓ reachable; holds array {held}")
    else:
        click.echo(f"  ✗ {printable(report.error or 'not reachable')}")
    click.echo(f"  This site:            {report.site or '(not yet named)'}")
    click.echo(f"  This database:        array {report.local_array or '(none yet)'}")
    if report.local_array and report.store_array and report.local_array != report.store_array:
        click.echo("  ⚠ unrelated arrays: `casman sync join` merges this database into the store's")
    click.echo(f"  Sites in the store:   {', '.join(report.sites_in_store) or '-'}")
    click.echo(f"  Checkpoints:          {len(report.checkpoints)}")
    if conflicts:
        click.echo(f"\nConflicts, still open ({len(conflicts)}):")
        for conflict in conflicts:
            click.echo(f"  ⚠ {printable(conflict['message'])}")
            click.echo(f"      resolve: {printable(conflict['resolve'])}")
    if report.automatic is not None:
        _print_automatic(report.automatic)
    if report.quota is not None:
        click.echo("")
        for line in format_usage(report.quota):
            click.echo(line)


def _print_automatic(waiting: Any) -> None:
    click.echo("\nChanges not yet off-site:")
    state = "on" if waiting.enabled else "off (auto_backup: false or CASMAN_AUTO_BACKUP=false)"
    click.echo(f"  Automatic publishing: {state}")
    if waiting.pending_changes:
        click.echo(
            f"  Waiting:              {waiting.pending_changes} change(s), the oldest from "
            f"{waiting.oldest_pending}"
        )
    else:
        click.echo("  Waiting:              none")
    click.echo(f"  Last complete sync:   {waiting.last_offsite or 'never'}")


@sync.command("conflicts", short_help="List clashes between sites and how to settle them.")
@json_option
@click.pass_context
def conflicts_(ctx: click.Context, as_json: bool) -> None:
    """Clashes between sites' changes, from this site's records (works offline)."""
    from casman.sync.conflicts import local_conflicts

    found = local_conflicts(get_config(ctx).database_dir)
    if as_json:
        print_json([c.to_json() for c in found])
        return
    if not found:
        click.echo("✓ no conflicts")
        return
    click.echo(f"{len(found)} conflict(s):")
    _print_conflicts(found)


@sync.command("resolve", short_help="Settle a row conflict, keeping the row as it is.")
@click.argument("ref", metavar="REF")
@click.pass_context
def resolve_(ctx: click.Context, ref: str) -> None:
    """Settle the conflict on REF (e.g. antenna_positions:ANT00001, from `casman sync
    conflicts`), keeping the row as this site shows it now; every site receives it."""
    from casman.sync.conflicts import resolve

    record = resolve(get_config(ctx).database_dir, ref)
    click.echo(
        f"✓ settled {printable(ref)} (change {record[:12]}); other sites receive it "
        "with the next sync"
    )


@sync.command("join", short_help="Merge this database into the store's array.")
@json_option
@click.pass_context
def join_(ctx: click.Context, as_json: bool) -> None:
    """Make this database and the store one array: an empty (wiped) store is published to
    again; a store of another array is joined, both sets of changes united."""
    from casman.sync.engine import join

    outcome = join(_session(ctx, "sync"))
    if as_json:
        print_json(_outcome_json(outcome))
        return
    _print_outcome(outcome)


@sync.command("maintain", short_help="Verify every stored object; report sizes.")
@click.option("--deep", is_flag=True, help="Download every object and check its SHA-256.")
@json_option
@click.pass_context
def maintain_(ctx: click.Context, deep: bool, as_json: bool) -> None:
    """Verify every segment and checkpoint the store's head names; report what is wrong."""
    from casman.sync.maintain import maintain

    report = maintain(_session(ctx, "maintain"), deep=deep)
    if as_json:
        print_json(asdict(report))
    else:
        click.echo(f"✓ {len(report.verified)} object(s) verified: {report.level}")
        for key, problems in report.problems.items():
            click.echo(f"✗ {printable(key)}: {printable('; '.join(problems))} (left in place)")
        for key, storage_class in report.not_standard.items():
            click.echo(
                f"⚠ {key} is in {storage_class} storage, not Standard (check lifecycle rules)"
            )
        for item in report.tidied:
            click.echo(f"  tidied: {printable(item)}")
        sizes = ", ".join(f"{name} {_size(size)}" for name, size in report.sizes.items())
        click.echo(f"  store size: {sizes}")
    if report.problems:
        raise CasmanError(f"{len(report.problems)} object(s) failed verification (see above)")
