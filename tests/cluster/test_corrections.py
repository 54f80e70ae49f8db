"""Bulk corrections on the simulated cluster after the seed's story: preview, fix, report.

The findings are written by hand here (the diff lands separately); they are the ones the
story produces, so planning plus running must put every object back as ConfigHub wants it.
"""

from __future__ import annotations

from typing import Any

from drifttui.cluster.corrections import run_corrections
from drifttui.cluster.protocol import FIELD_MANAGER, CorrectionResult
from drifttui.cluster.sim import SimulatedCluster
from drifttui.cluster.story import DEMO_NAMESPACE, StoryPlayer, demo_cluster, demo_manifests
from drifttui.core.correct import CorrectionPlan, plan_fix
from drifttui.core.models import (
    MASK,
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
    get_path,
)

NS = DEMO_NAMESPACE


def _drift(path: FieldPath, change: Change, category: Category, **kw: Any) -> FieldDrift:
    return FieldDrift(path, change, kw.pop("desired", None), None, category, Severity.HIGH, **kw)


def _desired() -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["kind"], m["metadata"]["name"]): m for m in demo_manifests(NS)}


def story_findings() -> list[tuple[dict[str, Any], DriftItem]]:
    """(desired, item) for every object the story drifted, as the diff would report them."""
    desired = _desired()
    web: FieldPath = ("spec", "template", "spec", "containers", Sel((("name", "web"),)))
    port: FieldPath = ("spec", "ports", Sel((("name", "http"),)))
    worker_key = ResourceKey("apps", "Deployment", NS, "checkout-worker")
    table: list[tuple[tuple[str, str], tuple[FieldDrift, ...], dict[str, Any]]] = [
        (
            ("Deployment", "backend-api"),
            (
                _drift(("spec", "replicas"), Change.CHANGED, Category.REPLICAS),
                _drift(("metadata", "labels", "debug"), Change.ADDED, Category.LABELS),
            ),
            {},
        ),
        (
            ("Deployment", "frontend-web"),
            (
                _drift(("spec", "replicas"), Change.CHANGED, Category.REPLICAS),
                _drift((*web, "image"), Change.CHANGED, Category.IMAGE),
            ),
            {},
        ),
        (
            ("Deployment", "checkout-worker"),  # the autoscaler's doing: not counted
            (
                _drift(
                    ("spec", "replicas"), Change.ADDED, Category.REPLICAS, ignored_by="autoscaled"
                ),
            ),
            {"autoscaler": Autoscaler("checkout-worker", worker_key, 2, 8)},
        ),
        (
            ("ConfigMap", "app-config"),
            (_drift(("data", "LOG_LEVEL"), Change.CHANGED, Category.CONFIG_DATA),),
            {},
        ),
        (
            ("Secret", "api-credentials"),
            (_drift(("data", "DATABASE_PASSWORD"), Change.CHANGED, Category.SECRET, desired=MASK),),
            {},
        ),
        (
            ("Service", "backend-api"),
            (_drift((*port, "targetPort"), Change.CHANGED, Category.PORTS),),
            {},
        ),
    ]
    out = []
    for (kind, name), fields, extra in table:
        manifest = desired[(kind, name)]
        item = DriftItem(
            ResourceKey.of(manifest), manifest["apiVersion"], ResourceStatus.DRIFTED, fields,
            environment="demo", **extra,
        )  # fmt: skip
        out.append((manifest, item))
    flags = desired[("ConfigMap", "feature-flags")]
    missing = DriftItem(
        ResourceKey.of(flags),
        "v1",
        ResourceStatus.MISSING,
        (_drift((), Change.MISSING, Category.OTHER),),
    )
    out.append((flags, missing))
    return out


def plans_for(cluster: SimulatedCluster) -> list[CorrectionPlan]:
    plans = []
    for desired, item in story_findings():
        live = cluster.get(item.api_version, item.key.kind, item.key.namespace, item.key.name)
        plans.append(plan_fix(desired, live, item))
    return plans


def bodies(cluster: SimulatedCluster) -> dict[str, Any]:
    return {
        f"{o['kind']}/{o['metadata']['name']}": {k: v for k, v in o.items() if k != "metadata"}
        for o in cluster.server.objects()
    }


def test_preview_then_fix_puts_the_story_back_and_leaves_the_autoscaler_alone() -> None:
    cluster = demo_cluster()
    StoryPlayer(cluster).advance_to_end()
    plans = plans_for(cluster)
    assert [p.action for p in plans] == [
        "patch",
        "patch",
        "none",
        "patch",
        "patch",
        "patch",
        "apply",
    ]

    before = bodies(cluster)
    preview = run_corrections(cluster, plans, dry_run=True)
    assert preview.ok
    assert preview.summary() == "would correct 6 of 6 object(s)"
    assert bodies(cluster) == before  # a preview changes nothing

    report = run_corrections(cluster, plans)
    assert report.ok
    assert report.summary() == "corrected 6 of 6 object(s)"
    assert [r.action for r in report.results] == [
        "patch", "patch", "none", "patch", "patch", "patch", "create",
    ]  # fmt: skip

    for desired, item in story_findings():
        live = cluster.server.get(item.api_version, item.key.kind, NS, item.key.name)
        assert live is not None
        for finding in item.fields:
            if not finding.counts or not finding.path:
                continue
            if finding.change is Change.ADDED:
                assert not get_path(live, finding.path)[0], finding.path_str
            else:
                assert get_path(live, finding.path) == get_path(desired, finding.path)
    worker = cluster.server.get("apps/v1", "Deployment", NS, "checkout-worker")
    assert worker is not None
    assert worker["spec"]["replicas"] == 4  # the autoscaler's value stays
    api = cluster.server.get("apps/v1", "Deployment", NS, "backend-api")
    assert api is not None
    replicas_owner = [
        e["manager"]
        for e in api["metadata"]["managedFields"]
        if "f:replicas" in e["fieldsV1"].get("f:spec", {})
    ]
    assert replicas_owner == [FIELD_MANAGER]  # managedFields shows who fixed it


def test_each_object_is_reported_when_some_are_refused() -> None:
    cluster = demo_cluster()
    StoryPlayer(cluster).advance_to_end()
    cluster.server.forbid("patch", "Secret")
    report = run_corrections(cluster, plans_for(cluster))
    assert not report.ok
    assert [str(r.key) for r in report.failed] == ["Secret/drift-test/api-credentials"]
    assert report.failed[0].status == 403
    assert len(report.succeeded) == 5
    assert report.summary() == (
        "corrected 5 of 6 object(s); failed: Secret/drift-test/api-credentials: 403 "
        'secrets "api-credentials" is forbidden: User "demo-operator" cannot patch resource '
        '"secrets" in API group "" in the namespace "drift-test"'
    )
    assert MASK not in report.summary()


def test_stop_on_first_error_reports_the_rest_as_not_attempted() -> None:
    cluster = demo_cluster()
    StoryPlayer(cluster).advance_to_end()
    cluster.server.forbid("patch", "Deployment")
    report = run_corrections(cluster, plans_for(cluster), stop_on_first_error=True)
    assert [r.ok for r in report.results] == [False] * 7
    assert report.results[0].status == 403
    assert {r.error for r in report.results[1:]} == {
        "not attempted: stopped after Deployment/drift-test/backend-api failed"
    }
    config = cluster.server.get("v1", "ConfigMap", NS, "app-config")
    assert config is not None
    assert config["data"]["LOG_LEVEL"] == "debug"  # untouched


class RaisingCluster:
    """A Cluster whose writes raise: the runner still reports one result per object."""

    name = "broken"

    def patch(self, *args: Any, **kwargs: Any) -> CorrectionResult:
        raise RuntimeError("socket closed")

    def apply(self, *args: Any, **kwargs: Any) -> CorrectionResult:
        raise RuntimeError("socket closed")


def test_an_implementation_that_raises_still_yields_one_result_per_object() -> None:
    cluster = demo_cluster()
    StoryPlayer(cluster).advance_to_end()
    plans = plans_for(cluster)
    report = run_corrections(RaisingCluster(), plans)  # type: ignore[arg-type]
    assert len(report.results) == len(plans)
    assert {r.error for r in report.failed} == {"socket closed"}
    assert [r.ok for r in report.results] == [False, False, True, False, False, False, False]
