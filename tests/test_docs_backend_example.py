"""The complete example in docs/writing-a-backend.md really passes the conformance suite."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from casman.storage import Backend, Capabilities
from casman.testing import BackendConformance

DOC = Path(__file__).resolve().parent.parent / "docs" / "writing-a-backend.md"


def _example_module() -> types.ModuleType:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"`casman_dirstore\.py`:\s*```python\n(.*?)```", text, re.DOTALL)
    assert match is not None, "the dirstore example is missing from the doc"
    module = types.ModuleType("casman_dirstore")
    sys.modules["casman_dirstore"] = module
    exec(compile(match.group(1), str(DOC), "exec"), module.__dict__)
    return module


EXAMPLE = _example_module()


class TestDocumentedExampleConformance(BackendConformance):
    etag_is_md5 = True

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        spec: Any = EXAMPLE.SPEC
        return spec.capabilities  # type: ignore[no-any-return]

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        store: Backend = EXAMPLE.DirStore(tmp_path / "store")
        return store


def test_example_registers_its_backend() -> None:
    seen = []
    EXAMPLE.casman_register_backends(seen.append)
    assert [spec.name for spec in seen] == ["dirstore"]
    assert seen[0].options[0].env == "DIRSTORE_ROOT"
