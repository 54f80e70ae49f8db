"""Which REST resource serves a kind: plural name and whether it is namespaced.

A table for the kinds drifttui meets every day; ``KubeCluster`` asks the API's discovery for
anything else (CRDs), the simulator guesses the usual English plural.
"""

from __future__ import annotations

from urllib.parse import quote

from drifttui.cluster.protocol import WATCHED_KINDS

KindRef = tuple[str, str, str]

# (apiVersion, kind) -> (plural, namespaced)
KNOWN_KINDS: dict[tuple[str, str], tuple[str, bool]] = {
    **{(api, kind): (plural, True) for api, kind, plural in WATCHED_KINDS},
    ("apps/v1", "ReplicaSet"): ("replicasets", True),
    ("v1", "Pod"): ("pods", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "PersistentVolume"): ("persistentvolumes", False),
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Endpoints"): ("endpoints", True),
    ("v1", "LimitRange"): ("limitranges", True),
    ("v1", "ResourceQuota"): ("resourcequotas", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("batch/v1", "CronJob"): ("cronjobs", True),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
    ("autoscaling/v1", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
}

GENERATION_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
        "NetworkPolicy",
    }
)
"""Kinds whose ``metadata.generation`` the server tracks (spec changes bump it)."""


def guess_plural(kind: str) -> str:
    low = kind.lower()
    if low.endswith(("s", "x", "z", "ch", "sh")):
        return low + "es"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


def api_group(api_version: str) -> str:
    """``apps`` of ``apps/v1``; ``""`` (the core group) of ``v1``."""
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def lookup(api_version: str, kind: str) -> tuple[str, bool] | None:
    return KNOWN_KINDS.get((api_version, kind))


def resource_path(
    api_version: str, plural: str, namespace: str | None, name: str | None = None
) -> str:
    """``/apis/apps/v1/namespaces/shop/deployments/web``; ``/api/v1/...`` for the core group."""
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    ns = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
    tail = f"/{quote(name, safe='')}" if name else ""
    return f"{base}{ns}/{plural}{tail}"
