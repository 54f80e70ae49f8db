"""The headless CLI given bad or odd input: one clear line on stderr, exit 2, nothing else.

Each test drives ``python -m drifttui`` the way an operator does on first use."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support import run_cli


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _kubeconfig(path: Path, server: str, token: str = "kube-token-0123456789") -> Path:
    path.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "{server}"}}
contexts:
- name: ctx
  context: {{cluster: c, user: u}}
current-context: ctx
users:
- name: u
  user: {{token: {token}}}
"""
    )
    return path


def test_an_unreachable_cluster_is_one_error_line_not_a_flood_of_retry_warnings(
    tmp_path: Path,
) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{_closed_port()}")
    env = {"KUBECONFIG": str(kubeconfig), "DRIFTTUI_HUB": str(tmp_path / "hub.db")}
    assert (
        run_cli("init", "--prefix", "shop", "--envs", "dev", home=tmp_path, env=env).returncode == 0
    )

    result = run_cli(
        "--once", home=tmp_path, env={**env, "CUB_SPACE": "shop-dev", "NAMESPACE": "shop"}
    )

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "Retrying" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "kube-token-0123456789" not in result.stderr + result.stdout
    errors = [line for line in lines if line.startswith("drifttui: error: ")]
    assert len(errors) == 1, lines
    assert "connection refused" in errors[0]
    assert "check that the cluster is reachable" in errors[0]
    assert len(lines) == 1, lines
