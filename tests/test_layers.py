"""The direction of imports (DESIGN §2, §5): rules live low, renderers sit on top.

Read from the source with ``ast``, so a forbidden import fails here even when it sits in a
function body that no other test runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "casman"
SYNC_VERBS = ("checkpoint", "restore", "status", "maintain", "conflicts", "auto", "dryrun")
SYNC_CORE = ("engine", "session", "errors", "offsite", "site", "store", "fold")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> list[tuple[str, set[str]]]:
    folder = ROOT.parent / package.replace(".", "/")
    files = [folder.with_suffix(".py")] if folder.with_suffix(".py").exists() else []
    files += sorted(folder.rglob("*.py")) if folder.is_dir() else []
    return [(_module(path), _imports(path)) for path in files]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("package", ["casman.db", "casman.storage", "casman.sync", "casman.domain"])
def test_the_engine_never_imports_the_cli_the_web_or_click(package: str) -> None:
    for module, imports in _modules(package):
        bad = [i for i in imports if _under(i, "casman.cli") or _under(i, "casman.web")]
        bad += [i for i in imports if _under(i, "click")]
        assert not bad, f"{module} imports {bad}"


def test_the_domain_imports_nothing_of_casman_but_errors() -> None:
    for module, imports in _modules("casman.domain"):
        bad = [
            i
            for i in imports
            if _under(i, "casman")
            and not _under(i, "casman.domain")
            and not _under(i, "casman.errors")
        ]
        assert not bad, f"{module} imports {bad}"


def test_the_db_layer_never_imports_sync_or_storage() -> None:
    for module, imports in _modules("casman.db"):
        bad = [i for i in imports if _under(i, "casman.sync") or _under(i, "casman.storage")]
        assert not bad, f"{module} imports {bad}"


def test_the_fold_is_pure() -> None:
    for module, imports in _modules("casman.sync.fold"):
        bad = [
            i
            for i in imports
            if i in ("sqlite3", "os", "pathlib", "socket")
            or _under(i, "casman.db")
            or _under(i, "casman.storage")
            or (_under(i, "casman.sync") and not _under(i, "casman.sync.fold"))
        ]
        assert not bad, f"{module} imports {bad}"


def test_sync_verbs_never_import_each_other_and_the_core_never_imports_a_verb() -> None:
    for verb in SYNC_VERBS:
        for module, imports in _modules(f"casman.sync.{verb}"):
            others = [
                i
                for i in imports
                for other in SYNC_VERBS
                if other != verb and _under(i, f"casman.sync.{other}")
            ]
            assert not others, f"{module} imports {others}"
    for core in SYNC_CORE:
        for module, imports in _modules(f"casman.sync.{core}"):
            verbs = [i for i in imports for v in SYNC_VERBS if _under(i, f"casman.sync.{v}")]
            assert not verbs, f"{module} imports {verbs}"


def test_nothing_below_the_cli_imports_it() -> None:
    for package in ("casman.array", "casman.db", "casman.domain", "casman.storage", "casman.sync"):
        for module, imports in _modules(package):
            assert not [i for i in imports if _under(i, "casman.cli")], module
