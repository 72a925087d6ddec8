"""The correlator's kernel index: which input of the correlator kernel a grid position feeds.

The kernel numbers the core grid row-major, north row first and west to east within a row:
with the core's rows N021 … C000 … S021 and columns E01 … E06, ``CN021E01`` is 0,
``CN021E06`` is 5, ``CN020E01`` is 6, ``CC000E01`` is 126 and ``CS021E04`` is 255. The
kernel has 256 inputs, so the last two positions of the core (``CS021E05``, ``CS021E06``)
have no kernel index: they are *unmapped*, and every interface says so rather than
inventing a number.

Why it is derived, never stored: the index follows from the grid code and the array's
shape alone, exactly like the packet index follows from ``feng_id`` and port. Storing it
would let an edited geometry leave stale numbers behind.

Which arrays have a kernel index, their shape and the last index are configuration
(``grid.arrays.<id>`` and ``grid.kernel_index.<id>`` in config.yaml, see
:func:`kernel_from_config`). Array ``C`` has one
by default, with the deployed core's shape (21 rows north and south, columns 1–6) unless
``grid.arrays.C`` says otherwise, and the last index is 255. Arrays ``N`` and ``S`` have
none unless configured: their shape is not known in advance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from casman.domain.errors import DomainError
from casman.domain.grid import (
    ARRAY_IDS,
    ArrayGeometry,
    GridPosition,
    geometry_from_config,
    parse_grid_code,
)

__all__ = [
    "CORE_ARRAY",
    "CORE_GEOMETRY",
    "DEFAULT_MAX_KERNEL_INDEX",
    "KernelIndex",
    "KernelIndexError",
    "KernelLayout",
    "default_kernel",
    "kernel_for_geometry",
    "kernel_from_config",
]

CORE_ARRAY = "C"
CORE_GEOMETRY = ArrayGeometry(north_rows=21, south_rows=21, first_column=1, last_column=6)
"""The deployed core: rows N021–S021 (43 rows), columns E01–E06, 258 positions."""
DEFAULT_MAX_KERNEL_INDEX = 255
"""The correlator kernel has 256 inputs, numbered 0–255."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SPEC_KEYS = frozenset({"enabled", "max_index"})


class KernelIndexError(DomainError):
    """A kernel index that maps to no position, or a malformed kernel configuration."""


@dataclass(frozen=True)
class KernelLayout:
    """How one array's positions are numbered for the correlator kernel.

    ``index = (north_rows - row_offset) × columns + (east_col - first_column)`` for every
    position inside ``geometry`` whose index is at most ``max_index``.
    """

    array_id: str
    geometry: ArrayGeometry
    max_index: int = DEFAULT_MAX_KERNEL_INDEX

    def __post_init__(self) -> None:
        if self.array_id not in ARRAY_IDS:
            raise KernelIndexError(f"array {self.array_id!r} is not C, N or S")
        if isinstance(self.max_index, bool) or self.max_index < 0:
            raise KernelIndexError(
                f"the last kernel index of array {self.array_id} must be 0 or more, "
                f"got {self.max_index}"
            )
        shape = self.geometry
        if shape.north_rows < 0 or shape.south_rows < 0 or shape.first_column > shape.last_column:
            raise KernelIndexError(
                f"array {self.array_id}'s geometry has no positions to number "
                f"(rows S{shape.south_rows:03d}–N{shape.north_rows:03d}, "
                f"columns {shape.first_column}–{shape.last_column})"
            )

    @property
    def columns(self) -> int:
        return self.geometry.last_column - self.geometry.first_column + 1

    @property
    def positions_in_geometry(self) -> int:
        rows = self.geometry.north_rows + self.geometry.south_rows + 1
        return rows * self.columns

    @property
    def size(self) -> int:
        """How many positions have an index (the geometry may hold more than the kernel)."""
        return min(self.positions_in_geometry, self.max_index + 1)

    def _raw_index(self, position: GridPosition) -> int | None:
        if position.array_id != self.array_id or not self.geometry.contains(position):
            return None
        row = self.geometry.north_rows - position.row_offset
        return row * self.columns + (position.east_col - self.geometry.first_column)

    def index_of(self, position: GridPosition) -> int | None:
        """The position's kernel index, or None when it has none (see :meth:`unmapped`)."""
        index = self._raw_index(position)
        return index if index is not None and index <= self.max_index else None

    def position_of(self, index: int) -> GridPosition:
        """The position with kernel ``index``; an index beyond the kernel is an error."""
        if isinstance(index, bool) or not isinstance(index, int):
            raise KernelIndexError(f"kernel index {index!r} is not a whole number")
        if not 0 <= index < self.size:
            raise KernelIndexError(
                f"kernel index {index} is not mapped: array {self.array_id} numbers its "
                f"positions 0–{self.size - 1}"
            )
        row, column = divmod(index, self.columns)
        return GridPosition(
            self.array_id, self.geometry.north_rows - row, self.geometry.first_column + column
        )

    def unmapped(self, position: GridPosition) -> str | None:
        """Why ``position`` has no kernel index (None when it has one), in one line."""
        index = self._raw_index(position)
        shape = self.geometry
        if index is None:
            return (
                f"{position.grid_code} is outside the kernel layout of array {self.array_id} "
                f"(rows N{shape.north_rows:03d}–S{shape.south_rows:03d}, "
                f"columns E{shape.first_column:02d}–E{shape.last_column:02d})"
            )
        if index > self.max_index:
            return (
                f"{position.grid_code} is not mapped: it would be kernel index {index}, past "
                f"the last one ({self.max_index})"
            )
        return None

    def mapped(self) -> list[tuple[int, GridPosition]]:
        """Every (index, position) pair in index order."""
        return [(index, self.position_of(index)) for index in range(self.size)]


@dataclass(frozen=True)
class KernelIndex:
    """The kernel layouts of the arrays that have one, by array id."""

    layouts: Mapping[str, KernelLayout] = field(default_factory=dict)

    def layout(self, array_id: str = CORE_ARRAY) -> KernelLayout:
        found = self.layouts.get(array_id.strip().upper())
        if found is None:
            raise KernelIndexError(
                f"array {array_id.strip().upper()} has no kernel index; enable it with "
                f"grid.kernel_index.{array_id.strip().upper()} in config.yaml"
            )
        return found

    def index_of(self, position: GridPosition | str) -> int | None:
        """The kernel index of a position or grid code (None when it has none)."""
        where = parse_grid_code(position) if isinstance(position, str) else position
        layout = self.layouts.get(where.array_id)
        return layout.index_of(where) if layout is not None else None

    def unmapped(self, position: GridPosition | str) -> str | None:
        """Why a position has no kernel index; None when it has one."""
        where = parse_grid_code(position) if isinstance(position, str) else position
        layout = self.layouts.get(where.array_id)
        if layout is None:
            return f"{where.grid_code} is not mapped: array {where.array_id} has no kernel index"
        return layout.unmapped(where)

    def position_of(self, index: int, array_id: str = CORE_ARRAY) -> GridPosition:
        """The position kernel ``index`` of ``array_id`` feeds."""
        return self.layout(array_id).position_of(index)


def kernel_for_geometry(geometry: ArrayGeometry | None) -> KernelIndex:
    """Array C's kernel over ``geometry`` (the deployed core when None), last index 255."""
    return KernelIndex({CORE_ARRAY: KernelLayout(CORE_ARRAY, geometry or CORE_GEOMETRY)})


def default_kernel() -> KernelIndex:
    """The kernel without configuration: the deployed core, indexes 0–255."""
    return kernel_for_geometry(None)


def _show(value: Any) -> str:
    """A config value for a one-line message, never pages of text."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise KernelIndexError(f"config {key} must be true or false, got {_show(value)}")


def _whole(value: Any, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise KernelIndexError(f"config {key} must be a whole number 0 or more, got {_show(value)}")
    if number < 0:
        raise KernelIndexError(f"config {key} must be a whole number 0 or more, got {_show(value)}")
    return number


def _array_spec(raw: Any, array_id: str) -> Mapping[str, Any]:
    """``grid.kernel_index.<id>``: a mapping, or ``true``/``false`` for ``enabled``."""
    key = f"grid.kernel_index.{array_id}"
    if raw is None:
        return {}
    if isinstance(raw, bool | str):
        return {"enabled": _flag(raw, key)}
    if not isinstance(raw, Mapping):
        raise KernelIndexError(f"config {key} must be true, false or {{enabled, max_index}}")
    unknown = sorted(str(name) for name in raw if name not in _SPEC_KEYS)
    if unknown:
        raise KernelIndexError(
            f"config {key}.{unknown[0]} is not a kernel setting (use enabled, max_index)"
        )
    return raw


def kernel_from_config(section: Mapping[str, Any]) -> KernelIndex:
    """The kernel layouts from config.yaml's ``grid:`` section.

    The layout of an array is its geometry (``grid.arrays.<id>``); whether it has a kernel
    index and the last index are set per array under ``grid.kernel_index``::

        grid:
          arrays:
            C: {north_rows: 21, south_rows: 21, columns: [1, 6]}
          kernel_index:
            C: {enabled: true, max_index: 255}   # or just `C: true`

    Kept apart from ``grid.arrays`` so that setting only a kernel option never creates an
    array geometry (an entry under ``arrays`` is one, and assignments are checked
    against it). ``enabled`` defaults to true for array C and false for N and S; array C
    without a configured geometry uses the deployed core's. Enabling N or S needs their
    geometry, which has no default.
    """
    geometry = geometry_from_config(section)
    raw = section.get("kernel_index") or {}
    if not isinstance(raw, Mapping):
        raise KernelIndexError(
            "config grid.kernel_index must be a mapping of array id to its kernel settings"
        )
    specs: dict[str, Mapping[str, Any]] = {}
    for name, value in raw.items():
        array_id = str(name).strip().upper()
        if array_id not in ARRAY_IDS:
            raise KernelIndexError(f"config grid.kernel_index.{name} is not an array (C, N, S)")
        specs[array_id] = _array_spec(value, array_id)
    layouts: dict[str, KernelLayout] = {}
    for array_id in ARRAY_IDS:
        spec = specs.get(array_id, {})
        prefix = f"grid.kernel_index.{array_id}"
        enabled = array_id == CORE_ARRAY
        if spec.get("enabled") is not None:
            enabled = _flag(spec["enabled"], f"{prefix}.enabled")
        if not enabled:
            continue
        shape = geometry.get(array_id)
        if shape is None and array_id != CORE_ARRAY:
            raise KernelIndexError(
                f"config {prefix} is enabled but array {array_id} has no geometry; give "
                f"grid.arrays.{array_id} north_rows, south_rows and columns"
            )
        max_index = DEFAULT_MAX_KERNEL_INDEX
        if spec.get("max_index") is not None:
            max_index = _whole(spec["max_index"], f"{prefix}.max_index")
        layouts[array_id] = KernelLayout(array_id, shape or CORE_GEOMETRY, max_index)
    return KernelIndex(layouts)
