"""Helpers shared by the test suites: run the real CLI as a user would, find fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def cli_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the CLI: its own HOME, no ConfigHub/Claude credentials
    inherited from the machine, the checkout on PYTHONPATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CUB_", "CLAUDE_", "ANTHROPIC_", "DRIFTTUI_", "KUBECONFIG"))
        and k not in {"NAMESPACE", "AUTO_FIX", "XDG_DATA_HOME", "XDG_CONFIG_HOME"}
    }
    env["HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "160"
    if extra:
        env.update(extra)
    return env


def run_cli(
    *args: str,
    home: Path,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``drifttui ARGS`` in a subprocess (``python -m drifttui``)."""
    return subprocess.run(
        [sys.executable, "-m", "drifttui", *args],
        env=cli_env(home, env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(cwd or home),
    )
