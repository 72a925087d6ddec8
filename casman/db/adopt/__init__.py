"""Adopting databases written by the original CAsMan (or an older casman) without loss.

Reading commands see an old database through :func:`adopted_view` (nothing on disk
changes); the first write, or ``casman database migrate``, converts it in place with
:func:`migrate` after a safety copy. The rules are in :mod:`casman.db.adopt.rules` and
``docs/migrating.md``.
"""

from casman.db.adopt.adoption import (
    Adoption,
    AdoptionRefusedError,
    adopt_attached,
    adopted_view,
    migrate,
    needs_adoption,
    plan_directory,
)
from casman.db.adopt.plan import FilePlan, Tally, row_counts
from casman.db.adopt.rules import KEPT, RULES
from casman.db.adopt.times import Zone, machine_zone, parse_zone
from casman.db.adopt_mark import ADOPTED_MARK

__all__ = [
    "ADOPTED_MARK",
    "KEPT",
    "RULES",
    "Adoption",
    "AdoptionRefusedError",
    "FilePlan",
    "Tally",
    "Zone",
    "adopt_attached",
    "adopted_view",
    "machine_zone",
    "migrate",
    "needs_adoption",
    "parse_zone",
    "plan_directory",
    "row_counts",
]
