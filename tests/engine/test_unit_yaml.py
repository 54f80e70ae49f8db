"""Unit data is read as kubectl and the API server read YAML: an unquoted date in a
ConfigMap is the text the cluster holds, not a drift against it."""

from __future__ import annotations

from pathlib import Path

from drifttui.cluster.sim import SimulatedCluster
from drifttui.core.models import Environment
from drifttui.engine import Engine
from drifttui.hub.local import SqliteHub
from drifttui.manifests_io import parse_manifests

NS = "shop"

RELEASE = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: release}
data:
  RELEASED: 2026-11-25
  ROLLOUT_AT: 2026-11-25T10:00:00Z
  ENABLED: "yes"
"""

LIVE = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "release", "namespace": NS},
    "data": {"RELEASED": "2026-11-25", "ROLLOUT_AT": "2026-11-25T10:00:00Z", "ENABLED": "yes"},
}


def _engine(tmp_path: Path, live: dict[str, object]) -> Engine:
    hub = SqliteHub(tmp_path / "hub.db")
    hub.create_space("s")
    hub.create_units("s", [("release", RELEASE, {})])
    cluster = SimulatedCluster("c", namespace=NS)
    cluster.seed([live])
    engine = Engine(
        environments=[Environment(name="dev", space="s", namespace=NS)],
        hub=hub,
        clusters={"dev": cluster},
    )
    engine.snapshot_environment("dev")
    return engine


def test_an_unquoted_date_in_a_unit_is_not_drift_against_the_live_text(tmp_path: Path) -> None:
    engine = _engine(tmp_path, LIVE)
    (item,) = engine.store.items("dev")
    assert not item.is_drifted, [(f.path, f.desired, f.live) for f in item.fields]
    desired = engine.desired_object("dev", item.key)
    assert desired["data"]["RELEASED"] == "2026-11-25"
    # the same file given to `drifttui diff` reads the same
    (manifest,) = parse_manifests(RELEASE, "release.yaml")
    assert manifest.obj["data"] == LIVE["data"]


def test_a_changed_date_is_still_drift(tmp_path: Path) -> None:
    live = {**LIVE, "data": {**LIVE["data"], "RELEASED": "2026-12-01"}}
    engine = _engine(tmp_path, live)
    (item,) = engine.store.items("dev")
    assert [(f.path, f.desired, f.live) for f in item.fields] == [
        (("data", "RELEASED"), "2026-11-25", "2026-12-01")
    ]
