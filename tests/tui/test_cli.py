"""The CLI's way into the TUI: it opens only when it has something to show."""

from __future__ import annotations

from pathlib import Path

from tests.support import run_cli


def test_drifttui_without_a_cluster_says_so_in_one_line(tmp_path: Path) -> None:
    result = run_cli(home=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("drifttui: error: no kubeconfig")
    assert "Traceback" not in result.stderr
    assert "\x1b[" not in result.stdout  # the TUI never took the terminal
