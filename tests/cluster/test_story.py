"""The demo's workloads and the seed's drift story: exactly what is scripted, nothing else."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from drifttui.cluster import fields as mf
from drifttui.cluster.protocol import WATCHED_KINDS, EventType, ScriptStep
from drifttui.cluster.story import (
    DEMO_NAMESPACE,
    ROTATED_PASSWORD,
    StoryPlayer,
    default_story,
    demo_cluster,
    demo_manifests,
)
from drifttui.core.cost import pod_requests
from tests.cluster.conftest import FAST, Watcher, wait_until

NS = DEMO_NAMESPACE
NOW = 1_790_000_000.0


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: value}


def comparable(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {
        k: v
        for k, v in obj["metadata"].items()
        if k not in ("managedFields", "resourceVersion", "generation")
    }
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def snapshot(cluster: Any) -> dict[str, dict[str, Any]]:
    return {
        f"{o['kind']}/{o['metadata']['name']}": flatten(comparable(o))
        for o in cluster.server.objects()
    }


def owner(obj: dict[str, Any], *tokens: str) -> tuple[str, str | None, str | None]:
    """(manager, subresource, time) of the managedFields entry owning ``tokens``."""
    for entry in obj["metadata"]["managedFields"]:
        if tokens in mf.from_fields_v1(entry["fieldsV1"]):
            return entry["manager"], entry.get("subresource"), entry.get("time")
    raise AssertionError(f"nobody owns {tokens}")


def test_demo_manifests_hold_the_seeds_workloads_with_requests() -> None:
    manifests = demo_manifests(NS)
    kinds = {(m["kind"], m["metadata"]["name"]) for m in manifests}
    assert {
        ("Deployment", "backend-api"),
        ("Deployment", "frontend-web"),
        ("ConfigMap", "app-config"),
        ("Secret", "api-credentials"),
        ("Service", "backend-api"),
        ("StatefulSet", "database-postgres"),
        ("DaemonSet", "log-shipper"),
        ("HorizontalPodAutoscaler", "checkout-worker"),
    } <= kinds
    assert all(m["metadata"]["namespace"] == NS for m in manifests)
    hpas = [m for m in manifests if m["kind"] == "HorizontalPodAutoscaler"]
    assert [h["spec"]["scaleTargetRef"]["name"] for h in hpas] == ["checkout-worker"]
    for m in manifests:
        if m["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            cpu, memory = pod_requests(m)
            assert cpu > 0, m["metadata"]["name"]
            assert memory > 0, m["metadata"]["name"]
    assert [m["metadata"].get("namespace") for m in demo_manifests(None)] == [None] * len(manifests)


def test_seeding_applies_as_confighub_and_lets_the_hpa_scale_into_range() -> None:
    cluster = demo_cluster(clock=lambda: NOW)
    worker = cluster.server.get("apps/v1", "Deployment", NS, "checkout-worker")
    assert worker is not None
    assert worker["spec"]["replicas"] == 2  # minReplicas, set by the autoscaler
    assert owner(worker, "f:spec", "f:replicas") == ("kube-controller-manager", "scale", None)
    api = cluster.server.get("apps/v1", "Deployment", NS, "backend-api")
    assert api is not None
    assert owner(api, "f:spec", "f:replicas") == ("confighub", None, "2026-09-21T14:13:20Z")
    assert {o["metadata"]["name"] for o in cluster.server.objects()} >= {"feature-flags"}


EXPECTED = {
    "Deployment/backend-api": {
        "spec.replicas": (3, 5),
        "metadata.labels.debug": (None, "true"),
        "status-free": True,
    },
    "Deployment/frontend-web": {
        "spec.replicas": (2, 1),
        "spec.template.spec.containers[0].image": (
            "ghcr.io/acme-shop/frontend-web:2.4.0",
            "ghcr.io/acme-shop/frontend-web:2.5.0-rc.1",
        ),
    },
    "Deployment/checkout-worker": {"spec.replicas": (2, 4)},
    "ConfigMap/app-config": {"data.LOG_LEVEL": ("info", "debug")},
    "Secret/api-credentials": {
        "data.DATABASE_PASSWORD": (
            base64.b64encode(b"demo-db-password").decode(),
            ROTATED_PASSWORD,
        )
    },
    "Service/backend-api": {"spec.ports[0].targetPort": (8080, 9090)},
}


def test_the_story_changes_exactly_what_it_scripts() -> None:
    cluster = demo_cluster(clock=lambda: NOW)
    before = snapshot(cluster)
    played = StoryPlayer(cluster).advance_to_end()
    assert [p.error for p in played] == [None] * 9
    after = snapshot(cluster)

    assert set(before) - set(after) == {"ConfigMap/feature-flags"}
    assert set(after) <= set(before)
    for name in after:
        changed = {
            path: (before[name].get(path), after[name].get(path))
            for path in set(before[name]) | set(after[name])
            if before[name].get(path) != after[name].get(path)
        }
        expected = {k: v for k, v in EXPECTED.get(name, {}).items() if k != "status-free"}
        assert changed == expected, name


def test_each_scripted_change_is_owned_by_the_person_who_made_it() -> None:
    cluster = demo_cluster(clock=lambda: NOW)
    StoryPlayer(cluster).advance_to_end()
    get = cluster.server.get
    api = get("apps/v1", "Deployment", NS, "backend-api")
    web = get("apps/v1", "Deployment", NS, "frontend-web")
    worker = get("apps/v1", "Deployment", NS, "checkout-worker")
    config = get("v1", "ConfigMap", NS, "app-config")
    secret = get("v1", "Secret", NS, "api-credentials")
    service = get("v1", "Service", NS, "backend-api")
    assert api
    assert web
    assert worker
    assert config
    assert secret
    assert service
    when = "2026-09-21T14:13:20Z"
    assert owner(api, "f:spec", "f:replicas") == ("kubectl", "scale", None)
    assert owner(api, "f:metadata", "f:labels", "f:debug") == ("kubectl-label", None, when)
    assert owner(web, "f:spec", "f:replicas") == ("kubectl", "scale", None)
    image = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image")
    assert owner(web, *image) == ("kubectl-set", None, when)
    assert owner(worker, "f:spec", "f:replicas") == ("kube-controller-manager", "scale", None)
    assert owner(config, "f:data", "f:LOG_LEVEL") == ("kubectl-edit", None, when)
    assert owner(config, "f:data", "f:PAYMENT_PROVIDER") == ("confighub", None, when)
    assert owner(secret, "f:data", "f:DATABASE_PASSWORD") == ("kubectl-patch", None, when)
    port = ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}', "f:targetPort")
    assert owner(service, *port) == ("kubectl-edit", None, when)


def test_the_timer_plays_the_same_story_scaled_by_speed() -> None:
    played_at_once = demo_cluster(clock=lambda: NOW)
    StoryPlayer(played_at_once).advance_to_end()
    timed = demo_cluster(clock=lambda: NOW)
    seen: list[str] = []
    player = StoryPlayer(timed, speed=2000.0, on_step=lambda p: seen.append(p.step.description))
    player.start()
    wait_until(lambda: player.is_done, what="the story to finish")
    player.stop()
    assert seen == [s.description for s in default_story(NS)]
    assert snapshot(timed) == snapshot(played_at_once)


def test_advance_to_plays_only_the_steps_that_are_due() -> None:
    cluster = demo_cluster()
    player = StoryPlayer(cluster)
    assert [p.step.at_s for p in player.advance_to(12)] == [5, 10]
    assert len(player.remaining) == 7
    assert not player.is_done
    assert [p.step.at_s for p in player.advance_to_end()] == [15, 20, 25, 30, 35, 40, 45]
    assert player.is_done
    assert player.advance_to_end() == []


def test_a_step_that_can_no_longer_happen_is_recorded_and_the_story_goes_on() -> None:
    cluster = demo_cluster()
    cluster.delete("v1", "ConfigMap", NS, "feature-flags")  # someone got there first
    played = StoryPlayer(cluster).advance_to_end()
    errors = {p.step.at_s: p.error for p in played if p.error}
    assert list(errors) == [45]
    assert "not found" in (errors[45] or "")


def test_a_custom_story_runs_in_its_own_order() -> None:
    cluster = demo_cluster()
    order: list[str] = []
    steps = [
        ScriptStep(2, "second", lambda c: order.append("second")),
        ScriptStep(1, "first", lambda c: order.append("first")),
    ]
    StoryPlayer(cluster, steps).advance_to_end()
    assert order == ["first", "second"]
    with pytest.raises(ValueError, match="speed"):
        StoryPlayer(cluster, steps, speed=0)


def test_a_watcher_sees_the_story_as_events() -> None:
    cluster = demo_cluster(settings=FAST)
    with Watcher(cluster, WATCHED_KINDS, namespace=NS) as w:
        w.wait_listed(*(k[1] for k in WATCHED_KINDS))
        StoryPlayer(cluster).advance_to_end()
        w.wait_for(lambda w: bool(w.of(EventType.DELETED)), "the deletion")
        w.wait_for(lambda w: len(w.of(EventType.MODIFIED)) == 8, "the eight changes")
        modified = {str(e.key) for e in w.of(EventType.MODIFIED)}
        assert modified == {
            "Deployment/drift-test/backend-api",
            "Deployment/drift-test/frontend-web",
            "Deployment/drift-test/checkout-worker",
            "ConfigMap/drift-test/app-config",
            "Secret/drift-test/api-credentials",
            "Service/drift-test/backend-api",
        }
        assert [str(e.key) for e in w.of(EventType.DELETED)] == [
            "ConfigMap/drift-test/feature-flags"
        ]
