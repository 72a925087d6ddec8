"""``casman plugins``: what loaded, what each plugin registers, every hook implementation
with its plugin (built-ins included, in call order), and what failed and why.

The first place to look when ``--backend r2`` says "unknown backend": a plugin that failed
to import is listed here with its reason instead of breaking every command. No setting
values are printed, only the names of the options and their environment variables, so the
output (and ``--json``) can be pasted into an issue.
"""

from __future__ import annotations

import json
from typing import Any

import click

from casman.plugins import HookImplementation, hook_implementations
from casman.storage.backend import BackendSpec
from casman.storage.registry import PluginInfo, backend_owner, backend_specs, plugin_report


def _plugin_json(info: PluginInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "distribution": info.distribution,
        "version": info.version,
        "builtin": info.builtin,
        "backends": list(info.backends),
        "error": info.error,
        "problems": list(info.problems),
    }


def _backend_json(spec: BackendSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "plugin": backend_owner(spec.name),
        "description": spec.description,
        "conditional_writes": spec.capabilities.conditional_writes,
        "protocol": spec.protocol,
        "options": [
            {
                "name": option.name,
                "env": option.env,
                "secret": option.secret,
                "required": option.required,
                # A secret option's default is not shown either: it is still a secret.
                "default": None if option.secret else option.default,
            }
            for option in spec.options
        ],
    }


def _hooks_json(found: list[HookImplementation]) -> dict[str, list[dict[str, Any]]]:
    hooks: dict[str, list[dict[str, Any]]] = {}
    for impl in found:
        hooks.setdefault(impl.hook, []).append(
            {
                "plugin": impl.plugin,
                "wrapper": impl.wrapper,
                "tryfirst": impl.tryfirst,
                "trylast": impl.trylast,
            }
        )
    return hooks


def report_json() -> dict[str, Any]:
    """The stable ``--json`` document: plugins in load order, backends sorted by name, and
    each hook's implementations in the order pluggy calls them."""
    specs = backend_specs()
    return {
        "plugins": [_plugin_json(info) for info in plugin_report()],
        "backends": [_backend_json(specs[name]) for name in sorted(specs)],
        "hooks": _hooks_json(hook_implementations()),
    }


def _impl_label(impl: HookImplementation) -> str:
    marks = [m for m, on in (("wrapper", impl.wrapper), ("tryfirst", impl.tryfirst)) if on]
    marks += ["trylast"] if impl.trylast else []
    return f"{impl.plugin} [{', '.join(marks)}]" if marks else impl.plugin


def _origin(info: PluginInfo) -> str:
    if info.distribution is None:
        return "unknown distribution"
    return f"{info.distribution} {info.version or ''}".strip()


def _echo_human() -> None:
    report = plugin_report()
    failed = [info for info in report if info.error]
    click.echo("Plugins:")
    for info in report:
        if info.error:
            continue
        kind = " [built-in]" if info.builtin else ""
        backends = f" — backends: {', '.join(info.backends)}" if info.backends else ""
        click.echo(f"  {info.name} ({_origin(info)}){kind}{backends}")
        for problem in info.problems:
            click.echo(f"    problem: {problem}")
    specs = backend_specs()
    click.echo("Backends:")
    if not specs:
        click.echo("  none; install one, e.g. pip install casman-local")
    width = max((len(name) for name in specs), default=0)
    for name in sorted(specs):
        spec = specs[name]
        env = [option.env for option in spec.options if option.env]
        settings = f" (settings: {', '.join(env)})" if env else ""
        click.echo(f"  {name.ljust(width)}  {spec.description}{settings}")
    click.echo("Hooks (implementations in call order):")
    for hook, impls in _group(hook_implementations()).items():
        names = ", ".join(_impl_label(impl) for impl in impls) or "none"
        click.echo(f"  {hook}: {names}")
    if failed:
        click.echo("Failed to load:")
        for info in failed:
            click.echo(f"  {info.name} ({_origin(info)}): {info.error}")


def _group(found: list[HookImplementation]) -> dict[str, list[HookImplementation]]:
    from casman.hookspecs import HOOK_NAMES

    grouped: dict[str, list[HookImplementation]] = {hook: [] for hook in HOOK_NAMES}
    for impl in found:
        grouped.setdefault(impl.hook, []).append(impl)
    return grouped


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List plugins, the backends they register and every hook implementation."""
    if as_json:
        click.echo(json.dumps(report_json(), indent=2, sort_keys=True))
    else:
        _echo_human()
