"""Shell completion works for every group, command and option (driven as bash does)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.test_real_processes import _casman_exe


def complete(words: str) -> list[str]:
    parts = words.split()
    cword = len(parts) if words.endswith(" ") else len(parts) - 1
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    env["_CASMAN_COMPLETE"] = "bash_complete"
    done = subprocess.run(_casman_exe(), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("casman ", {"sync", "parts", "assembly", "config", "web"}),
        ("casman sy", {"sync"}),
        ("casman sync ", {"backup", "list", "restore", "sync", "status", "maintain", "push"}),
        ("casman sync backup --", {"--dry-run", "--json"}),
        ("casman config ", {"path", "show", "init"}),
        ("casman assembly ", {"connect", "disconnect", "chain", "history"}),
        ("casman --", {"--config", "--database-dir", "--verbose", "--version"}),
    ],
)
def test_completion(words: str, expected: set[str]) -> None:
    assert expected <= set(complete(words))


def test_plot_without_matplotlib_is_one_line_naming_the_extra(tmp_path: object) -> None:
    """Run with matplotlib hidden (a module finder that refuses it), as after
    `pip install casman` without the plot extra."""
    script = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'matplotlib' or name.startswith('matplotlib.'):\n"
        "            raise ModuleNotFoundError(name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from casman.cli import main\n"
        "sys.argv = ['casman', 'antenna', 'plot', '--csv', sys.argv[1], '--output', sys.argv[2]]\n"
        "main()\n"
    )
    from tests.conftest import GRID_CSV

    done = subprocess.run(
        [sys.executable, "-c", script, str(GRID_CSV), f"{tmp_path}/grid.png"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CASMAN_DATABASE_DIR": f"{tmp_path}/db"},
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (
        "Error: casman antenna plot needs matplotlib: pip install 'casman[plot]'"
    )
