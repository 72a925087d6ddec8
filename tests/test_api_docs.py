"""docs/api.md documents the whole public API, with the docstrings the code carries."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

import casman
import casman.array
from casman.array import PACKET_MAP_COLUMNS, Array
from tests.conftest import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
METHODS = [
    name
    for name, member in vars(Array).items()
    if not name.startswith("_") and inspect.isfunction(member)
]
VALUES = [casman.array.Antenna, casman.array.SignalChain, casman.array.Port, casman.array.Board]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", casman.array.__all__)
def test_every_public_name_has_a_docstring_and_is_in_the_reference(name: str) -> None:
    member = getattr(casman.array, name)
    if inspect.isclass(member) or inspect.isfunction(member):
        assert inspect.getdoc(member), f"{name} has no docstring"
    assert f"`{name}" in DOC or name in DOC, f"{name} is not in docs/api.md"


@pytest.mark.parametrize("name", METHODS)
def test_every_array_method_is_rendered_with_its_docstring(name: str) -> None:
    method = getattr(Array, name)
    doc = inspect.getdoc(method)
    assert doc, f"Array.{name} has no docstring"
    heading = re.search(rf"^### `array\.{name}\((.*)\) -> (.+)`$", DOC, re.MULTILINE)
    assert heading, f"docs/api.md has no heading for array.{name}"
    parameters = [p for p in inspect.signature(method).parameters if p != "self"]
    assert all(p in heading.group(1) for p in parameters), (name, heading.group(1))
    first_paragraph = doc.split("\n\n")[0]
    assert _flat(first_paragraph) in _flat(DOC), f"array.{name}'s summary differs from its docs"


@pytest.mark.parametrize("value", VALUES, ids=lambda v: v.__name__)
def test_every_field_of_every_value_is_documented(value: type) -> None:
    section = DOC.split(f"### `{value.__name__}`", 1)[1].split("\n### ", 1)[0]
    summary = (inspect.getdoc(value) or "").split("\n\n")[0]
    assert _flat(summary) in _flat(section)
    for item in dataclasses.fields(value):
        assert f"`{item.name}`" in section, f"{value.__name__}.{item.name} is not documented"


def test_open_array_signature_is_the_documented_one() -> None:
    parameters = list(inspect.signature(casman.open_array).parameters)
    assert parameters == ["database_dir", "config", "auto_sync", "clock"]
    signature = "casman.open_array(database_dir=None, *, config=None, auto_sync=None, clock=None)"
    assert f"### `{signature}" in DOC


def test_packet_map_columns_are_documented_in_order() -> None:
    assert ", ".join(PACKET_MAP_COLUMNS) in _flat(DOC)
