"""Reading the deployment CSVs all-or-nothing: every bad row reported, nothing written."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from casman.errors import CasmanError
from casman.userfiles import read_input_text

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
    collect every failure, then raise them together, in line order.

    The file is read through :func:`casman.userfiles.read_input_text` (regular files of
    sane size only). Line numbers are the file's own, as an editor shows them: blank lines
    count, and a row whose quoted cell spans lines is named by the line it starts on. A
    structural CSV error (a field over the ``csv`` module's 128 KB limit, usually an
    unclosed quote) is one more problem with its line; reading stops there, since nothing
    after it can be split into cells reliably.
    """
    text = read_input_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []

    def next_record() -> tuple[int, list[str]] | None:
        """The next non-blank record and the line it starts on; None at the end."""
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return None
            except csv.Error as error:
                raise _Unsplittable(start, _csv_problem(error)) from None
            if cells:
                return start, cells

    rows: list[tuple[int, T]] = []
    try:
        first = next_record()
        header = [name.strip() for name in first[1]] if first else []
        missing = [name for name in required if name not in header]
        if missing:
            where = first[0] if first else 1
            raise CsvLoadError(path, [f"line {where}: missing column(s) {', '.join(missing)}"])
        while (record := next_record()) is not None:
            line_number, cells = record
            if len(cells) > len(header):
                problems.append(f"line {line_number}: more values than columns")
                continue
            values = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
            values.update({name: "" for name in header[len(cells) :]})
            if not any(values.values()):
                continue
            try:
                rows.append((line_number, parse(values)))
            except CasmanError as error:
                problems.append(f"line {line_number}: {error}")
    except _Unsplittable as stop:
        problems.append(f"line {stop.line_number}: {stop.reason} (reading stopped there)")
    if checks is not None:
        problems += checks(rows)
    if problems:
        raise CsvLoadError(path, sorted(problems, key=_line_of))
    if not rows:
        raise CsvLoadError(path, ["the file has no data rows"])
    return rows


class _Unsplittable(Exception):
    """The csv module gave up on a record; carries where, for the one-line report."""

    def __init__(self, line_number: int, reason: str) -> None:
        super().__init__(reason)
        self.line_number = line_number
        self.reason = reason


def _csv_problem(error: csv.Error) -> str:
    """The csv module's complaint in words that say what to do about it."""
    text = str(error)
    if "field larger than field limit" in text:
        limit = csv.field_size_limit()
        return f"a cell is longer than {limit} characters: check this line for an unclosed quote"
    return f"not valid CSV ({text})"


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
