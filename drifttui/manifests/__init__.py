"""The drift detector's own Kubernetes objects: the base units ``drifttui init`` creates.

Namespace, least-privilege RBAC (a read-only ClusterRole and binding; a separate
patch-verbs ClusterRole with a RoleBinding that is only applied when auto-fix is on: its
units carry the label ``drifttui-requires=auto-fix``), the Deployment (probes on /health
and /ready) and the metrics Service. Package data, read with importlib.resources.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

FILES = ("deployment.yaml", "namespace.yaml", "rbac.yaml", "service.yaml")
AUTO_FIX_ONLY = frozenset({"drift-detector-patch"})
REQUIRES_LABEL = "drifttui-requires"


def detector_objects() -> list[dict[str, Any]]:
    """The objects in a fixed order: the Deployment first, so its unit takes the plain slug
    ``drift-detector`` (the others are kind-prefixed). Appliers order by kind themselves."""
    import yaml

    out: list[dict[str, Any]] = []
    for name in FILES:
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        out.extend(d for d in yaml.safe_load_all(text) if d)
    return out


def extra_labels(obj: dict[str, Any]) -> dict[str, str]:
    """Labels for the unit of one of these objects (marks the auto-fix-only RBAC)."""
    if (obj.get("metadata") or {}).get("name") in AUTO_FIX_ONLY:
        return {REQUIRES_LABEL: "auto-fix"}
    return {}
