"""The headless faces never load the TUI: `--once`, `demo --once` and the service import no
textual (and `--once` without --analyze no anthropic), proven in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import cli_env


def imported_modules(args: list[str], home: Path) -> set[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['drifttui', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('drifttui', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sorted(m.split('.')[0] for m in sys.modules)), file=sys.stderr)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=home,
    )
    return set(res.stderr.split())


@pytest.mark.parametrize(
    ("args", "forbidden"),
    [
        (["demo", "--once", "-o", "json"], {"textual", "anthropic", "starlette", "uvicorn"}),
        (["demo", "--once", "--analyze", "-o", "json"], {"textual"}),
        (["config"], {"textual", "anthropic", "kubernetes"}),
        (["hub", "spaces"], {"textual", "anthropic", "kubernetes"}),
    ],
)
def test_headless_paths_do_not_load_the_tui(
    args: list[str], forbidden: set[str], tmp_path: Path
) -> None:
    modules = imported_modules(args, tmp_path)
    assert "drifttui" in modules
    assert not (modules & forbidden), sorted(modules & forbidden)
