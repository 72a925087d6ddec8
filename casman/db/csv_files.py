"""Reading the deployment CSVs all-or-nothing: every bad row reported, nothing written."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from casman.errors import CasmanError

T = TypeVar("T")


class CsvLoadError(CasmanError):
    """A CSV with problems; the message lists each with its line number."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        shown = "; ".join(problems[:20])
        more = f"; … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{path.name}: {len(problems)} problem(s), nothing was loaded: {shown}{more}"
        )
        self.problems = list(problems)


@dataclass(frozen=True)
class LoadReport:
    loaded: int
    updated: int
    unchanged: int

    def summary(self, what: str) -> str:
        return f"{what}: {self.loaded} loaded, {self.updated} updated, {self.unchanged} unchanged"


def read_rows(
    path: Path,
    required: Sequence[str],
    parse: Callable[[dict[str, str]], T],
    checks: Callable[[list[tuple[int, T]]], list[str]] | None = None,
) -> list[tuple[int, T]]:
    """Parse every data row with ``parse`` and run ``checks`` over the rows that parsed;
    collect every failure, then raise them together, in line order."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CasmanError(
            f"CSV file {path} does not exist; give the right path with --csv"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CasmanError(f"cannot read CSV file {path}: {error}") from None
    reader = csv.DictReader(text.splitlines())
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise CsvLoadError(path, [f"line 1: missing column(s) {', '.join(missing)}"])
    reader.fieldnames = header
    rows: list[tuple[int, T]] = []
    problems: list[str] = []
    for line_number, raw in enumerate(reader, start=2):
        if raw.get(None):  # more cells than header columns
            problems.append(f"line {line_number}: more values than columns")
            continue
        values = {key: (value or "").strip() for key, value in raw.items() if key is not None}
        if not any(values.values()):
            continue
        try:
            rows.append((line_number, parse(values)))
        except CasmanError as error:
            problems.append(f"line {line_number}: {error}")
    if checks is not None:
        problems += checks(rows)
    if problems:
        raise CsvLoadError(path, sorted(problems, key=_line_of))
    if not rows:
        raise CsvLoadError(path, ["the file has no data rows"])
    return rows


def _line_of(problem: str) -> int:
    words = problem.split()
    return int(words[1].rstrip(":")) if len(words) > 1 and words[1].rstrip(":").isdigit() else 0


def duplicates(rows: Sequence[tuple[int, T]], key: Callable[[T], object], label: str) -> list[str]:
    """One problem per row whose ``key`` repeats an earlier row's."""
    seen: dict[object, int] = {}
    problems = []
    for line_number, row in rows:
        value = key(row)
        if value in seen:
            problems.append(f"line {line_number}: {label} {value} repeats line {seen[value]}")
        else:
            seen[value] = line_number
    return problems
