"""casman: the assembly manager of the CASM radio-telescope array.

For pipelines, :func:`open_array` opens the array read-only (see :mod:`casman.array`)::

    import casman
    array = casman.open_array()
    print(array.by_packet_index(5))

The API is imported on first use, so ``import casman`` stays as cheap as the CLI needs
(no SQLite, no click, no configuration read at import).
"""

from __future__ import annotations

__version__ = "0.2.0"

# Not ``typing.TYPE_CHECKING``: importing typing alone would triple this module's import
# time. Type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from casman.array import (
        Antenna,
        Array,
        ArrayLookupError,
        Board,
        Port,
        SignalChain,
        open_array,
    )

__all__ = [
    "Antenna",
    "Array",
    "ArrayLookupError",
    "Board",
    "Port",
    "SignalChain",
    "__version__",
    "open_array",
]

_LAZY = frozenset(
    {"Antenna", "Array", "ArrayLookupError", "Board", "Port", "SignalChain", "open_array"}
)


def __getattr__(name: str) -> Any:
    """Import :mod:`casman.array` when one of its public names is first used."""
    if name in _LAZY:
        import casman.array

        return getattr(casman.array, name)
    raise AttributeError(f"module 'casman' has no attribute {name!r}")
