"""Conflicts, derived from the record set alone (never stored, so never dropped).

Three kinds, each listed at every site for as long as the set says so:

* ``concurrent``: two records changed one row (an antenna, a SNAP board, a grid position, a
  part number) without either having seen the other — the key has more than one head.
  Settled by any later change of that row, or ``casman sync resolve REF``.
* ``skipped``: a change that could not apply (a grid code another antenna holds, a part
  number created twice) while its record is still a head of its row. Settled the same way.
* ``link``: a part with two live outgoing (or incoming) connections after two sites each
  connected it. Settled by disconnecting the wrong link.

Two sites making the same change (the same CSV loaded twice, one pair disconnected at
both) is not a conflict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from casman.domain.records import ChangeRecord, RowOp

if TYPE_CHECKING:
    from casman.sync.fold.apply import FoldResult


@dataclass(frozen=True)
class Conflict:
    kind: str
    ref: str
    records: tuple[str, ...]
    message: str
    resolve: str

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "records": list(self.records),
            "message": self.message,
            "resolve": self.resolve,
        }


def _last_op(record: ChangeRecord, ref: str) -> RowOp | None:
    found = None
    for op in record.ops:
        if op.ref == ref:
            found = op
    return found


def _effect(op: RowOp | None) -> object:
    """What an operation leaves behind, ignoring the writer's row id."""
    if op is None or op.row is None:
        return None
    if op.table == "assembly":
        return op.row.get("connection_status")
    return tuple(sorted((k, v) for k, v in op.row.items() if k != "id"))


def _sites(by_id: dict[str, ChangeRecord], ids: tuple[str, ...]) -> str:
    return ", ".join(sorted({by_id[i].site for i in ids if i in by_id}))


def _resolve_hint(ref: str) -> str:
    table, _, key = ref.partition(":")
    if table == "antenna_positions":
        return f"casman antenna assign {key} GRID_CODE --force, or casman sync resolve {ref}"
    return f"casman sync resolve {ref}"


def _concurrent(result: FoldResult, by_id: dict[str, ChangeRecord]) -> Iterator[Conflict]:
    for ref, heads in sorted(result.heads.items()):
        if len(heads) < 2:
            continue
        ids = tuple(sorted(heads, key=lambda i: by_id[i].order))
        effects = {repr(_effect(_last_op(by_id[i], ref))) for i in ids}
        if len(effects) == 1:
            continue  # the same change made at two sites
        yield Conflict(
            "concurrent",
            ref,
            ids,
            f"{ref} was changed at {_sites(by_id, ids)} without either seeing the other",
            _resolve_hint(ref),
        )


def _skipped(result: FoldResult, by_id: dict[str, ChangeRecord]) -> Iterator[Conflict]:
    seen: set[tuple[str, str]] = set()
    for skip in result.skipped:
        if skip.record not in result.heads.get(skip.ref, set()) or (skip.ref, skip.record) in seen:
            continue
        seen.add((skip.ref, skip.record))
        if len(result.heads.get(skip.ref, set())) > 1:
            continue  # already listed as concurrent
        site = by_id[skip.record].site if skip.record in by_id else "?"
        yield Conflict(
            "skipped",
            skip.ref,
            (skip.record,),
            f"a change of {skip.ref} made at {site} could not apply: {skip.reason}",
            _resolve_hint(skip.ref),
        )


def _links(result: FoldResult) -> Iterator[Conflict]:
    newest: dict[tuple[object, object], object] = {}
    for event in result.tables.log:
        newest[(event["part_number"], event["connected_to"])] = event["connection_status"]
    outgoing: dict[object, list[object]] = {}
    incoming: dict[object, list[object]] = {}
    for (source, target), status in newest.items():
        if status == "connected":
            outgoing.setdefault(source, []).append(target)
            incoming.setdefault(target, []).append(source)
    for part, targets in sorted(outgoing.items(), key=lambda kv: str(kv[0])):
        if len(targets) > 1:
            names = " and ".join(sorted(map(str, targets)))
            yield Conflict(
                "link",
                f"assembly:{part}",
                (),
                f"{part} is connected to both {names}",
                f"casman assembly disconnect {part} WRONG_TARGET",
            )
    for part, sources in sorted(incoming.items(), key=lambda kv: str(kv[0])):
        if len(sources) > 1:
            names = " and ".join(sorted(map(str, sources)))
            yield Conflict(
                "link",
                f"assembly:{part}",
                (),
                f"{part} is connected from both {names}",
                f"casman assembly disconnect WRONG_SOURCE {part}",
            )


def find_conflicts(result: FoldResult) -> Iterator[Conflict]:
    by_id = {r.id: r for r in result.records}
    yield from _concurrent(result, by_id)
    yield from _skipped(result, by_id)
    yield from _links(result)
