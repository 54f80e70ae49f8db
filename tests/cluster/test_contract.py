"""The Cluster contract, run against both implementations.

``sim``: SimulatedCluster (in-process API server). ``kube``: KubeCluster, the official
``kubernetes`` client over HTTP to the kmock-based emulator on 127.0.0.1.
"""

from __future__ import annotations

import threading

import pytest

from drifttui.cluster.protocol import FIELD_MANAGER, Cluster, EventType, PatchOp
from drifttui.core.models import ResourceKey
from tests.cluster.conftest import (
    NS,
    Harness,
    Watcher,
    configmap,
    deployment,
    server_versions,
)

DEPLOYMENTS = ("apps/v1", "Deployment", "deployments")
CONFIGMAPS = ("v1", "ConfigMap", "configmaps")


def test_implements_the_protocol(harness: Harness) -> None:
    assert isinstance(harness.cluster, Cluster)
    assert harness.cluster.name


def test_list_objects_reads_every_page_and_trims(harness: Harness) -> None:
    for i in range(5):
        obj = deployment(f"web-{i}")
        obj["metadata"]["annotations"] = {
            "kubectl.kubernetes.io/last-applied-configuration": '{"big": "blob"}',
            "team": "shop",
        }
        harness.create(obj)
    got = harness.cluster.list_objects([DEPLOYMENTS], NS)
    assert sorted(o["metadata"]["name"] for o in got) == [f"web-{i}" for i in range(5)]
    assert server_versions(got) == server_versions(harness.server_objects("apps/v1", "Deployment"))
    for obj in got:
        assert (obj["apiVersion"], obj["kind"]) == ("apps/v1", "Deployment")
        assert obj["metadata"]["annotations"] == {"team": "shop"}
        assert set(obj.get("status", {})) <= {"observedGeneration"}
        for entry in obj["metadata"]["managedFields"]:
            assert set(entry) <= {"manager", "operation", "time", "subresource", "fieldsV1"}
    assert harness.cluster.list_objects([CONFIGMAPS], NS) == []


def test_watch_lists_then_streams_every_change(harness: Harness) -> None:
    harness.create(deployment("web"))
    harness.create(configmap("settings", LOG_LEVEL="info"))
    with Watcher(harness.cluster, [DEPLOYMENTS, CONFIGMAPS]) as w:
        w.wait_listed("Deployment", "ConfigMap")
        added = w.of(EventType.ADDED)
        assert {str(e.key) for e in added} == {
            "Deployment/shop/web",
            "ConfigMap/shop/settings",
        }
        # Initial objects come before their kind's LISTED marker.
        for kind in ("Deployment", "ConfigMap"):
            kind_events = [e for e in w.events if e.kind == kind]
            assert kind_events[-1].type is EventType.LISTED

        harness.create(deployment("api"))
        harness.modify(
            "v1", "ConfigMap", NS, "settings", lambda o: o["data"].update(LOG_LEVEL="debug")
        )
        gone = harness.delete("apps/v1", "Deployment", NS, "web")
        w.wait_for(
            lambda w: len(w.of(EventType.DELETED)) == 1 and len(w.of(EventType.MODIFIED)) == 1,
            "the delete and the change",
        )
        # Per kind, events keep the server's order (kinds run in parallel).
        deployments = [(e.type, e.key.name) for e in w.events if e.key and e.kind == "Deployment"]
        assert deployments == [
            (EventType.ADDED, "web"),
            (EventType.ADDED, "api"),
            (EventType.DELETED, "web"),
        ]
        modified = w.of(EventType.MODIFIED)[0]
        assert modified.obj is not None
        assert modified.obj["data"] == {"LOG_LEVEL": "debug"}
        deleted = w.of(EventType.DELETED)[0]
        assert deleted.resource_version == gone["metadata"]["resourceVersion"]
        assert w.versions("Deployment") == server_versions(
            harness.server_objects("apps/v1", "Deployment")
        )
        assert w.sink_threads == {w.thread.ident}
    health = harness.cluster.health()
    assert health["Deployment"].has_listed
    assert health["ConfigMap"].has_listed
    assert health["Deployment"].restarts == 0


def test_relist_after_a_gap_synthesises_deletes(harness: Harness) -> None:
    for name in ("a", "b", "c"):
        harness.create(configmap(name, k="1"))
    with Watcher(harness.cluster, [CONFIGMAPS]) as w:
        w.wait_listed("ConfigMap")
        before_b = w.state[ResourceKey("", "ConfigMap", NS, "b")]
        with harness.gap():
            harness.delete("v1", "ConfigMap", NS, "b")
            harness.modify("v1", "ConfigMap", NS, "c", lambda o: o["data"].update(k="2"))
            harness.create(configmap("d", k="1"))
        w.wait_for(lambda w: bool(w.of(EventType.RELISTED)), "the relist")
        deleted = w.of(EventType.DELETED)
        assert [str(e.key) for e in deleted] == ["ConfigMap/shop/b"]
        assert deleted[0].obj == before_b  # the last known state
        assert {str(e.key) for e in w.of(EventType.MODIFIED)} == {"ConfigMap/shop/c"}
        assert "ConfigMap/shop/d" in {str(e.key) for e in w.of(EventType.ADDED)}
        assert w.versions("ConfigMap") == server_versions(harness.server_objects("v1", "ConfigMap"))
        assert harness.count("list") == 2
    assert harness.cluster.health()["ConfigMap"].relists == 1


def test_a_dropped_watch_resumes_from_its_version_without_relisting(harness: Harness) -> None:
    harness.create(configmap("a", k="1"))
    with Watcher(harness.cluster, [CONFIGMAPS]) as w:
        w.wait_listed("ConfigMap")
        w.wait_for(lambda _: harness.count("watch") == 1, "the first watch")
        harness.drop_watches()
        w.wait_for(lambda w: bool(w.of(EventType.WATCH_FAILED)), "the failure report")
        harness.modify("v1", "ConfigMap", NS, "a", lambda o: o["data"].update(k="2"))
        w.wait_for(lambda w: bool(w.of(EventType.MODIFIED)), "the change after the drop")
        assert w.of(EventType.WATCH_RESTORED)
        assert len(w.of(EventType.ADDED)) == 1  # nothing replayed
        assert harness.count("list") == 1
    assert harness.cluster.health()["ConfigMap"].restarts == 1


def test_stop_ends_run_watch_promptly_and_stops_the_reflectors(harness: Harness) -> None:
    w = Watcher(harness.cluster, [DEPLOYMENTS, CONFIGMAPS])
    w.thread.start()
    w.wait_listed("Deployment", "ConfigMap")
    w.stop(timeout=3)
    names = {t.name for t in threading.enumerate()}
    assert not any(n.startswith("reflector:") for n in names)


def test_get_returns_the_trimmed_object_or_none(harness: Harness) -> None:
    harness.create(deployment("web", replicas=4))
    got = harness.cluster.get("apps/v1", "Deployment", NS, "web")
    assert got is not None
    assert got["spec"]["replicas"] == 4
    assert (
        got["metadata"]["resourceVersion"]
        == harness.server_get("apps/v1", "Deployment", NS, "web")["metadata"]["resourceVersion"]
    )  # type: ignore[index]
    assert harness.cluster.get("apps/v1", "Deployment", NS, "nope") is None


def test_patch_corrects_the_object_under_our_field_manager(harness: Harness) -> None:
    harness.create(deployment("web", replicas=2))
    harness.modify(
        "apps/v1", "Deployment", NS, "web", lambda o: o["spec"].update(replicas=5), "kubectl"
    )
    ops = [PatchOp("test", "/spec/replicas", 5), PatchOp("replace", "/spec/replicas", 2)]

    preview = harness.cluster.patch("apps/v1", "Deployment", NS, "web", ops, dry_run=True)
    assert preview.ok
    assert preview.dry_run
    assert preview.action == "patch"
    assert preview.result is not None
    assert preview.result["spec"]["replicas"] == 2
    server = harness.server_get("apps/v1", "Deployment", NS, "web")
    assert server is not None
    assert server["spec"]["replicas"] == 5

    done = harness.cluster.patch("apps/v1", "Deployment", NS, "web", ops)
    assert done.ok
    assert not done.dry_run
    assert done.key == ResourceKey("apps", "Deployment", NS, "web")
    server = harness.server_get("apps/v1", "Deployment", NS, "web")
    assert server is not None
    assert server["spec"]["replicas"] == 2
    managers = [e["manager"] for e in server["metadata"]["managedFields"]]
    assert FIELD_MANAGER in managers


def test_patch_that_no_longer_applies_is_refused_and_changes_nothing(harness: Harness) -> None:
    harness.create(deployment("web", replicas=2))
    ops = [PatchOp("test", "/spec/replicas", 7), PatchOp("replace", "/spec/replicas", 3)]
    result = harness.cluster.patch("apps/v1", "Deployment", NS, "web", ops)
    assert not result.ok
    assert result.status == 422
    assert result.error
    assert "test" in result.error
    server = harness.server_get("apps/v1", "Deployment", NS, "web")
    assert server is not None
    assert server["spec"]["replicas"] == 2


def test_patch_of_a_missing_object_reports_404(harness: Harness) -> None:
    result = harness.cluster.patch(
        "apps/v1", "Deployment", NS, "ghost", [PatchOp("replace", "/spec/replicas", 1)]
    )
    assert (result.ok, result.status) == (False, 404)
    assert result.error


def test_apply_recreates_a_missing_object_then_updates_it(harness: Harness) -> None:
    manifest = configmap("flags", CHECKOUT_V2="false")
    del manifest["metadata"]["namespace"]  # goes to the cluster's namespace
    preview = harness.cluster.apply(manifest, dry_run=True)
    assert preview.ok
    assert preview.action == "create"
    assert harness.server_get("v1", "ConfigMap", NS, "flags") is None

    created = harness.cluster.apply(manifest)
    assert created.ok
    assert created.action == "create"
    assert created.key == ResourceKey("", "ConfigMap", NS, "flags")
    server = harness.server_get("v1", "ConfigMap", NS, "flags")
    assert server is not None
    assert server["data"] == {"CHECKOUT_V2": "false"}
    assert FIELD_MANAGER in [e["manager"] for e in server["metadata"]["managedFields"]]

    manifest["data"]["CHECKOUT_V2"] = "true"
    updated = harness.cluster.apply(manifest)
    assert updated.ok
    assert updated.action == "apply"
    server = harness.server_get("v1", "ConfigMap", NS, "flags")
    assert server is not None
    assert server["data"] == {"CHECKOUT_V2": "true"}


@pytest.mark.parametrize("namespace", [NS, None])
def test_watch_scope_follows_the_namespace(harness: Harness, namespace: str | None) -> None:
    harness.create(configmap("here", k="1"))
    other = configmap("elsewhere", k="1")
    other["metadata"]["namespace"] = "other"
    harness.create(other)
    with Watcher(harness.cluster, [CONFIGMAPS], namespace=namespace) as w:
        w.wait_listed("ConfigMap")
        names = {e.key.name for e in w.of(EventType.ADDED) if e.key}
    assert names == ({"here"} if namespace else {"here", "elsewhere"})
