"""Replicas under a HorizontalPodAutoscaler (drift-rules.md 4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from drifttui.core.diff import autoscalers_from
from drifttui.core.models import Autoscaler, Category, Change, ResourceKey, ResourceStatus

from .k8s import ctx, deployment, diff, diff_objects, edit, nest, served

WEB = ResourceKey("apps", "Deployment", "shop", "web")


def _hpa(lo: int | None = 2, hi: int = 10, name: str = "web") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": hi,
    }
    if lo is not None:
        spec["minReplicas"] = lo
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


def _scaled(
    replicas: int, manager: str, subresource: str | None = "scale"
) -> tuple[dict[str, Any], dict[str, Any]]:
    d = deployment()
    live = served(d)
    live["spec"]["replicas"] = replicas
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"].pop("f:replicas")
    edit(live, manager, nest("spec|replicas"), subresource=subresource)
    return d, live


def test_autoscaler_writes_inside_the_range_are_not_drift() -> None:
    d, live = _scaled(7, "kube-controller-manager")
    items = diff_objects([d, _hpa()], [live, served(_hpa())], ctx())
    web = next(i for i in items if i.key == WEB)
    assert web.status is ResourceStatus.IN_SYNC
    assert web.fields == ()
    assert web.autoscaler == Autoscaler("web", WEB, 2, 10)


def test_a_person_scaling_an_autoscaled_workload_is_drift_with_the_range_in_the_note() -> None:
    d, live = _scaled(7, "kubectl")
    items = diff_objects([d, _hpa()], [live, served(_hpa())], ctx())
    web = next(i for i in items if i.key == WEB)
    (f,) = web.fields
    assert (f.path_str, f.change, f.desired, f.live) == ("spec.replicas", Change.CHANGED, 3, 7)
    assert f.note is not None
    assert f.note.startswith("7, HPA web, range 2-10")
    assert f.attribution is not None
    assert f.attribution.subresource == "scale"
    assert f.category is Category.REPLICAS
    assert web.autoscaler is not None


def test_outside_the_range_is_drift_even_when_the_controller_wrote_it() -> None:
    d, live = _scaled(12, "kube-controller-manager")
    item = diff(d, live, autoscalers={WEB: Autoscaler("web", WEB, 2, 10)})
    (f,) = item.fields
    assert f.note is not None
    assert "outside" in f.note
    assert "range 2-10" in f.note


def test_hand_scaling_back_to_the_desired_value_is_not_drift() -> None:
    d, live = _scaled(3, "kubectl")
    assert diff(d, live, autoscalers={WEB: Autoscaler("web", WEB, 2, 10)}).fields == ()


def test_omitted_desired_replicas_under_an_hpa_is_not_drift() -> None:
    d = deployment()
    del d["spec"]["replicas"]
    live = served(deployment())
    live["spec"]["replicas"] = 6
    edit(live, "kube-controller-manager", nest("spec|replicas"), subresource="scale")
    assert diff(d, live, autoscalers={WEB: Autoscaler("web", WEB, 2, 10)}).fields == ()
    # without an HPA, replicas desired leaves to the server are drift only when a person
    # set them (the default is 1)
    assert diff(d, live).fields == ()
    edit(live, "kubectl", nest("spec|replicas"), subresource="scale")
    (f,) = diff(d, live).fields
    assert (f.path_str, f.desired, f.live) == ("spec.replicas", 1, 6)
    # outside the HPA's range it is drift whoever wrote it
    live["metadata"]["managedFields"].pop()
    item = diff(d, live, autoscalers={WEB: Autoscaler("web", WEB, 2, 4)})
    assert [f.path_str for f in item.fields] == ["spec.replicas"]


def test_hpa_defaults_min_replicas_to_one_and_ignores_incomplete_hpas() -> None:
    found = autoscalers_from(
        [_hpa(lo=None), {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"}, "spec": {}}]
    )
    assert found == {WEB: Autoscaler("web", WEB, 1, 10)}


def test_explicit_autoscalers_win_over_found_ones() -> None:
    d, live = _scaled(12, "kube-controller-manager")
    explicit = {WEB: Autoscaler("keda-web", WEB, 1, 20)}
    items = diff_objects([d], [live, served(_hpa())], ctx(autoscalers=explicit))
    (web,) = items
    assert web.fields == ()
    assert web.autoscaler == explicit[WEB]


@pytest.mark.parametrize("replicas", [1, 10])
def test_range_bounds_are_inclusive(replicas: int) -> None:
    d, live = _scaled(replicas, "kube-controller-manager")
    assert diff(d, live, autoscalers={WEB: Autoscaler("web", WEB, 1, 10)}).fields == ()


def test_cost_of_an_autoscaled_workload_ignores_replicas_the_autoscaler_chose() -> None:
    d, live = _scaled(7, "kube-controller-manager")
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1"
    item = diff(d, live, autoscalers={WEB: Autoscaler("web", WEB, 2, 10)})
    assert {f.path_str for f in item.fields} == {
        "spec.template.spec.containers[name=web].resources.requests.cpu"
    }
    # 7 replicas x 0.5 extra cores x 0.0316 $/h x 730 h
    assert item.monthly_cost_usd == pytest.approx(7 * 0.5 * 0.0316 * 730, abs=0.01)
