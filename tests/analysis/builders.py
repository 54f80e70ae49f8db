"""Drift items built by hand, the way the diff engine builds them (ids and fingerprints
included), so the analysts are tested without the diff engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from drifttui.core.models import (
    Attribution,
    Autoscaler,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    FieldPath,
    ResourceKey,
    ResourceStatus,
    Sel,
    Severity,
    finding_id,
    stable_hash,
)

API = Sel((("name", "api"),))
KUBECTL_SCALE = Attribution("kubectl", "Update", None, "scale", True)
KUBECTL_EDIT = Attribution("kubectl-edit", "Update", "2026-11-20T10:00:00Z", None, True)
CONTROLLER = Attribution("istio-sidecar-injector", "Update", "2026-11-20T10:00:00Z", None, False)

_GROUPS = {
    "Deployment": "apps",
    "StatefulSet": "apps",
    "DaemonSet": "apps",
    "Role": "rbac.authorization.k8s.io",
    "ClusterRole": "rbac.authorization.k8s.io",
    "RoleBinding": "rbac.authorization.k8s.io",
    "ClusterRoleBinding": "rbac.authorization.k8s.io",
}


def pod(*rest: Any) -> FieldPath:
    """A path inside a Deployment's pod template."""
    return ("spec", "template", "spec", *rest)


def container(*rest: Any, name: str = "api") -> FieldPath:
    return pod("containers", Sel((("name", name),)), *rest)


def fd(
    path: FieldPath,
    desired: Any,
    live: Any,
    category: Category = Category.OTHER,
    change: Change = Change.CHANGED,
    severity: Severity = Severity.MEDIUM,
    attribution: Attribution | None = None,
    note: str | None = None,
) -> FieldDrift:
    return FieldDrift(path, change, desired, live, category, severity, attribution, note=note)


def added(
    path: FieldPath,
    live: Any,
    category: Category = Category.OTHER,
    attribution: Attribution | None = None,
) -> FieldDrift:
    """A field found only in the live object."""
    return fd(path, None, live, category, Change.ADDED, attribution=attribution)


def item(
    kind: str,
    name: str,
    fields: Sequence[FieldDrift],
    *,
    namespace: str = "shop",
    env: str = "dev",
    status: ResourceStatus = ResourceStatus.DRIFTED,
    cost: float | None = None,
    autoscaler: Autoscaler | None = None,
    rolling_out: bool = False,
    owner: str | None = None,
) -> DriftItem:
    group = _GROUPS.get(kind, "")
    key = ResourceKey(group, kind, namespace, name)
    done = []
    for f in fields:
        fid = finding_id(env, key, f.path, f.change)
        fp = fid + "-" + stable_hash(repr(f.desired), repr(f.live))
        done.append(dataclasses.replace(f, id=fid, fingerprint=fp))
    return DriftItem(
        key=key,
        api_version=f"{group}/v1" if group else "v1",
        status=status,
        fields=tuple(done),
        environment=env,
        owner=owner,
        rolling_out=rolling_out,
        autoscaler=autoscaler,
        monthly_cost_usd=cost,
    )


def replicas(
    name: str, desired: int, live: int, *, env: str = "dev", cost: float | None = None, **kw: Any
) -> DriftItem:
    f = fd(("spec", "replicas"), desired, live, Category.REPLICAS, attribution=KUBECTL_SCALE)
    return item("Deployment", name, [f], env=env, cost=cost, **kw)


def secret_item(name: str, desired: Any, live: Any, *, key: str = "password") -> DriftItem:
    f = fd(("data", key), desired, live, Category.SECRET, severity=Severity.HIGH)
    return item("Secret", name, [f])
