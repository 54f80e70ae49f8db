"""Owner detection from evidence on the object, and the rolling-out state."""

from __future__ import annotations

from typing import Any

import pytest

from drifttui.core.owner import is_rolling_out, owner_of

from .k8s import deployment, diff, served


def _with(
    labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None, **meta: Any
) -> dict[str, Any]:
    obj = deployment()
    if labels:
        obj["metadata"]["labels"].update(labels)
    if annotations:
        obj["metadata"]["annotations"] = annotations
    obj["metadata"].update(meta)
    return obj


@pytest.mark.parametrize(
    ("obj", "owner"),
    [
        (
            _with(ownerReferences=[{"kind": "Deployment", "name": "web", "controller": True}]),
            "Deployment/web",
        ),
        (_with(ownerReferences=[{"kind": "Deployment", "name": "web"}]), None),
        (
            _with(
                {
                    "kustomize.toolkit.fluxcd.io/name": "apps",
                    "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
                }
            ),
            "Flux Kustomization flux-system/apps",
        ),
        (
            _with({"helm.toolkit.fluxcd.io/name": "shop", "app.kubernetes.io/managed-by": "Helm"}),
            "Flux HelmRelease shop",
        ),
        (
            _with(
                annotations={"argocd.argoproj.io/tracking-id": "shop-prod:apps/Deployment:shop/web"}
            ),
            "Argo CD application shop-prod",
        ),
        (_with({"argocd.argoproj.io/instance": "shop"}), "Argo CD application shop"),
        (
            _with(
                annotations={
                    "meta.helm.sh/release-name": "shop",
                    "meta.helm.sh/release-namespace": "apps",
                }
            ),
            "Helm release apps/shop",
        ),
        (_with({"app.kubernetes.io/managed-by": "Helm"}), "Helm"),
        (_with(annotations={"confighub.com/UnitSlug": "web"}), "ConfigHub unit web"),
        (deployment(), None),
        (_with({"app.kubernetes.io/name": "argocd-server"}), None),  # never guessed from names
    ],
)
def test_owner_from_evidence(obj: dict[str, Any], owner: str | None) -> None:
    assert owner_of(obj) == owner


def test_server_side_apply_by_confighub_names_confighub() -> None:
    assert owner_of(served(deployment())) == "ConfigHub"
    assert owner_of(served(deployment(), manager="kubectl")) is None


@pytest.mark.parametrize(
    ("generation", "observed", "rolling"),
    [(3, 2, True), (3, 3, False), (3, None, False), (None, 1, False)],
)
def test_rolling_out_when_observed_generation_lags(
    generation: int | None, observed: int | None, rolling: bool
) -> None:
    live = served(deployment())
    live["metadata"]["generation"] = generation
    live["status"] = {} if observed is None else {"observedGeneration": observed}
    assert is_rolling_out(live) is rolling


def test_rolling_out_is_shown_beside_findings_never_instead_of_them() -> None:
    d = deployment()
    live = served(d)
    live["metadata"]["generation"] = 5
    live["status"] = {"observedGeneration": 4}
    live["spec"]["replicas"] = 9
    item = diff(d, live)
    assert item.rolling_out
    assert item.is_drifted
    assert len(item.fields) == 1
    assert item.owner == "ConfigHub"
