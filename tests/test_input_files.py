"""User-named input files: a device, FIFO, directory, huge file or unsplittable CSV is refused
with one line, before anything is read into memory, and nothing is written."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casman.db.csv_files import CsvLoadError, read_rows
from casman.errors import CasmanError
from casman.userfiles import MAX_INPUT_BYTES, read_input_text
from tests.conftest import GRID_CSV, SNAP_CSV, Casman, fingerprint

SNAP_HEADER = "chassis,slot,sn,mac,ip,feng_id,notes\n"
GRID_HEADER = "grid_code,latitude,longitude,height,coordinate_system,notes\n"
HUGE_CELL = "x" * 200_000  # over the csv module's 131072-character field limit

# Every command that reads a user-named CSV, as (argv before the path, argv after it).
READERS = [
    (("database", "load-snap-boards", "--csv"), ()),
    (("database", "load-coordinates", "--csv"), ()),
    (("antenna", "plot", "--csv"), ("--output", "never.png")),
]
READER_IDS = ["load-snap-boards", "load-coordinates", "antenna-plot"]


@pytest.fixture
def loaded(casman: Casman) -> Casman:
    """A database holding the real boards and positions, so "unchanged" means something."""
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    casman.ok("database", "load-coordinates", "--csv", str(GRID_CSV))
    return casman


def _refused(casman: Casman, args: tuple[str, ...], code: int = 1) -> str:
    """Run a command that must fail: one line on stderr, nothing on stdout, DB unchanged."""
    before = fingerprint(casman.directory)
    result = casman.fails(*args, code=code)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    assert fingerprint(casman.directory) == before
    assert not Path("never.png").exists()
    return lines[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO with a writer waiting on it, so code that opens it reads instead of hanging.

    Correct code never opens it; the writer is then released by opening the read end
    ourselves, non-blocking, at teardown.
    """
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)

    def write() -> None:
        with open(path, "w") as handle:
            handle.write(SNAP_HEADER)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    yield path
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    writer.join(timeout=10)
    os.close(reader)


@pytest.mark.parametrize(("before", "after"), READERS, ids=READER_IDS)
def test_a_field_over_the_csv_limit_is_one_line_naming_file_and_line(
    loaded: Casman, tmp_path: Path, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    """Was a traceback: ``_csv.Error: field larger than field limit (131072)``."""
    header = SNAP_HEADER if "load-snap-boards" in before else GRID_HEADER
    path = tmp_path / "huge_cell.csv"
    good = SNAP_CSV if header == SNAP_HEADER else GRID_CSV
    first_row = good.read_text().splitlines()[1]
    path.write_text(f"{header}{first_row}\n{first_row[:-1]}{HUGE_CELL}\n")
    line = _refused(loaded, (*before, str(path), *after))
    assert "huge_cell.csv" in line and "line 3: " in line
    assert "longer than 131072 characters" in line


def test_an_unclosed_quote_is_reported_where_it_opens(loaded: Casman, tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    rows = SNAP_CSV.read_text().splitlines()
    rows[2] = rows[2] + ',"never closed'
    path.write_text("\n".join(rows[:3]) + "\n" + (HUGE_CELL + "\n") * 2)
    line = _refused(loaded, ("database", "load-snap-boards", "--csv", str(path)))
    assert "line 3: " in line and "unclosed quote" in line


@pytest.mark.parametrize(("before", "after"), READERS, ids=READER_IDS)
def test_a_fifo_is_refused_without_being_opened(
    loaded: Casman, fifo: Path, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    line = _refused(loaded, (*before, str(fifo), *after))
    assert "is a FIFO (named pipe), not a regular file" in line and "--csv" in line


@pytest.mark.parametrize(("before", "after"), READERS[:2], ids=READER_IDS[:2])
def test_a_device_is_refused_before_reading(
    loaded: Casman, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    """``--csv /dev/zero`` read until MemoryError; /dev/null (harmless to the old code) shows
    that a device is refused from ``stat``, whatever it would yield."""
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null on this platform")
    line = _refused(loaded, (*before, "/dev/null", *after))
    assert "/dev/null is a character device, not a regular file" in line


@pytest.mark.parametrize(("before", "after"), READERS[:2], ids=READER_IDS[:2])
def test_a_directory_is_refused(
    loaded: Casman, tmp_path: Path, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    line = _refused(loaded, (*before, str(tmp_path), *after))
    assert "is a directory, not a regular file" in line


def test_plot_refuses_a_directory_through_its_option_type(loaded: Casman, tmp_path: Path) -> None:
    line = _refused(loaded, ("antenna", "plot", "--csv", str(tmp_path)), code=2)
    assert "is a directory" in line


@pytest.mark.parametrize(("before", "after"), READERS, ids=READER_IDS)
def test_a_file_over_the_size_limit_is_refused_from_stat(
    loaded: Casman, tmp_path: Path, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    """A sparse file one byte over the limit: refused by its size, not by reading it."""
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)
    line = _refused(loaded, (*before, str(path), *after))
    assert "more than the 50.0 MB" in line and "--csv" in line


def test_the_read_is_capped_even_when_stat_says_small(tmp_path: Path) -> None:
    """/proc files report size 0 and still have content: the read stops at the limit."""
    status = Path("/proc/self/status")
    if not status.is_file() or status.stat().st_size != 0:
        pytest.skip("no /proc with zero-size files here")
    with pytest.raises(CasmanError, match="more than the 10 bytes"):
        read_input_text(status, limit=10)


def test_missing_and_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(CasmanError, match="does not exist; give the right path with --csv"):
        read_input_text(tmp_path / "nope.csv")
    with pytest.raises(CasmanError, match="does not exist"):
        read_input_text(tmp_path / "nope" / "deeper.csv")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(b"grid_code\nCN001E01\ncaf\xe9\n")
    with pytest.raises(CasmanError, match=r"line 3 is not UTF-8 text"):
        read_input_text(latin)


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeff".encode() + SNAP_CSV.read_bytes())
    assert read_input_text(path).startswith("chassis,")


def _parse_cell(values: dict[str, str]) -> str:
    if values["a"] == "bad":
        raise CasmanError("a is bad")
    return values["a"]


# One CSV record, as (text, number of lines it takes, is it a bad row, is it a data row).
_RECORDS: st.SearchStrategy[tuple[str, int, bool, bool]] = st.one_of(
    st.just(("ok,1\n", 1, False, True)),
    st.just(("bad,1\n", 1, True, True)),
    st.just(("\n", 1, False, False)),  # a blank line: skipped but counted
    st.just((",\n", 1, False, False)),  # empty cells: skipped
    st.just(('ok,"two\nlines"\n', 2, False, True)),
    st.just(('bad,"three\n\nlines"\n', 3, True, True)),
    st.just(("ok,1\r\n", 1, False, True)),
)


@settings(max_examples=80, deadline=None)
@given(records=st.lists(_RECORDS, max_size=12), huge_at=st.one_of(st.none(), st.integers(0, 12)))
def test_problems_carry_the_line_an_editor_shows(
    tmp_path_factory: pytest.TempPathFactory,
    records: list[tuple[str, int, bool, bool]],
    huge_at: int | None,
) -> None:
    """Blank lines and multi-line quoted cells never shift a reported line number, and a
    cell over the csv limit is one problem at the line its record starts on: never a
    traceback, never a problem after it."""
    chosen = list(records)
    if huge_at is not None:
        chosen.insert(min(huge_at, len(chosen)), (f"ok,{HUGE_CELL}\n", 1, True, True))
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_text("a,b\n" + "".join(text for text, *_ in chosen), newline="")
    expected: list[int] = []
    line = 2
    for text, height, bad, _ in chosen:
        if bad:
            expected.append(line)
        if text.startswith("ok,x"):
            break  # reading stops at the unsplittable record
        line += height
    try:
        rows = read_rows(path, ("a", "b"), _parse_cell)
    except CsvLoadError as error:
        if not expected:
            assert error.problems == ["the file has no data rows"]
        else:
            reported = [int(problem.split()[1].rstrip(":")) for problem in error.problems]
            assert reported == expected
    else:
        assert not expected
        assert len(rows) == sum(1 for *_, data in chosen if data)
