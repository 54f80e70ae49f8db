"""``drifttui --once`` over HTTP, for what makes it fast (bench/once_http.py measures it):
it loads no module it does not use, and every shortcut gives the report the slow way gives
(the hub's parsed units, the document cache, YAML; kinds listed together)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from drifttui.hub.local import SqliteHub
from tests.cluster.apiserver import EmulatorThread
from tests.cluster.conftest import deployment as cluster_deployment
from tests.support import cli_env, run_cli

NS = "shop"
SPACE = "shop-dev"

NOT_FOR_ONCE = (
    "anthropic",
    "textual",
    "starlette",
    "uvicorn",
    "prometheus_client",
    "httpx",
    "requests",
    "requests_oauthlib",
    "websocket",
    "kubernetes.dynamic",
    "kubernetes.stream",
    "drifttui.analysis",
    "drifttui.remediation",
    "drifttui.tui",
    "drifttui.service",
    "drifttui.commands.diff",
    "drifttui.commands.watch",
    "drifttui.commands.fix",
)


def deployment(name: str, replicas: int) -> dict[str, Any]:
    return cluster_deployment(
        name,
        replicas,
        f"registry.example/{name}:1.0",
        ports=[{"containerPort": 8080}],
        resources={"requests": {"cpu": "100m", "memory": "64Mi"}},
    )


def configmap(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"LOG_LEVEL": "info"},
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Six Deployments and a ConfigMap desired in an embedded hub and live in the emulator;
    two Deployments scaled by hand, one ConfigMap edited by hand."""
    tmp = tmp_path_factory.mktemp("once")
    desired = [deployment(f"web-{i}", 2) for i in range(6)] + [configmap("settings")]
    hub = SqliteHub(tmp / "hub.db")
    hub.create_space(SPACE)
    hub.create_units(
        SPACE, [(o["metadata"]["name"], yaml.safe_dump(o), {}) for o in desired], "seed"
    )
    hub.close()
    emu = EmulatorThread()
    for obj in desired:
        emu.create(obj)

    def scale(obj: dict[str, Any]) -> None:
        obj["spec"]["replicas"] = 7

    def edit(obj: dict[str, Any]) -> None:
        obj["data"]["LOG_LEVEL"] = "debug"

    for name in ("web-1", "web-4"):
        emu.modify("apps/v1", "Deployment", NS, name, scale, manager="kubectl")
    emu.modify("v1", "ConfigMap", NS, "settings", edit, manager="kubectl-edit")
    kubeconfig = emu.write_kubeconfig(tmp / "kubeconfig")
    env = {
        "KUBECONFIG": str(kubeconfig),
        "DRIFTTUI_HUB": str(tmp / "hub.db"),
        "CUB_SPACE": SPACE,
        "NAMESPACE": NS,
    }
    try:
        yield {"tmp": tmp, "env": env, "hub": tmp / "hub.db"}
    finally:
        emu.close()


def once(world: dict[str, Any], home: Path) -> dict[str, Any]:
    home.mkdir(exist_ok=True)
    res = run_cli("--once", "-o", "json", home=home, env=world["env"])
    assert res.returncode == 1, res.stderr
    report: dict[str, Any] = json.loads(res.stdout)
    report.pop("generatedAt", None)
    return report


def test_once_loads_no_module_it_does_not_use(world: dict[str, Any], tmp_path: Path) -> None:
    seen = tmp_path / "modules.json"
    code = (
        "import json, sys\n"
        "from drifttui.cli import main\n"
        "code = main(['--once', '-o', 'json'])\n"
        f"json.dump(sorted(sys.modules), open({str(seen)!r}, 'w'))\n"
        "raise SystemExit(code)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(tmp_path, world["env"]),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(tmp_path),
    )
    assert res.returncode == 1, res.stderr
    report = json.loads(res.stdout)
    assert report["summary"]["drifted"] == 3
    modules = json.loads(seen.read_text())
    loaded = [m for m in NOT_FOR_ONCE if any(n == m or n.startswith(m + ".") for n in modules)]
    assert loaded == []
    assert "drifttui.cluster.kube" in modules  # the official client did the requests


def test_every_way_of_reading_the_units_gives_the_same_report(
    world: dict[str, Any], tmp_path: Path
) -> None:
    from_hub = once(world, tmp_path / "a")  # the hub's parsed units: no YAML parsed
    cache = tmp_path / "a" / ".local/share/drifttui/cache/documents-v1.jsonl"
    assert not cache.exists()  # nothing was parsed, so nothing was cached

    with sqlite3.connect(world["hub"]) as db:  # a hub that kept no parse: YAML, then cache
        kept = db.execute("SELECT slug, parsed_json, parsed_hash FROM units").fetchall()
        db.execute("UPDATE units SET parsed_json = NULL, parsed_hash = NULL")
    try:
        from_yaml = once(world, tmp_path / "b")
        cache = tmp_path / "b" / ".local/share/drifttui/cache/documents-v1.jsonl"
        assert len(cache.read_text().splitlines()) == 1 + 7  # header + every unit
        from_cache = once(world, tmp_path / "b")
    finally:
        with sqlite3.connect(world["hub"]) as db:
            db.executemany(
                "UPDATE units SET parsed_json = ?, parsed_hash = ? WHERE slug = ?",
                [(j, h, s) for s, j, h in kept],
            )
    assert from_hub == from_yaml == from_cache
    drifted = {
        (r["name"], f["path"])
        for e in from_hub["environments"]
        for r in e["resources"]
        for f in r["findings"]
    }
    assert drifted == {
        ("web-1", "spec.replicas"),
        ("web-4", "spec.replicas"),
        ("settings", "data.LOG_LEVEL"),
    }
    assert from_hub["summary"]["total"] == 7


def test_the_command_line_builds_only_the_subcommand_it_names() -> None:
    from drifttui.cli import COMMANDS, build_parser

    full = build_parser()
    light = build_parser(["--once", "-o", "json"])
    assert light.format_help() == full.format_help()  # every subcommand still listed
    assert vars(light.parse_args(["--once", "--env", "dev"])) == vars(
        full.parse_args(["--once", "--env", "dev"])
    )
    for name, _, _ in COMMANDS:
        argv = [name, "--help"]
        with pytest.raises(SystemExit) as shown:
            build_parser(argv).parse_args(argv)
        assert shown.value.code == 0
    with pytest.raises(SystemExit) as refused:
        light.parse_args(["nosuch"])
    assert refused.value.code == 2
