"""examples/casman-dirstore is a plugin package as a third party ships one, checked as its
CI would: the wheel is built, installed with ``casman[testing]`` in a fresh virtual
environment (casman itself from a wheel built here), and the conformance suite runs there
against the installed entry point. Its backend is the guide's example, statement for
statement."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "casman-dirstore"
GUIDE = ROOT / "docs" / "writing-a-backend.md"


def _guide_block(label: str, language: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(rf"`{re.escape(label)}`:\s*```{language}\n(.*?)```", text, re.DOTALL)
    assert match is not None, label
    return match.group(1)


@pytest.mark.parametrize(
    ("label", "path"),
    [
        ("casman_dirstore.py", "casman_dirstore.py"),
        ("tests/test_conformance.py", "tests/test_conformance.py"),
    ],
)
def test_the_example_package_is_the_guides_example(label: str, path: str) -> None:
    """Formatting aside (the package is ruff-formatted), the same code."""
    guide = ast.dump(ast.parse(_guide_block(label, "python")))
    assert ast.dump(ast.parse((EXAMPLE / path).read_text(encoding="utf-8"))) == guide


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={k: v for k, v in os.environ.items() if not k.startswith(("CASMAN_", "PYTEST"))},
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_its_wheel_installs_in_a_fresh_venv_and_passes_the_suite(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for project in (ROOT, ROOT / "plugins" / "casman_local", EXAMPLE):
        source = tmp_path / "src" / project.name  # a clean copy: no build/ or egg-info
        shutil.copytree(
            project,
            source,
            ignore=shutil.ignore_patterns(
                ".venv",
                "build",
                "dist",
                "*.egg-info",
                "__pycache__",
                ".git",
                "tests",
                "plugins",
                "benchmarks",
                "test-artifacts",
                "examples",
            )
            if project == ROOT
            else shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__"),
        )
        _run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, source)
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["casman", "casman_dirstore", "casman_local"]
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "--find-links", dist, "casman-dirstore[test]")
    frozen = _run(python, "-m", "pip", "freeze")
    assert "casman-dirstore==0.1.0" in frozen and "pytest==" in frozen
    # the tests alone, away from the source: only the installed module can be imported
    tests = tmp_path / "ci" / "tests"
    shutil.copytree(EXAMPLE / "tests", tests)
    out = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", ".", cwd=tests)
    assert re.search(r"\b3\d passed", out) and "failed" not in out, out
    plugins = _run(env_dir / "bin" / "casman", "plugins", cwd=tmp_path)
    assert "dirstore (casman-dirstore 0.1.0) — backends: dirstore" in plugins
    assert "casman_register_backends: " in plugins and "dirstore" in plugins.split("Hooks")[1]
