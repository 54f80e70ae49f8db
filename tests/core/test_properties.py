"""Property tests: normalising is idempotent, an object never drifts from itself, a changed
declared field is always found, and no input crashes the engine."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from drifttui.core.diff import DiffContext, diff_object, diff_objects
from drifttui.core.models import Change, DriftItem, ResourceStatus, json_pointer
from drifttui.core.normalize import normalize_desired, values_equal
from drifttui.core.quantity import canonical_quantity, parse_quantity

from .k8s import copy_json, served

names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
words = st.text(alphabet="abcxyz019-_./: ", min_size=0, max_size=12)
quantities = st.one_of(
    st.sampled_from(
        ["100m", "0.25", "1", "2", "1.5", "512Mi", "0.5Gi", "1Gi", "1000M", "64Mi", "3"]
    ),
    st.integers(min_value=1, max_value=64),
)


@st.composite
def containers(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for name in draw(st.lists(names, min_size=1, max_size=3, unique=True)):
        c: dict[str, Any] = {
            "name": name,
            "image": draw(
                st.sampled_from(["nginx", "nginx:1.27", "ghcr.io/x/y:2", "busybox:latest"])
            ),
        }
        if draw(st.booleans()):
            c["env"] = [
                {"name": n.upper().replace("-", "_"), "value": draw(words)}
                for n in draw(st.lists(names, max_size=3, unique=True))
            ]
        if draw(st.booleans()):
            ports = draw(st.lists(st.integers(1, 65535), max_size=3, unique=True))
            c["ports"] = [{"containerPort": p} for p in ports]
        if draw(st.booleans()):
            c["resources"] = {
                k: {"cpu": draw(quantities), "memory": draw(quantities)}
                for k in draw(
                    st.lists(st.sampled_from(["requests", "limits"]), max_size=2, unique=True)
                )
            }
        if draw(st.booleans()):
            c["args"] = draw(st.lists(words, max_size=3))
        if draw(st.booleans()):
            c["securityContext"] = {
                "runAsNonRoot": draw(st.booleans()),
                "readOnlyRootFilesystem": draw(st.booleans()),
            }
        if draw(st.booleans()):
            c["readinessProbe"] = {"httpGet": {"path": "/" + draw(names), "port": 8080}}
        out.append(c)
    return out


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(names)
    meta: dict[str, Any] = {"name": name, "namespace": "shop"}
    if draw(st.booleans()):
        meta["labels"] = draw(st.dictionaries(names, words, max_size=3))
    if draw(st.booleans()):
        meta["annotations"] = draw(
            st.dictionaries(
                st.from_regex(r"example\.com/[a-z]{1,6}", fullmatch=True), words, max_size=2
            )
        )
    kind = draw(
        st.sampled_from(
            ["Deployment", "StatefulSet", "DaemonSet", "Service", "ConfigMap", "Secret", "Job"]
        )
    )
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        pod: dict[str, Any] = {"containers": draw(containers())}
        if draw(st.booleans()):
            pod["tolerations"] = [{"key": draw(names), "operator": "Exists"}]
        if draw(st.booleans()):
            pod["volumes"] = [
                {"name": v, "configMap": {"name": v}}
                for v in draw(st.lists(names, max_size=2, unique=True))
            ]
        if draw(st.booleans()):
            pod["serviceAccountName"] = draw(names)
        spec: dict[str, Any] = {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
        }
        if kind in ("Deployment", "StatefulSet") and draw(st.booleans()):
            spec["replicas"] = draw(st.integers(0, 20))
        if kind == "Job":
            del spec["selector"]
            pod["restartPolicy"] = "Never"
        api = "batch/v1" if kind == "Job" else "apps/v1"
        return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}
    if kind == "Service":
        ports = [
            {"name": n, "port": p}
            for n, p in zip(
                draw(st.lists(names, min_size=1, max_size=3, unique=True)),
                draw(st.lists(st.integers(1, 65535), min_size=3, max_size=3, unique=True)),
                strict=False,
            )
        ]
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"selector": {"app": name}, "ports": ports},
        }
    if kind == "ConfigMap":
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": draw(st.dictionaries(names, words, max_size=4)),
        }
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    data = draw(st.dictionaries(names, words, max_size=3))
    if draw(st.booleans()):
        secret["stringData"] = data
    else:
        secret["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return secret


CTX = DiffContext(environment="prop", default_namespace="shop")


def _counted(item: DriftItem) -> list[str]:
    return [f"{f.path_str} {f.change}" for f in item.fields if f.counts]


@given(objects())
def test_normalising_twice_changes_nothing(obj: dict[str, Any]) -> None:
    once = normalize_desired(obj)
    assert normalize_desired(once) == once


@given(objects())
def test_an_object_never_drifts_from_itself(obj: dict[str, Any]) -> None:
    assert _counted(diff_object(obj, copy_json(obj), CTX)) == []
    assert _counted(diff_object(obj, served(obj), CTX)) == []
    assert _counted(diff_object(obj, normalize_desired(obj), CTX)) == []


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        obj = obj[p]
    return obj


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _other(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7
    return f"{value}-changed"


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(objects(), st.data())
def test_a_changed_declared_field_is_always_found(obj: dict[str, Any], data: st.DataObject) -> None:
    live = served(obj)
    declared = [
        p
        for p in _leaves(obj)
        if p[:1] not in (("apiVersion",), ("kind",))
        and p[:2] not in (("metadata", "name"), ("metadata", "namespace"))
        and p != ("spec", "template", "spec", "serviceAccount")
    ]
    assume(declared)
    path = data.draw(st.sampled_from(declared))
    if obj["kind"] == "Secret" and path[0] == "stringData":
        live_path: tuple[Any, ...] = ("data", path[1])
        _set(live, live_path, base64.b64encode(b"changed").decode())
    else:
        live_path = path
        try:
            old = _get(live, path)
        except (KeyError, IndexError, TypeError):
            return
        _set(live, path, _other(old))
    pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in live_path)
    item = diff_object(obj, live, CTX)
    pointers = [f.pointer for f in item.fields if f.counts]
    assert any(pointer == p or pointer.startswith(p + "/") for p in pointers), (pointer, pointers)
    assert item.is_drifted


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)
k8s_keys = st.sampled_from(
    [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "data",
        "status",
        "containers",
        "name",
        "ports",
        "env",
        "template",
        "replicas",
        "resources",
        "stringData",
        "type",
    ]
)
k8s_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["v1", "apps/v1", "Deployment", "Secret", "x", "500m", "0.5", "TCP"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(k8s_keys, inner, max_size=5),
    max_leaves=40,
)


@given(k8s_like, k8s_like)
def test_arbitrary_json_never_crashes_the_diff(desired: Any, live: Any) -> None:
    for d, lv in (
        (desired, live),
        (
            {
                "kind": "Secret",
                "metadata": {"name": "x"},
                **(desired if isinstance(desired, dict) else {}),
            },
            {
                "kind": "Secret",
                "metadata": {"name": "x"},
                **(live if isinstance(live, dict) else {}),
            },
        ),
    ):
        if d is None and lv is None:
            continue
        item = diff_object(d, lv, CTX)
        assert isinstance(item, DriftItem)
        if item.status is ResourceStatus.ERROR:
            assert item.error
    items = diff_objects(
        [desired] if isinstance(desired, dict) else [],
        [live] if isinstance(live, dict) else [],
        CTX,
    )
    assert all(isinstance(i, DriftItem) for i in items)


@given(json_values, json_values)
def test_values_equal_is_reflexive_and_never_crashes(a: Any, b: Any) -> None:
    assert values_equal(a, a)
    assert values_equal(a, b) == values_equal(a, b)
    values_equal(a, b, quantity=True)


@given(objects())
def test_every_finding_pointer_resolves(obj: dict[str, Any]) -> None:
    live = served(obj)
    live["metadata"].setdefault("labels", {})["drift"] = "yes"
    live["metadata"]["managedFields"].append(
        {
            "manager": "kubectl-label",
            "operation": "Update",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:drift": {}}}},
        }
    )
    item = diff_object(obj, live, CTX)
    for f in item.fields:
        target = normalize_desired(obj) if f.change is Change.REMOVED else live
        assert f.pointer == json_pointer(f.path, target)


@given(quantities)
def test_canonical_quantities_keep_their_value(q: Any) -> None:
    canon = canonical_quantity(q)
    assert parse_quantity(canon) == parse_quantity(q)
    assert canonical_quantity(canon) == canon
    assert isinstance(parse_quantity(canon), Decimal)


def _mutate(live: dict[str, Any], data: st.DataObject) -> None:
    """One random change somewhere in live: a value, an extra key, an extra item, a removal."""
    spots = [p for p in _leaves(live) if p[:2] != ("metadata", "managedFields")]
    path = data.draw(st.sampled_from(spots))
    how = data.draw(st.sampled_from(["value", "extra-key", "extra-item", "remove"]))
    parent_path, last = path[:-1], path[-1]
    parent = _get(live, parent_path)
    if how == "value":
        parent[last] = _other(parent[last])
    elif how == "remove":
        del parent[last]
    elif how == "extra-key" and isinstance(parent, dict):
        parent[data.draw(names)] = data.draw(words)
    elif isinstance(parent, list):
        parent.append(copy_json(parent[-1]) if parent else "x")


@settings(max_examples=150)
@given(objects(), st.data(), st.booleans())
def test_the_in_sync_shortcut_agrees_with_the_full_comparison(
    obj: dict[str, Any], data: st.DataObject, person: bool
) -> None:
    from drifttui.core.diff import _quietly_in_sync, _Walk
    from drifttui.core.normalize import key_of

    live = served(obj)
    for _ in range(data.draw(st.integers(0, 3))):
        _mutate(live, data)
    if person:
        live["metadata"]["managedFields"].append(
            {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:spec": {}}}
        )
    if _quietly_in_sync(obj, live, obj["kind"]):
        full = _Walk(CTX, key_of(obj, "shop"), normalize_desired(obj), live, None, obj).run()
        assert [f"{f.path_str} {f.change}" for f in full] == []
