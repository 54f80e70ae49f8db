"""The headless CLI end to end against an emulated Kubernetes API over HTTP (the real
``kubernetes`` client through a kubeconfig) and an embedded hub file: init, import,
promote, apply, drift by hand, ``--once`` in every format, ``fix``, ``--once`` clean."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from drifttui.hub.local import SqliteHub
from tests.cluster.apiserver import EmulatorThread
from tests.support import FIXTURES, run_cli

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "nginx:1.25"
          resources: {requests: {cpu: 500m, memory: 512Mi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {LOG_LEVEL: info}
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread()
    yield emu
    emu.close()


@pytest.fixture
def world(tmp_path: Path, emulator: EmulatorThread) -> dict[str, Any]:
    """An embedded hub with chain shop (base -> dev -> prod), the app in dev, applied."""
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    env = {"KUBECONFIG": str(kubeconfig), "DRIFTTUI_HUB": str(tmp_path / "hub.db")}
    for obj in emulator.objects("apps/v1", "Deployment", "shop"):
        emulator.delete("apps/v1", "Deployment", "shop", obj["metadata"]["name"])
    for obj in emulator.objects("v1", "ConfigMap", "shop"):
        emulator.delete("v1", "ConfigMap", "shop", obj["metadata"]["name"])
    (tmp_path / "app.yaml").write_text(APP)

    def cli(*args: str, **kw: Any) -> Any:
        return run_cli(*args, home=tmp_path, env={**env, **kw.pop("env", {})}, **kw)

    assert cli("init", "--prefix", "shop", "--envs", "dev,prod").returncode == 0
    # this test cluster runs no detector: keep only the app's units in the chain
    hub = SqliteHub(tmp_path / "hub.db")
    for space in ("shop-prod", "shop-dev", "shop-base"):
        for unit in hub.list_units(space):
            hub.delete_unit(space, unit.slug)
    hub.close()
    assert cli("import", str(tmp_path / "app.yaml"), "--space", "shop-base").returncode == 0
    assert cli("promote", "shop-base", "shop-dev", "--yes").returncode == 0
    applied = cli("apply", "dev", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return {"cli": cli, "tmp": tmp_path, "emu": emulator}


def test_apply_records_the_live_revision(world: dict[str, Any]) -> None:
    units = json.loads(world["cli"]("hub", "units", "--space", "shop-dev", "-o", "json").stdout)
    by_slug = {u["Slug"]: u for u in units}
    assert set(by_slug) == {"web", "cfg"}
    out = world["cli"]("hub", "units", "--space", "shop-dev").stdout
    assert "Applied" in out
    assert world["emu"].get("apps/v1", "Deployment", "shop", "web")["spec"]["replicas"] == 2


def test_clean_cluster_exits_zero(world: dict[str, Any]) -> None:
    res = world["cli"]("--once", "-o", "json")
    assert res.returncode == 0, res.stdout[-800:] + res.stderr
    report = json.loads(res.stdout)
    assert report["summary"]["drifted"] == 0
    assert report["summary"]["inSync"] == 2


def test_drift_by_hand_is_reported_in_every_format_then_fixed(world: dict[str, Any]) -> None:
    emu, cli, tmp = world["emu"], world["cli"], world["tmp"]

    def scale(obj: dict[str, Any]) -> None:
        obj["spec"]["replicas"] = 5

    emu.modify("apps/v1", "Deployment", "shop", "web", scale, manager="kubectl")

    def edit(obj: dict[str, Any]) -> None:
        obj["data"]["LOG_LEVEL"] = "debug"

    emu.modify("v1", "ConfigMap", "shop", "cfg", edit, manager="kubectl-edit")
    res = cli(
        "--once",
        "-o",
        "table",
        "-o",
        f"json={tmp / 'r.json'}",
        "-o",
        f"sarif={tmp / 'r.sarif'}",
        "-o",
        f"junit={tmp / 'r.xml'}",
        "-o",
        f"markdown={tmp / 'r.md'}",
        "-o",
        f"yaml={tmp / 'r.yaml'}",
    )
    assert res.returncode == 1, res.stderr
    assert "web" in res.stdout
    assert "spec.replicas" in res.stdout
    report = json.loads((tmp / "r.json").read_text())
    schema = json.loads(
        (Path(__file__).parents[2] / "drifttui/schemas/report.schema.json").read_text()
    )
    jsonschema.validate(report, schema)
    findings = {
        (r["name"], f["path"], str(f["live"]))
        for env in report["environments"]
        for r in env["resources"]
        for f in r["findings"]
    }
    assert ("web", "spec.replicas", "5") in findings
    assert ("cfg", "data.LOG_LEVEL", "debug") in findings
    sarif = json.loads((tmp / "r.sarif").read_text())
    jsonschema.validate(sarif, json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text()))
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
        for loc in r["locations"]
    }
    assert "confighub://shop-dev/web#/spec/replicas" in uris
    cases = ET.parse(tmp / "r.xml").getroot().findall(".//testcase")
    failing = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert len(cases) == 2
    assert {cls for cls, _ in failing} == {"dev.Deployment", "dev.ConfigMap"}
    assert "spec.replicas" in (tmp / "r.md").read_text()

    detailed = cli("--once", "-o", "json", "--detailed-exitcode")
    assert detailed.returncode == 2  # Terraform's "changes present"

    dry = cli("fix", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "spec.replicas: 5 -> 2" in dry.stdout
    assert emu.get("apps/v1", "Deployment", "shop", "web")["spec"]["replicas"] == 5

    fixed = cli("fix", "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    live = emu.get("apps/v1", "Deployment", "shop", "web")
    assert live["spec"]["replicas"] == 2
    managers = {m["manager"] for m in live["metadata"]["managedFields"]}
    assert "drifttui" in managers
    assert emu.get("v1", "ConfigMap", "shop", "cfg")["data"]["LOG_LEVEL"] == "info"
    again = cli("--once", "-o", "json")
    assert again.returncode == 0, again.stdout[-600:]


def test_fix_without_yes_on_a_pipe_refuses_and_changes_nothing(world: dict[str, Any]) -> None:
    def scale(obj: dict[str, Any]) -> None:
        obj["spec"]["replicas"] = 4

    world["emu"].modify("apps/v1", "Deployment", "shop", "web", scale, manager="kubectl")
    res = world["cli"]("fix", input="")
    assert res.returncode == 2
    assert "--yes" in res.stderr
    assert world["emu"].get("apps/v1", "Deployment", "shop", "web")["spec"]["replicas"] == 4


def test_unreachable_cluster_is_an_error_never_clean(world: dict[str, Any]) -> None:
    bad = world["tmp"] / "bad-kubeconfig"
    bad.write_text(
        "apiVersion: v1\nkind: Config\n"
        "clusters: [{name: x, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: u}}]\ncurrent-context: x\n"
    )
    res = world["cli"]("--once", "-o", "json", env={"KUBECONFIG": str(bad)})
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    report = json.loads(res.stdout)
    assert report["environments"][0]["error"]
