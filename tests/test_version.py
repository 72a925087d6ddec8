"""``casman --version`` names casman's version and every installed plugin distribution."""

from __future__ import annotations

import casman
from tests.conftest import Casman


def casman_version() -> str:
    return casman.__version__


def test_version_lists_the_plugins(casman: Casman) -> None:
    out = casman.ok("--version").stdout.splitlines()
    assert out[0] == f"casman {casman_version()}"
    assert any(line.strip().startswith("plugin local: casman-local ") for line in out[1:])
    assert any(line.strip().startswith("plugin s3: casman-s3 ") for line in out[1:])


def test_one_source_for_the_version() -> None:
    from importlib.metadata import version

    assert version("casman") == casman.__version__
