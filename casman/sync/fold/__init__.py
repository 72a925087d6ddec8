"""The state is a deterministic fold of the record set (DESIGN §5). Pure: no I/O.

Two sites holding the same records compute identical tables and the same conflicts,
whatever order the records arrived in: records are applied in (stamp, site, id) order
(:mod:`.apply`) and clashes are derived from the set itself (:mod:`.conflicts`), so a clash
stays listed at every site until a record that settles it arrives.
"""

from casman.sync.fold.apply import FoldResult, Tables, fold
from casman.sync.fold.conflicts import Conflict

__all__ = ["Conflict", "FoldResult", "Tables", "fold"]
