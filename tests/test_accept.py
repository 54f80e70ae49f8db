"""Accepting live values into desired: the document a unit gets from the `a` key."""

from __future__ import annotations

import base64

from drifttui.core.accept import accept_live, delete_path, set_path
from drifttui.core.diff import DiffContext, diff_keyed
from drifttui.core.models import (
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Sel,
    Severity,
    format_path,
)

KEY = ResourceKey("apps", "Deployment", "shop", "backend-api")


def desired() -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "backend-api", "namespace": "shop"},
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "api",
                            "image": "api:1",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        }
                    ]
                }
            },
        },
    }


def live() -> dict:
    obj = desired()
    obj["spec"]["replicas"] = 5
    c = obj["spec"]["template"]["spec"]["containers"][0]
    c["env"] = [{"name": "A", "value": "1"}, {"name": "EXTRA", "value": "x"}]
    obj["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "proxy:2"})
    obj["metadata"]["labels"] = {"team": "ops"}
    return obj


def fd(path: tuple, change: Change, ignored: str | None = None) -> FieldDrift:
    return FieldDrift(path, change, None, None, Category.OTHER, Severity.LOW, ignored_by=ignored)


CONTAINERS = ("spec", "template", "spec", "containers")


def item(*fields: FieldDrift) -> DriftItem:
    return DriftItem(KEY, "apps/v1", ResourceStatus.DRIFTED, fields)


def test_accept_takes_changed_added_and_removed_from_live() -> None:
    api = Sel((("name", "api"),))
    it = item(
        fd(("spec", "replicas"), Change.CHANGED),
        fd((*CONTAINERS, api, "env", Sel((("name", "EXTRA"),))), Change.ADDED),
        fd((*CONTAINERS, api, "env", Sel((("name", "B"),))), Change.REMOVED),
        fd((*CONTAINERS, Sel((("name", "sidecar"),))), Change.ADDED),
        fd(("metadata", "labels", "team"), Change.ADDED),
    )
    out = accept_live(desired(), live(), it)
    assert out["spec"]["replicas"] == 5
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["api", "sidecar"]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "EXTRA", "value": "x"}]
    assert out["metadata"]["labels"] == {"team": "ops"}


def test_accept_leaves_ignored_findings_as_desired() -> None:
    it = item(fd(("spec", "replicas"), Change.CHANGED, ignored="hpa"))
    assert accept_live(desired(), live(), it)["spec"]["replicas"] == 3


def test_accept_does_not_touch_the_input() -> None:
    d = desired()
    accept_live(d, live(), item(fd(("spec", "replicas"), Change.CHANGED)))
    assert d == desired()


def test_set_and_delete_path_through_selectors() -> None:
    obj: dict = {}
    set_path(obj, ("spec", "ports", Sel((("port", 80),)), "targetPort"), 8080)
    assert obj == {"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    assert delete_path(obj, ("spec", "ports", Sel((("port", 80),))))
    assert obj == {"spec": {"ports": []}}
    assert not delete_path(obj, ("spec", "nothing"))


SECRET = ResourceKey("", "Secret", "shop", "db")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(**fields: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
            "type": "Opaque", **fields}  # fmt: skip


def test_accepting_a_secret_desired_in_string_data_takes_the_live_value() -> None:
    """Desired writes stringData, the cluster holds other data: after the accept the unit
    must say what the cluster says (stringData would win over data on the next apply)."""
    desired_obj = secret(stringData={"token": "from-git", "user": "app", "old": "gone-live"})
    live_obj = secret(data={"token": b64("rotated-by-hand"), "user": b64("app")})
    ctx = DiffContext(environment="dev", default_namespace="shop")
    [drift] = diff_keyed({SECRET: desired_obj}, {SECRET: live_obj}, ctx)
    assert {format_path(f.path): f.change for f in drift.counted} == {
        "data.token": Change.CHANGED,
        "data.old": Change.REMOVED,
    }
    accepted = accept_live(desired_obj, live_obj, drift)
    assert accepted["stringData"] == {"user": "app"}
    assert accepted["data"] == {"token": b64("rotated-by-hand")}
    [after] = diff_keyed({SECRET: accepted}, {SECRET: live_obj}, ctx)
    assert not after.counted
