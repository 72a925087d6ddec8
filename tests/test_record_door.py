"""The door: records from outside are checked before they can touch a table."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from casman.domain.records import (
    ChangeRecord,
    RecordError,
    RowOp,
    natural_key,
    record_from_json,
    sealed,
)
from casman.sync.fold import fold
from casman.sync.store.keys import segment_key
from casman.sync.store.segments import decode, encode

GOOD_PART = {
    "id": 1,
    "part_number": "ANT00001P1",
    "part_type": "ANTENNA",
    "polarization": "P1",
    "date_created": "2026-01-01T00:00:00Z",
    "date_modified": None,
}


def _record(table: str, row: dict[str, Any], site: str = "field-1") -> dict[str, Any]:
    key = f"{row.get('part_number')}" if table == "parts" else natural_key(table, row)
    body = sealed(ChangeRecord(site, 1 << 20, "x", (RowOp(table, "insert", key, row),)))
    return json.loads(body.canonical())


def test_a_well_formed_record_passes_and_keeps_its_id() -> None:
    data = _record("parts", GOOD_PART)
    record = record_from_json(data)
    assert record.ops[0].row == GOOD_PART


def test_rows_casman_never_writes_are_refused_with_one_line() -> None:
    cases = [
        ("parts", {**GOOD_PART, "part_number": "ANT1"}, "ANT1"),
        (
            "antenna_positions",
            {
                "antenna_number": "ANT00001",
                "array_id": "C",
                "row_offset": 1,
                "east_col": 1,
                "grid_code": "XX",
                "assigned_at": "2026-01-01T00:00:00Z",
                "notes": None,
                "latitude": None,
                "longitude": None,
                "height": None,
                "coordinate_system": None,
            },
            "XX",
        ),
        (
            "snap_boards",
            {
                "chassis": 9,
                "slot": "A",
                "serial_number": "1",
                "mac_address": "m",
                "ip_address": "i",
                "feng_id": 1,
                "notes": None,
                "date_added": "d",
                "date_modified": None,
            },
            "chassis",
        ),
    ]
    for table, row, named in cases:
        data = _record(table, row)
        try:
            record_from_json(data)
        except RecordError as error:
            assert named in str(error) and "\n" not in str(error)
        else:
            raise AssertionError(f"{table} row {row} got in")


def test_a_null_part_number_is_refused_even_as_an_adopted_row() -> None:
    data = _record("parts", {**GOOD_PART, "part_number": None}, site="genesis")
    data["ops"][0][2] = "None"  # the key matches the row: only its content is wrong
    try:
        record_from_json(data)
    except RecordError as error:
        assert "part_number" in str(error)
    else:
        raise AssertionError("a NULL part number got in")


def test_a_bad_record_is_set_aside_and_the_good_ones_in_its_segment_get_in() -> None:
    good = record_from_json(_record("parts", GOOD_PART))
    body = gzip.decompress(encode("field-1", 1, None, [good]))
    data = json.loads(body)
    bad = _record("parts", {**GOOD_PART, "part_number": "LNA00002P1"})
    bad["ops"][0][3]["part_number"] = "NOT A PART"  # content no longer matches its id either
    data["records"].append({"id": "0" * 64, **bad})
    packed = gzip.compress(json.dumps(data).encode(), mtime=0)
    key = segment_key("field-1", 1, hashlib.sha256(packed).hexdigest())
    segment = decode(key, packed)
    assert [r.id for r in segment.records] == [good.id]
    assert len(segment.refused) == 1 and "set aside" in segment.refused[0]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    table=st.sampled_from(
        ["parts", "assembly", "antenna_positions", "snap_boards", "grid_positions"]
    ),
    row=st.dictionaries(st.text(max_size=12), json_values, max_size=12),
    key=json_values,
    site=st.sampled_from(["genesis", "field-1"]),
)
def test_random_records_either_refused_or_fold_into_valid_rows(
    table: str, row: dict[str, Any], key: Any, site: str
) -> None:
    data = {
        "v": 1,
        "site": site,
        "hlc": 5,
        "kind": "x",
        "ops": [[table, "insert", key, row]],
        "sup": [],
    }
    try:
        record = record_from_json(data)
    except RecordError:
        return
    tables = fold([record]).tables
    for folded in tables.ordered(table):
        for value in folded.values():
            assert value is None or isinstance(value, str | int | float)
        assert all(folded.get(c) is not None for c in ("part_number",) if table == "parts")
