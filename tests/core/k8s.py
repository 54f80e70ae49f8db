"""Test helpers: what an API server returns for an applied object, and hand edits on it.

``served`` builds the live object a v1.28 server returns after a server-side apply of
``desired`` by field manager ``confighub`` (the fixtures README describes the same steps):
defaults filled, server metadata, and one managedFields entry owning exactly the applied
fields. ``edit`` then records a person's (or a controller's) write the way the server does.
Drift tests mutate the result; tests about noise use hand-written live objects instead,
so they do not check the defaults table against itself.
"""

from __future__ import annotations

import json
from typing import Any

from drifttui.core.defaults import apply_server_defaults, copy_json
from drifttui.core.diff import DiffContext, diff_object, diff_objects
from drifttui.core.models import DriftItem
from drifttui.core.normalize import fold_string_data

JSON = dict[str, Any]
T0 = "2026-11-25T03:40:11Z"
T1 = "2026-11-25T09:12:00Z"

_KEYS = {
    "containers": ("name",),
    "initContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
}


def fields_v1(obj: Any, kind: str, path: tuple[str, ...] = ()) -> Any:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if not path and k in ("apiVersion", "kind"):
                continue
            if path == ("metadata",) and k in ("name", "namespace"):
                continue
            out["f:" + k] = fields_v1(v, kind, (*path, k))
        return out
    if isinstance(obj, list) and obj and all(isinstance(i, dict) for i in obj):
        last = path[-1]
        keys = _KEYS.get(last)
        if last == "ports":
            keys = ("port", "protocol") if kind == "Service" else ("containerPort", "protocol")
        if keys is None:
            return {}
        out = {}
        for item in obj:
            ident = {k: item.get(k, "TCP" if k == "protocol" else None) for k in keys}
            body = fields_v1(item, kind, (*path, "[]"))
            body["."] = {}
            out["k:" + json.dumps(ident, separators=(",", ":"), sort_keys=True)] = body
        return out
    return {}


def served(desired: JSON, manager: str = "confighub", operation: str = "Apply") -> JSON:
    live = apply_server_defaults(desired)
    if live["kind"] == "Secret":
        fold_string_data(live)
    meta = live.setdefault("metadata", {})
    meta.setdefault("namespace", "shop")
    meta.update(
        {
            "uid": "0b0c2a7e-0000-4000-8000-000000000001",
            "resourceVersion": "4242",
            "creationTimestamp": T0,
            "generation": 1,
            "managedFields": [
                {
                    "apiVersion": live.get("apiVersion", "v1"),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": fields_v1(desired, live["kind"]),
                    "manager": manager,
                    "operation": operation,
                    "time": T0,
                }
            ],
        }
    )
    return live


def edit(
    live: JSON,
    manager: str,
    fields: JSON,
    *,
    subresource: str | None = None,
    time: str | None = T1,
) -> JSON:
    """Record a write in managedFields (the caller changes the values)."""
    entry: JSON = {
        "apiVersion": live.get("apiVersion", "v1"),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": "Update",
    }
    if subresource:
        entry["subresource"] = subresource
    if time and not subresource:
        entry["time"] = time
    live["metadata"]["managedFields"].append(entry)
    return live


def nest(path: str, leaf: Any = None) -> JSON:
    """``nest("spec.template.spec.containers.k:{...}.f:image")``-style fieldsV1 builder:
    dotted parts become ``f:`` keys unless they already carry a prefix."""
    parts = path.split("|")
    out: Any = {} if leaf is None else leaf
    for part in reversed(parts):
        key = part if part[:2] in ("k:", "v:", "i:") or part == "." else "f:" + part
        out = {key: out}
    return out  # type: ignore[no-any-return]


def deployment(name: str = "web", **spec_extra: Any) -> JSON:
    obj: JSON = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "ghcr.io/example/web:1.4.2",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "env": [{"name": "LOG_LEVEL", "value": "info"}],
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "512Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                        }
                    ]
                },
            },
        },
    }
    obj["spec"].update(spec_extra)
    return obj


def container(obj: JSON, index: int = 0) -> JSON:
    return obj["spec"]["template"]["spec"]["containers"][index]  # type: ignore[no-any-return]


def ctx(**kw: Any) -> DiffContext:
    kw.setdefault("default_namespace", "shop")
    kw.setdefault("environment", "test")
    return DiffContext(**kw)


def diff(desired: JSON | None, live: JSON | None, **kw: Any) -> DriftItem:
    return diff_object(desired, live, ctx(**kw))


def found(item: DriftItem, *, counted_only: bool = False) -> set[tuple[str, str]]:
    return {(f.path_str, str(f.change)) for f in item.fields if f.counts or not counted_only}


def found_all(items: list[DriftItem]) -> set[tuple[str, str, str, str]]:
    return {(i.key.kind, i.key.name, f.path_str, str(f.change)) for i in items for f in i.fields}


__all__ = [
    "T0",
    "T1",
    "container",
    "copy_json",
    "ctx",
    "deployment",
    "diff",
    "diff_objects",
    "edit",
    "fields_v1",
    "found",
    "found_all",
    "nest",
    "served",
]
