"""The complete example in docs/writing-a-backend.md really passes the conformance suite,
with SHA-256 ETags, and the guide documents everything a backend may return or declare."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from casman.storage import Backend, Capabilities, content_md5, errors
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
    """Written only from the guide: SHA-256 ETags, declared opaque, pass the whole suite."""

    @pytest.fixture
    def capabilities(self, backend: Backend) -> Capabilities:
        spec: Any = EXAMPLE.SPEC
        return spec.capabilities  # type: ignore[no-any-return]

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        store: Backend = EXAMPLE.DirStore(tmp_path / "store")
        return store


def test_the_example_etag_is_a_sha256_not_an_md5(tmp_path: Path) -> None:
    store = EXAMPLE.DirStore(tmp_path / "store")
    info = store.put("k", b"body", metadata={}, content_md5=content_md5(b"body"))
    assert info.etag == hashlib.sha256(b"body").hexdigest() != hashlib.md5(b"body").hexdigest()
    assert EXAMPLE.SPEC.capabilities.etag == "opaque"


def test_example_registers_its_backend() -> None:
    seen = []
    EXAMPLE.casman_register_backends(seen.append)
    assert [spec.name for spec in seen] == ["dirstore"]
    assert seen[0].options[0].env == "DIRSTORE_ROOT"


def test_the_guide_names_everything_a_backend_may_declare_or_return() -> None:
    text = DOC.read_text(encoding="utf-8")
    for capability in dataclasses.fields(Capabilities):
        assert f"`{capability.name}" in text or f"{capability.name}," in text, capability.name
    storage_errors = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.StorageError)
    ]
    raised_by_backends = {
        "BackendConfigError",
        "BackendUnavailableError",
        "ChecksumMismatchError",
        "ObjectNotFoundError",
        "ObjectTooLargeError",
        "PreconditionFailedError",
    }
    assert raised_by_backends <= set(storage_errors)
    for name in sorted(raised_by_backends):
        assert f"`{name}`" in text, name
    assert "`request_sent: bool`" in text
    assert "`tidy(prefix) -> list[str]`" in text
    assert "`capabilities` attribute" in text
