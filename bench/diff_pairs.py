"""Realistic desired/live pairs for the diff benchmarks (not a benchmark itself).

Each app is a Deployment, a Service and a ConfigMap as a team keeps them in ConfigHub; the
live side is what a v1.28 API server returns after a server-side apply by ``confighub``:
defaults filled in (drifttui.core.defaults), server metadata, allocated Service fields,
status, and a managedFields entry built from the applied fields. A chosen share of objects
then drifts the way people drift them: ``kubectl scale`` (scale subresource, no time),
``kubectl set image``, ``kubectl edit`` of a ConfigMap key, ``kubectl label``,
``kubectl set env``, ``kubectl patch`` of a Service port.
"""

from __future__ import annotations

import random
from typing import Any

from drifttui.core.defaults import apply_server_defaults, copy_json

JSON = dict[str, Any]
STAMP = "2026-11-25T03:40:11Z"


def _fields(obj: Any, kind: str, path: tuple[str, ...] = ()) -> Any:
    """fieldsV1 of an applied object: every declared leaf, keyed list items by key."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if not path and k in ("apiVersion", "kind"):
                continue
            if path == ("metadata",) and k in ("name", "namespace"):
                continue
            out["f:" + k] = _fields(v, kind, (*path, k))
        return out
    if isinstance(obj, list) and obj and all(isinstance(i, dict) for i in obj):
        key = _list_key(kind, path)
        if key is None:
            return {}
        out = {}
        for item in obj:
            ident = {k: item.get(k, "TCP" if k == "protocol" else None) for k in key}
            body = _fields(item, kind, (*path, "[]"))
            body["."] = {}
            out["k:" + _json(ident)] = body
        return out
    return {}


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _list_key(kind: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
    last = path[-1]
    if last in ("containers", "initContainers", "env", "volumes"):
        return ("name",)
    if last == "volumeMounts":
        return ("mountPath",)
    if last == "ports":
        return ("port", "protocol") if kind == "Service" else ("containerPort", "protocol")
    return None


def deployment(i: int, ns: str) -> JSON:
    name = f"app-{i:05d}"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app.kubernetes.io/name": name, "team": f"team-{i % 17}"},
        },
        "spec": {
            "replicas": 2 + i % 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"ghcr.io/example/{name}:1.{i % 9}.0",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "env": [
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "PORT", "value": "8080"},
                            ],
                            "resources": {
                                "requests": {"cpu": "0.25", "memory": "256Mi"},
                                "limits": {"cpu": "1", "memory": "0.5Gi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}],
                },
            },
        },
    }


def service(i: int, ns: str) -> JSON:
    name = f"app-{i:05d}"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def configmap(i: int, ns: str) -> JSON:
    name = f"app-{i:05d}-config"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": {"LOG_LEVEL": "info", "FEATURE_X": "on", "app.yaml": "port: 8080\nworkers: 4\n"},
    }


def _canonical_quantities(obj: JSON) -> None:
    for c in obj["spec"]["template"]["spec"]["containers"]:
        res = c.get("resources") or {}
        if res.get("requests", {}).get("cpu") == "0.25":
            res["requests"]["cpu"] = "250m"
        if res.get("limits", {}).get("memory") == "0.5Gi":
            res["limits"]["memory"] = "512Mi"


def to_live(desired: JSON, uid: int) -> JSON:
    """What the API server returns after ``kubectl apply --server-side --field-manager
    confighub`` of ``desired``."""
    live = apply_server_defaults(desired)
    kind = live["kind"]
    meta = live["metadata"]
    meta.update(
        {
            "uid": f"00000000-0000-4000-8000-{uid:012d}",
            "resourceVersion": str(1000 + uid),
            "creationTimestamp": STAMP,
            "managedFields": [
                {
                    "apiVersion": live["apiVersion"],
                    "fieldsType": "FieldsV1",
                    "fieldsV1": _fields(desired, kind),
                    "manager": "confighub",
                    "operation": "Apply",
                    "time": STAMP,
                }
            ],
        }
    )
    if kind == "Deployment":
        meta["generation"] = 1
        meta.setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "1"
        _canonical_quantities(live)
        reps = live["spec"]["replicas"]
        live["status"] = {
            "observedGeneration": 1,
            "replicas": reps,
            "readyReplicas": reps,
            "availableReplicas": reps,
            "updatedReplicas": reps,
        }
    elif kind == "Service":
        ip = f"10.0.{uid // 250 % 250}.{uid % 250 + 1}"
        live["spec"].update(
            {
                "clusterIP": ip,
                "clusterIPs": [ip],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
            }
        )
        live["status"] = {"loadBalancer": {}}
    return live


def _entry(manager: str, fields: JSON, subresource: str | None = None) -> JSON:
    e: JSON = {
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": "Update",
    }
    if subresource:
        e["subresource"] = subresource
    else:
        e["time"] = "2026-11-25T09:12:00Z"
    return e


def drift(live: JSON, rng: random.Random) -> None:
    """Change ``live`` the way a person at a terminal would, with managedFields to match."""
    kind = live["kind"]
    mf = live["metadata"]["managedFields"]
    if kind == "Deployment":
        how = rng.choice(("scale", "image", "label", "env"))
        spec = live["spec"]
        ctr = spec["template"]["spec"]["containers"][0]
        if how == "scale":
            spec["replicas"] += rng.choice((1, 2, 3))
            mf[0]["fieldsV1"]["f:spec"].pop("f:replicas", None)
            mf.append(_entry("kubectl", {"f:spec": {"f:replicas": {}}}, "scale"))
        elif how == "image":
            ctr["image"] = ctr["image"].rsplit(":", 1)[0] + ":hotfix"
            mf.append(
                _entry(
                    "kubectl-set",
                    {
                        "f:spec": {
                            "f:template": {
                                "f:spec": {"f:containers": {'k:{"name":"app"}': {"f:image": {}}}}
                            }
                        }
                    },
                )
            )
        elif how == "label":
            live["metadata"]["labels"]["hotfix"] = "true"
            mf.append(_entry("kubectl-label", {"f:metadata": {"f:labels": {"f:hotfix": {}}}}))
        else:
            ctr["env"].append({"name": "DEBUG", "value": "1"})
            env_key = 'k:{"name":"DEBUG"}'
            fields = {"f:env": {env_key: {".": {}, "f:name": {}, "f:value": {}}}}
            mf.append(
                _entry(
                    "kubectl-set",
                    {
                        "f:spec": {
                            "f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': fields}}}
                        }
                    },
                )
            )
    elif kind == "Service":
        live["spec"]["ports"][0]["targetPort"] = 8081
        mf.append(
            _entry(
                "kubectl-patch",
                {"f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {"f:targetPort": {}}}}},
            )
        )
    else:
        live["data"]["LOG_LEVEL"] = "debug"
        mf.append(_entry("kubectl-edit", {"f:data": {"f:LOG_LEVEL": {}}}))


def make_pairs(
    n: int, drift_share: float = 0.05, seed: int = 7, namespace: str = "shop"
) -> tuple[list[JSON], list[JSON], int]:
    """``n`` desired objects (half Deployments, a quarter each Services and ConfigMaps), their
    live counterparts, and how many of them drifted."""
    rng = random.Random(seed)
    desired: list[JSON] = []
    for i in range(n):
        app = i // 4
        which = i % 4
        if which in (0, 1):
            desired.append(deployment(app * 2 + which, namespace))
        elif which == 2:
            desired.append(service(app, namespace))
        else:
            desired.append(configmap(app, namespace))
    live = [to_live(d, i) for i, d in enumerate(desired)]
    drifted = 0
    for obj in live:
        if rng.random() < drift_share:
            drift(obj, rng)
            drifted += 1
    return desired, live, drifted


def clone(objs: list[JSON]) -> list[JSON]:
    return [copy_json(o) for o in objs]
