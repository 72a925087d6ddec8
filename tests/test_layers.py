"""The direction of imports (DESIGN §2, §5): rules live low, renderers sit on top.

Read from the source with ``ast``, so a forbidden import fails here even when it sits in a
function body that no other test runs. The plugin host (``casman.hookspecs``,
``casman.plugins``) sits below storage: storage and everything above import it, and it
imports none of them (imports for type checkers only, under ``if TYPE_CHECKING:``, are no
dependency at run time; built-in plugins are named by ``module:attribute`` strings).
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


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, runtime_only: bool) -> list[ast.AST]:
    found: list[ast.AST] = [node]
    for child in ast.iter_child_nodes(node):
        if runtime_only and _type_checking_only(child):
            assert isinstance(child, ast.If)
            for other in child.orelse:
                found.extend(_walk(other, runtime_only))
            continue
        found.extend(_walk(child, runtime_only))
    return found


def _imports(path: Path, runtime_only: bool = False) -> set[str]:
    found: set[str] = set()
    for node in _walk(ast.parse(path.read_text(encoding="utf-8")), runtime_only):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str, runtime_only: bool = False) -> list[tuple[str, set[str]]]:
    folder = ROOT.parent / package.replace(".", "/")
    files = [folder.with_suffix(".py")] if folder.with_suffix(".py").exists() else []
    files += sorted(folder.rglob("*.py")) if folder.is_dir() else []
    return [(_module(path), _imports(path, runtime_only)) for path in files]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


ENGINE = ["casman.db", "casman.storage", "casman.sync", "casman.domain"]
HOST = ["casman.hookspecs", "casman.plugins"]


@pytest.mark.parametrize("package", ENGINE + HOST)
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


@pytest.mark.parametrize("host", HOST)
def test_the_plugin_host_sits_below_storage(host: str) -> None:
    """At run time the host imports pluggy and itself, never a layer that uses it."""
    for module, imports in _modules(host, runtime_only=True):
        bad = [
            i
            for i in imports
            if _under(i, "casman")
            and i not in ("casman", "casman.__version__")
            and not any(_under(i, other) for other in HOST)
        ]
        assert not bad, f"{module} imports {bad}"


def test_the_host_is_imported_from_the_top_not_from_storage() -> None:
    """``casman.storage.plugins``/``hookspecs`` are aliases kept for old imports; casman's
    own modules import the host where it lives."""
    aliases = ("casman.storage.plugins", "casman.storage.hookspecs")
    for path in sorted(ROOT.rglob("*.py")):
        module = _module(path)
        if module in aliases:
            continue
        imports = _imports(path)
        bad = [i for i in imports if any(_under(i, alias) for alias in aliases)]
        assert not bad, f"{module} imports {sorted(set(bad))}"


def test_builtin_plugins_are_listed_by_name_and_exist() -> None:
    """The host names each built-in as ``module:attribute``; each module is in casman, sits
    in a layer that may import the host, and defines the attribute."""
    from casman.plugins import BUILTIN_PLUGINS

    for builtin in BUILTIN_PLUGINS:
        module, _, attribute = builtin.target.partition(":")
        path = ROOT.parent / (module.replace(".", "/") + ".py")
        package = ROOT.parent / module.replace(".", "/") / "__init__.py"
        source = path if path.exists() else package
        assert source.exists(), builtin
        assert any(_under(module, layer) for layer in ("casman.storage", "casman.sync"))
        tree = ast.parse(source.read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
        names |= {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert attribute in names, builtin
