"""Shell completion of values, not only of commands and options.

``casman parts add <TAB>`` offers the part types, ``--polarization`` the four spellings,
``casman sync --backend <TAB>`` the installed backends, ``casman sync restore <TAB>`` the
database names, ``casman database print --table <TAB>`` the tables, ``casman snap show
<TAB>`` the 44 boards, and commands that take a part (``assembly chain``, ``antenna
show``) the part numbers the databases hold, read-only. A completer never fails: when it
cannot answer (no databases yet, a broken plugin) it offers nothing.

Commands defined in this package name their completer with ``shell_complete=``; the
``sync`` group's module is another team's, so :func:`attach_value_completion` gives its
parameters theirs by parameter name, only where none is declared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

Completer = Callable[[click.Context, click.Parameter, str], list["CompletionItem"]]
MAX_PART_ITEMS = 200


def _matching(values: Iterable[str], incomplete: str) -> list[CompletionItem]:
    """The values that start with what was typed (any case), as completion items.

    click's completion module is imported here, when a completion is asked for, so the
    commands that declare completers load no slower for it.
    """
    from click.shell_completion import CompletionItem

    wanted = incomplete.upper()
    return [CompletionItem(value) for value in values if value.upper().startswith(wanted)]


def complete_part_type(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """ANTENNA, LNA, COAXSHORT, COAXLONG, BACBOARD and their prefixes (numbered types)."""
    from casman.domain.parts import NUMBERED_TYPES

    names = [name for kind in NUMBERED_TYPES for name in (kind.name, kind.prefix)]
    return _matching(dict.fromkeys(names), incomplete)


def complete_polarization(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return _matching(("1", "2", "P1", "P2"), incomplete)


def complete_table(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from casman.db.schema import TABLES

    return _matching((name for names in TABLES.values() for name in names), incomplete)


def complete_board(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from casman.domain.snap import CHASSIS_RANGE, SLOT_LETTERS

    boards = (f"SNAP{chassis}{slot}" for chassis in CHASSIS_RANGE for slot in SLOT_LETTERS)
    return _matching(boards, incomplete)


def complete_backend(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The backends the installed plugins register (``disabled`` turns sync off)."""
    try:
        from casman.storage.registry import backend_specs

        names = [*sorted(backend_specs()), "disabled"]
    except Exception:  # a broken plugin must not break the shell
        return []
    return _matching(names, incomplete)


def complete_restore_target(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """What ``sync restore`` takes without asking the store: a database name or latest."""
    from casman.db.schema import DATABASE_NAMES

    return _matching((*DATABASE_NAMES, "latest"), incomplete)


def _stored_numbers(ctx: click.Context, incomplete: str, sql: str) -> list[str]:
    """Values from the databases of this command line, read-only; none on any problem."""
    from casman.config import load_config
    from casman.db.readonly import open_read_only

    params = ctx.find_root().params
    try:
        config = load_config(params.get("config_path"), database_dir=params.get("database_dir"))
        conn = open_read_only(config.database_dir)
    except Exception:  # completion offers what it can; it never prints an error
        return []
    try:
        pattern = incomplete.upper().replace("\\", "").replace("%", "").replace("_", "") + "%"
        rows = conn.execute(sql, (pattern, MAX_PART_ITEMS)).fetchall()
        return [str(row[0]) for row in rows]
    except Exception:
        return []
    finally:
        conn.close()


def complete_part(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Part numbers the databases hold (at most 200), for commands that take a part."""
    numbers = _stored_numbers(
        ctx,
        incomplete,
        "SELECT part_number FROM parts WHERE part_number LIKE ? ORDER BY part_number LIMIT ?",
    )
    return _matching(numbers, incomplete)


def complete_antenna_or_grid_code(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Antenna numbers, or the grid codes antennas are assigned to."""
    if incomplete.upper().startswith("A"):
        sql = (
            "SELECT DISTINCT substr(part_number, 1, 8) FROM parts WHERE part_number LIKE ? "
            "AND part_number LIKE 'ANT%' ORDER BY 1 LIMIT ?"
        )
    else:
        sql = "SELECT grid_code FROM antenna_positions WHERE grid_code LIKE ? ORDER BY 1 LIMIT ?"
    return _matching(_stored_numbers(ctx, incomplete, sql), incomplete)


BY_PARAMETER_NAME: dict[str, Completer] = {
    "backend": complete_backend,
    "what": complete_restore_target,
}
"""Completers for parameters of commands defined outside this package, by name."""


def attach_value_completion(command: click.Command) -> None:
    """Give parameters named in :data:`BY_PARAMETER_NAME` their completer, where the
    command declares none (its own completer, or a choice, always wins)."""
    for param in command.params:
        completer = BY_PARAMETER_NAME.get(param.name or "")
        declared: Any = getattr(param, "_custom_shell_complete", None)
        if completer is not None and declared is None and not isinstance(param.type, click.Choice):
            param._custom_shell_complete = completer
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach_value_completion(sub)
