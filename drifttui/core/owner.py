"""Who deploys an object, and whether it is rolling out, from what the object itself says.

The owner is named only from evidence on the object, never guessed from its name:

1. a controller ``ownerReference`` (``ReplicaSet/web-5d4f``): the object is a child;
2. Flux: ``kustomize.toolkit.fluxcd.io/name`` / ``helm.toolkit.fluxcd.io/name`` labels;
3. Argo CD: the ``argocd.argoproj.io/tracking-id`` annotation or
   ``argocd.argoproj.io/instance`` label;
4. Helm: ``meta.helm.sh/release-name`` or label ``app.kubernetes.io/managed-by: Helm``;
5. ConfigHub: a ``confighub.com/*`` annotation or label, or a server-side apply entry in
   managedFields by the ``confighub`` field manager.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_EMPTY: Mapping[str, Any] = {}


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else _EMPTY


def owner_of(obj: Mapping[str, Any] | None) -> str | None:
    """A short owner label (``Flux Kustomization apps/shop``) or None when none is visible."""
    if not isinstance(obj, dict):
        return None
    meta = _map(obj.get("metadata"))
    labels = _map(meta.get("labels"))
    annotations = _map(meta.get("annotations"))
    refs = meta.get("ownerReferences")
    if isinstance(refs, list):
        for ref in refs:
            if isinstance(ref, dict) and ref.get("controller") is True:
                return f"{ref.get('kind', '?')}/{ref.get('name', '?')}"
    ks = labels.get("kustomize.toolkit.fluxcd.io/name")
    if ks:
        ns = labels.get("kustomize.toolkit.fluxcd.io/namespace")
        return f"Flux Kustomization {ns + '/' if ns else ''}{ks}"
    hr = labels.get("helm.toolkit.fluxcd.io/name")
    if hr:
        ns = labels.get("helm.toolkit.fluxcd.io/namespace")
        return f"Flux HelmRelease {ns + '/' if ns else ''}{hr}"
    tracking = annotations.get("argocd.argoproj.io/tracking-id")
    if isinstance(tracking, str) and tracking:
        return f"Argo CD application {tracking.split(':', 1)[0]}"
    argo = labels.get("argocd.argoproj.io/instance")
    if argo:
        return f"Argo CD application {argo}"
    release = annotations.get("meta.helm.sh/release-name")
    if release:
        ns = annotations.get("meta.helm.sh/release-namespace")
        return f"Helm release {ns + '/' if ns else ''}{release}"
    if labels.get("app.kubernetes.io/managed-by") == "Helm":
        inst = labels.get("app.kubernetes.io/instance")
        return f"Helm release {inst}" if inst else "Helm"
    for source in (annotations, labels):
        for k, v in source.items():
            if isinstance(k, str) and k.lower().startswith("confighub.com/"):
                if k.lower().endswith("unitslug") and v:
                    return f"ConfigHub unit {v}"
                return "ConfigHub"
    mf = meta.get("managedFields")
    if isinstance(mf, list):
        for entry in mf:
            if (
                isinstance(entry, dict)
                and entry.get("manager") == "confighub"
                and entry.get("operation") == "Apply"
            ):
                return "ConfigHub"
    return None


def is_rolling_out(live: Mapping[str, Any] | None) -> bool:
    """True while ``status.observedGeneration`` lags ``metadata.generation`` (a controller
    has not yet acted on the latest spec). Unknown (no observedGeneration) is not rolling."""
    if not isinstance(live, dict):
        return False
    gen = _map(live.get("metadata")).get("generation")
    observed = _map(live.get("status")).get("observedGeneration")
    if not isinstance(gen, int) or not isinstance(observed, int):
        return False
    if isinstance(gen, bool) or isinstance(observed, bool):
        return False
    return observed < gen
