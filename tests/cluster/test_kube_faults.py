"""KubeCluster (the official client) against an emulated API server that misbehaves.

Each fault is scripted with kmock's DSL (``server['watch', res][:1] << ...`` answers only the
first matching request, then the stateful fallback takes over) or with the emulator's own
hooks (compaction, cut connections). See tests/cluster/apiserver.py.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import kmock
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client as k8s_client

from drifttui.cluster.kube import KubeCluster
from drifttui.cluster.protocol import FIELD_MANAGER, EventType, PatchOp
from drifttui.cluster.store import trim_object
from drifttui.core.correct import plan_correction
from drifttui.core.models import (
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
from drifttui.errors import ClusterError
from tests.cluster.apiserver import EmulatorThread, status
from tests.cluster.conftest import (
    FAST,
    NS,
    Watcher,
    configmap,
    deployment,
    server_versions,
    wait_until,
)

DEPLOYMENTS = ("apps/v1", "Deployment", "deployments")
CONFIGMAPS = ("v1", "ConfigMap", "configmaps")


def kube(emu: EmulatorThread, **settings: Any) -> KubeCluster:
    return KubeCluster(
        configuration=emu.configuration(),
        context="emulated",
        namespace=NS,
        settings=replace(FAST, **settings),
    )


def lists(emu: EmulatorThread) -> int:
    return len(emu.requests(lambda r: r.action == kmock.action.LIST and "continue" not in r.params))


def watches(emu: EmulatorThread) -> int:
    return len(emu.requests(lambda r: r.action == kmock.action.WATCH))


def converged(w: Watcher, emu: EmulatorThread, api: str, kind: str) -> bool:
    return w.versions(kind) == server_versions(emu.objects(api, kind, NS))


# --------------------------------------------------------------------------- cut streams


def _run_changes(emu: EmulatorThread, ops: list[tuple[str, int]]) -> None:
    for op, n in ops:
        name = f"cm-{n}"
        exists = emu.get("v1", "ConfigMap", NS, name) is not None
        if op == "create" and not exists:
            emu.create(configmap(name, v="0"))
        elif op == "modify" and exists:
            emu.modify("v1", "ConfigMap", NS, name, lambda o, n=n: o["data"].update(v=str(n)))
        elif op == "delete" and exists:
            emu.delete("v1", "ConfigMap", NS, name)


def _until_every_cut_happened(emu: EmulatorThread, w: Watcher) -> None:
    """Keep changing a sentinel object until the scripted cuts have all been used."""
    emu.create(configmap("sentinel", v="0"))
    for i in range(1, 40):
        if not emu.cuts_pending():
            return
        version = emu.modify(
            "v1", "ConfigMap", NS, "sentinel", lambda o, i=i: o["data"].update(v=str(i))
        )["metadata"]["resourceVersion"]
        w.wait_for(
            lambda w, v=version: w.versions("ConfigMap").get("sentinel") == v, "the sentinel"
        )
    raise AssertionError("the scripted cuts never all happened")


def test_watch_cut_mid_stream_repeatedly_loses_no_update_and_keeps_no_ghost(
    emulator: EmulatorThread,
) -> None:
    for n in range(3):
        emulator.create(configmap(f"cm-{n}", v="0"))
    cluster = kube(emulator)
    cuts = (1, 2, 1, 3, 1)
    with Watcher(cluster, [CONFIGMAPS]) as w:
        w.wait_listed("ConfigMap")
        wait_until(lambda: emulator.watches_started() == 1, what="the first watch")
        emulator.cut_next_watches(*cuts)
        emulator.drop_watches()  # the first cut starts now
        ops = [("create", n) for n in range(3, 8)]
        ops += [("modify", n) for n in range(0, 8, 2)]
        ops += [("delete", 1), ("delete", 4), ("create", 9), ("delete", 9)]
        ops += [("modify", n) for n in range(0, 8)]
        _run_changes(emulator, ops)
        _until_every_cut_happened(emulator, w)
        w.wait_for(lambda w: converged(w, emulator, "v1", "ConfigMap"), "convergence")
        assert "cm-9" not in w.versions("ConfigMap")  # created and deleted: no ghost
        assert lists(emulator) == 1  # every reconnect resumed from its resourceVersion
        # The first drop plus every cut: each one reported, each one resumed.
        w.wait_for(lambda w: len(w.of(EventType.WATCH_FAILED)) == len(cuts) + 1, "failures")
        wait_until(lambda: emulator.watches_started() == len(cuts) + 2, what="the last watch")
        w.wait_for(lambda w: converged(w, emulator, "v1", "ConfigMap"), "convergence")
    cluster.close()


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["create", "modify", "delete"]), st.integers(0, 5)),
        min_size=1,
        max_size=25,
    ),
    cuts=st.lists(st.integers(1, 4), min_size=1, max_size=4),
)
def test_any_changes_with_any_cuts_end_equal_to_the_server(
    ops: list[tuple[str, int]], cuts: list[int]
) -> None:
    emu = EmulatorThread()
    try:
        emu.create(configmap("cm-0", v="start"))
        cluster = kube(emu)
        with Watcher(cluster, [CONFIGMAPS]) as w:
            w.wait_listed("ConfigMap")
            wait_until(lambda: emu.watches_started() == 1, what="the first watch")
            emu.cut_next_watches(*cuts)
            emu.drop_watches()  # the open watch started before the cuts were scripted
            _run_changes(emu, ops)
            _until_every_cut_happened(emu, w)
            w.wait_for(lambda w: converged(w, emu, "v1", "ConfigMap"), "convergence")
            # The first drop plus every cut, each one noticed and reported.
            w.wait_for(
                lambda w: len(w.of(EventType.WATCH_FAILED)) == len(cuts) + 1, "every failure"
            )
        cluster.close()
    finally:
        emu.close()


# --------------------------------------------------------------------------- 410 Gone


GONE = {"type": "ERROR", "object": status(410, "Expired", "too old resource version: 1 (100)")}


def test_a_410_error_event_leads_to_one_relist_from_a_fresh_version(
    emulator: EmulatorThread,
) -> None:
    emulator.create(deployment("web"))
    res = emulator.resource("apps/v1", "Deployment")
    emulator.script(lambda s: s["watch", res][:1] << (GONE,))
    cluster = kube(emulator)
    with Watcher(cluster, [DEPLOYMENTS]) as w:
        w.wait_for(lambda w: bool(w.of(EventType.RELISTED)), "the relist")
        emulator.create(deployment("api"))
        w.wait_for(lambda w: converged(w, emulator, "apps/v1", "Deployment"), "the new object")
        relist_version = w.of(EventType.RELISTED)[0].resource_version
        # The watch after the relist starts from the relist's version, not the stale one.
        assert emulator.server.watch_versions[0] == relist_version
        seen = emulator.server.bookmarks_sent
        wait_until(lambda: emulator.server.bookmarks_sent >= seen + 3, what="idle bookmarks")
        assert lists(emulator) == 2
        assert len(w.of(EventType.RELISTED)) == 1
    assert cluster.health()["Deployment"].relists == 1
    cluster.close()


def test_a_410_status_on_the_watch_request_relists_once(emulator: EmulatorThread) -> None:
    emulator.create(deployment("web"))
    res = emulator.resource("apps/v1", "Deployment")
    emulator.script(
        lambda s: s["watch", res][:1] << 410 << status(410, "Gone", "resource version too old")
    )
    cluster = kube(emulator)
    with Watcher(cluster, [DEPLOYMENTS]) as w:
        w.wait_for(lambda w: bool(w.of(EventType.RELISTED)), "the relist")
        seen = emulator.server.bookmarks_sent
        wait_until(lambda: emulator.server.bookmarks_sent >= seen + 3, what="idle bookmarks")
        assert lists(emulator) == 2
        assert not w.of(EventType.WATCH_FAILED)  # a 410 is routine, not a failure
    cluster.close()


def test_compaction_while_disconnected_relists_and_synthesises_the_deletes(
    emulator: EmulatorThread,
) -> None:
    for name in ("a", "b", "c"):
        emulator.create(configmap(name, v="1"))
    cluster = kube(emulator)
    with Watcher(cluster, [CONFIGMAPS]) as w:
        w.wait_listed("ConfigMap")
        emulator.set_paused(True)
        emulator.delete("v1", "ConfigMap", NS, "a")
        emulator.create(configmap("d", v="1"))
        emulator.compact()
        emulator.set_paused(False)
        w.wait_for(lambda w: bool(w.of(EventType.RELISTED)), "the relist")
        assert [e.key.name for e in w.of(EventType.DELETED) if e.key] == ["a"]
        w.wait_for(lambda w: converged(w, emulator, "v1", "ConfigMap"), "convergence")
        assert lists(emulator) == 2
    cluster.close()


# --------------------------------------------------------------------------- dead streams


def test_a_silent_stream_is_detected_and_restarted(emulator: EmulatorThread) -> None:
    emulator.create(deployment("web"))
    res = emulator.resource("apps/v1", "Deployment")
    # Headers go out, then nothing, ever: no events, no bookmarks, no close.
    emulator.script(lambda s: s["watch", res][:1] << (b"", lambda: asyncio.sleep(3600)))
    cluster = kube(emulator, inactivity_timeout_s=0.3)
    with Watcher(cluster, [DEPLOYMENTS]) as w:
        w.wait_for(lambda w: bool(w.of(EventType.WATCH_FAILED)), "the dead stream to be noticed")
        failure = w.of(EventType.WATCH_FAILED)[0].error
        assert failure is not None
        assert failure.startswith(
            'cannot watch apps/v1 Deployment in "shop" (context emulated): no event for 0.3 s'
        )
        emulator.modify("apps/v1", "Deployment", NS, "web", lambda o: o["spec"].update(replicas=4))
        w.wait_for(lambda w: bool(w.of(EventType.MODIFIED)), "the change on the new stream")
        assert w.of(EventType.WATCH_RESTORED)
        assert lists(emulator) == 1
    health = cluster.health()["Deployment"]
    assert health.restarts == 1
    assert health.last_error is None  # cleared once the new stream was up
    cluster.close()


def test_stop_interrupts_a_blocked_read_at_once(emulator: EmulatorThread) -> None:
    res = emulator.resource("apps/v1", "Deployment")
    emulator.script(lambda s: s["watch", res][:1] << (b"", lambda: asyncio.sleep(3600)))
    cluster = kube(emulator, inactivity_timeout_s=60.0)  # only an interrupt can end it
    w = Watcher(cluster, [DEPLOYMENTS])
    w.thread.start()
    w.wait_listed("Deployment")
    wait_until(lambda: watches(emulator) == 1, what="the watch to open")
    w.stop(timeout=3.0)
    cluster.close()


def test_an_error_event_in_the_stream_is_reported_and_the_watch_resumes(
    emulator: EmulatorThread,
) -> None:
    emulator.create(deployment("web"))
    res = emulator.resource("apps/v1", "Deployment")
    error = {
        "type": "ERROR",
        "object": status(500, "InternalError", "etcdserver: request timed out"),
    }
    emulator.script(lambda s: s["watch", res][:1] << (error,))
    cluster = kube(emulator)
    with Watcher(cluster, [DEPLOYMENTS]) as w:
        w.wait_for(lambda w: bool(w.of(EventType.WATCH_RESTORED)), "the watch to come back")
        failed = w.of(EventType.WATCH_FAILED)
        assert len(failed) == 1
        assert failed[0].error is not None
        assert "500 Internal Server Error" in failed[0].error
        assert lists(emulator) == 1  # resumed from its version, no relist
        listed_version = w.of(EventType.LISTED)[0].resource_version
        assert emulator.server.watch_versions == [listed_version]
    cluster.close()


# --------------------------------------------------------------------------- failing requests


def test_server_errors_on_list_are_retried_until_it_works(emulator: EmulatorThread) -> None:
    emulator.create(deployment("web"))
    res = emulator.resource("apps/v1", "Deployment")
    emulator.script(
        lambda s: s["list", res][:2] << 500 << status(500, "InternalError", "etcd unavailable")
    )
    cluster = kube(emulator)
    with Watcher(cluster, [DEPLOYMENTS]) as w:
        w.wait_listed("Deployment")
        failures = [e.error for e in w.of(EventType.WATCH_FAILED)]
        assert (
            failures
            == [
                'cannot list apps/v1 Deployment in "shop" (context emulated): '
                "500 Internal Server Error (etcd unavailable)"
            ]
            * 2
        )
        assert lists(emulator) == 3
        assert [e.key.name for e in w.of(EventType.ADDED) if e.key] == ["web"]
    cluster.close()


def test_a_slow_list_times_out_and_is_retried(emulator: EmulatorThread) -> None:
    emulator.create(deployment("web"))
    res = emulator.resource("apps/v1", "Deployment")
    emulator.script(lambda s: s["list", res][:1] >> (lambda: asyncio.sleep(5)))
    cluster = kube(emulator, request_timeout_s=0.3)
    with Watcher(cluster, [DEPLOYMENTS]) as w:
        w.wait_listed("Deployment")
        failures = [e.error or "" for e in w.of(EventType.WATCH_FAILED)]
        assert len(failures) == 1
        assert "did not answer in 0.3 s" in failures[0]
        assert lists(emulator) == 2  # one timed out (no silent urllib3 retry), one answered
    cluster.close()


def test_an_expired_continue_token_restarts_the_list_once(emulator: EmulatorThread) -> None:
    for i in range(5):
        emulator.create(configmap(f"cm-{i}", v="1"))
    res = emulator.resource("v1", "ConfigMap")
    emulator.script(
        lambda s: s["list", res][1:2] << 410 << status(410, "Expired", "continue token expired")
    )
    cluster = kube(emulator)
    with Watcher(cluster, [CONFIGMAPS]) as w:
        w.wait_listed("ConfigMap")
        assert sorted(w.versions("ConfigMap")) == [f"cm-{i}" for i in range(5)]
        assert not w.of(EventType.WATCH_FAILED)
        assert lists(emulator) == 2
    cluster.close()


FORBIDDEN_LINE = (
    'cannot list apps/v1 Deployment in "shop" (context emulated): 403 Forbidden; '
    "grant list/watch or narrow --namespace"
)


def test_forbidden_list_is_one_clear_line_in_the_watch_and_in_list_objects(
    emulator: EmulatorThread,
) -> None:
    res = emulator.resource("apps/v1", "Deployment")
    message = (
        'deployments.apps is forbidden: User "dev" cannot list resource "deployments" '
        'in API group "apps" in the namespace "shop"'
    )
    emulator.script(lambda s: s["list", res] << 403 << status(403, "Forbidden", message))
    cluster = kube(emulator)
    with pytest.raises(ClusterError) as info:
        cluster.list_objects([DEPLOYMENTS], NS)
    assert str(info.value) == FORBIDDEN_LINE
    with Watcher(cluster, [DEPLOYMENTS]) as w:
        w.wait_for(lambda w: len(w.of(EventType.WATCH_FAILED)) >= 2, "repeated failures")
        assert {e.error for e in w.of(EventType.WATCH_FAILED)} == {FORBIDDEN_LINE}
        assert not w.of(EventType.LISTED)
    health = cluster.health()["Deployment"]
    assert not health.has_listed
    assert health.last_error == FORBIDDEN_LINE
    cluster.close()


def test_list_objects_lists_kinds_together_in_their_order_and_names_the_first_failure(
    emulator: EmulatorThread,
) -> None:
    emulator.create(deployment("web"))
    emulator.create(configmap("settings", k="v"))
    cluster = kube(emulator, page_size=1)
    kinds = [CONFIGMAPS, DEPLOYMENTS]
    assert cluster.list_objects([], NS) == []
    objs = cluster.list_objects(kinds, NS)
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("ConfigMap", "settings"),
        ("Deployment", "web"),
    ]
    assert objs == [trim_object(o) for o in objs]  # trimmed as the store trims
    for api, kind in (("apps/v1", "Deployment"), ("v1", "ConfigMap")):
        res = emulator.resource(api, kind)
        emulator.script(lambda s, res=res: s["list", res] << 403 << status(403, "Forbidden", ""))
    with pytest.raises(ClusterError) as info:
        cluster.list_objects(kinds, NS)
    assert str(info.value).startswith('cannot list v1 ConfigMap in "shop"'), str(info.value)
    cluster.close()


def test_list_objects_asks_for_the_next_page_while_it_reads_one_and_loses_none(
    emulator: EmulatorThread,
) -> None:
    for i in range(7):
        emulator.create(configmap(f"c{i}", k=str(i)))
    cluster = kube(emulator, page_size=2)
    objs = cluster.list_objects([CONFIGMAPS], NS)
    assert [o["metadata"]["name"] for o in objs] == [f"c{i}" for i in range(7)]
    assert [o["data"]["k"] for o in objs] == [str(i) for i in range(7)]
    pages = emulator.requests(lambda r: r.action == kmock.action.LIST)
    assert len(pages) == 4  # 2+2+2+1: each page asked for once, none wasted
    cluster.close()


def test_a_wrong_guess_of_the_next_page_is_dropped_for_the_right_one() -> None:
    """Duplicate keys (the last one counts) make the page's head lie about the token."""
    from drifttui.cluster.kube import peek_continue
    from drifttui.cluster.reflector import ListPage

    def page(names: list[str], head: str | None, real: str | None) -> bytes:
        items = ",".join(json.dumps({"metadata": {"name": n, "namespace": NS}}) for n in names)
        meta = json.dumps({"resourceVersion": "7", **({"continue": real} if real else {})})
        lying = json.dumps({"continue": head} if head else {})
        return f'{{"metadata":{lying},"items":[{items}],"metadata":{meta}}}'.encode()

    pages = {
        None: page(["a"], "wrong", "t2"),
        "t2": page(["b"], None, "t3"),
        "t3": page(["c"], None, None),
        "wrong": page(["x"], None, None),
    }
    assert peek_continue(pages[None]) == "wrong"
    asked: list[str | None] = []

    class Transport:
        def list_page_bytes(self, kind: Any, ns: Any, *, limit: int, continue_token: Any) -> bytes:
            asked.append(continue_token)
            return pages[continue_token]

        def parse_page(self, data: bytes) -> ListPage:
            doc = json.loads(data)
            return ListPage(doc["items"], "7", doc["metadata"].get("continue"))

    cluster = KubeCluster(configuration=k8s_client.Configuration(host="http://127.0.0.1:1"))
    cluster.transport = Transport()  # type: ignore[assignment]
    objs = cluster.list_objects([CONFIGMAPS], NS)
    assert [o["metadata"]["name"] for o in objs] == ["a", "b", "c"]
    assert set(asked) == {None, "wrong", "t2", "t3"}  # the wrong page was asked for, unused
    cluster.close()


def test_the_continue_token_is_read_from_the_head_of_a_page() -> None:
    from drifttui.cluster.kube import peek_continue

    assert peek_continue(b'{"kind":"List","metadata":{"continue":"abc="},"items":[]}') == "abc="
    assert peek_continue(b'{"metadata": {"resourceVersion": "5"}, "items": [1]}') is None
    assert peek_continue(b'{"items":[{"metadata":{"continue":"no"}}],"metadata":{}}') is None
    assert peek_continue(b'{"metadata":{"continue":') is None
    assert peek_continue(b"not json at all") is None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_unreachable_cluster_is_one_line_never_a_traceback() -> None:
    port = _closed_port()
    cluster = KubeCluster(
        configuration=k8s_client.Configuration(host=f"http://127.0.0.1:{port}"),
        context="gone",
        settings=FAST,
    )
    with pytest.raises(ClusterError) as info:
        cluster.list_objects([DEPLOYMENTS], NS)
    line = str(info.value)
    assert "\n" not in line
    assert line == (
        f'cannot list apps/v1 Deployment in "shop" (context gone): cannot connect to '
        f"http://127.0.0.1:{port} (connection refused); check that the cluster is reachable "
        "(kubectl cluster-info) and the context"
    )
    result = cluster.patch("apps/v1", "Deployment", NS, "web", [PatchOp("remove", "/x")])
    assert not result.ok
    assert result.error is not None
    assert "connection refused" in result.error
    cluster.close()


# --------------------------------------------------------------------------- corrections


@pytest.mark.parametrize(
    ("code", "reason", "message"),
    [
        (
            403,
            "Forbidden",
            'deployments.apps "web" is forbidden: User "dev" cannot patch resource "deployments"',
        ),
        (409, "Conflict", 'Operation cannot be fulfilled on deployments.apps "web": modified'),
        (422, "Invalid", 'Deployment.apps "web" is invalid: spec.replicas: must be >= 0'),
    ],
)
def test_patch_refusals_come_back_as_results_with_the_api_message(
    emulator: EmulatorThread, code: int, reason: str, message: str
) -> None:
    emulator.create(deployment("web", replicas=2))
    res = emulator.resource("apps/v1", "Deployment")
    emulator.script(lambda s: s["patch", res] << code << status(code, reason, message))
    cluster = kube(emulator)
    result = cluster.patch(
        "apps/v1", "Deployment", NS, "web", [PatchOp("replace", "/spec/replicas", 3)]
    )
    assert not result.ok
    assert result.status == code
    assert result.error == message
    server = emulator.get("apps/v1", "Deployment", NS, "web")
    assert server is not None
    assert server["spec"]["replicas"] == 2
    cluster.close()


def test_the_planned_correction_makes_the_live_object_equal_desired(
    emulator: EmulatorThread,
) -> None:
    desired = deployment("backend-api", replicas=3, image="registry.example/backend:1.8.2")
    container = desired["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "LOG_LEVEL", "value": "info"}, {"name": "REGION", "value": "eu"}]
    emulator.create(desired)

    def by_hand(o: dict[str, Any]) -> None:
        o["spec"]["replicas"] = 5
        c = o["spec"]["template"]["spec"]["containers"][0]
        c["image"] = "registry.example/backend:1.9.0-rc1"
        c["env"] = [{"name": "REGION", "value": "eu"}, {"name": "DEBUG", "value": "1"}]
        o["metadata"]["labels"]["hotfix"] = "true"

    live_before = emulator.modify(
        "apps/v1", "Deployment", NS, "backend-api", by_hand, "kubectl-edit"
    )
    app: FieldPath = ("spec", "template", "spec", "containers", Sel((("name", "app"),)))

    def drift(path: FieldPath, change: Change, category: Category) -> FieldDrift:
        return FieldDrift(path, change, None, None, category, Severity.MEDIUM)

    findings = (
        drift(("spec", "replicas"), Change.CHANGED, Category.REPLICAS),
        drift((*app, "image"), Change.CHANGED, Category.IMAGE),
        drift((*app, "env", Sel((("name", "LOG_LEVEL"),))), Change.REMOVED, Category.OTHER),
        drift((*app, "env", Sel((("name", "DEBUG"),))), Change.ADDED, Category.OTHER),
        drift(("metadata", "labels", "hotfix"), Change.ADDED, Category.LABELS),
    )
    item = DriftItem(
        ResourceKey.of(desired), "apps/v1", ResourceStatus.DRIFTED, findings, environment="test"
    )
    cluster = kube(emulator)
    live = cluster.get("apps/v1", "Deployment", NS, "backend-api")
    assert live is not None
    ops = plan_correction(desired, live, item)

    preview = cluster.patch("apps/v1", "Deployment", NS, "backend-api", ops, dry_run=True)
    assert preview.ok
    assert emulator.get("apps/v1", "Deployment", NS, "backend-api") == live_before

    result = cluster.patch("apps/v1", "Deployment", NS, "backend-api", ops)
    assert result.ok
    server = emulator.get("apps/v1", "Deployment", NS, "backend-api")
    assert server is not None
    assert preview.result is not None
    assert preview.result["spec"] == server["spec"]  # the preview predicted it
    for path in (
        ("spec", "replicas"),
        (*app, "image"),
        (*app, "env", Sel((("name", "LOG_LEVEL"),))),
        ("metadata", "labels"),
    ):
        assert get_path(server, path) == get_path(desired, path), path
    env = server["spec"]["template"]["spec"]["containers"][0]["env"]
    assert sorted(e["name"] for e in env) == ["LOG_LEVEL", "REGION"]

    sent = emulator.requests(lambda r: r.method == kmock.method.PATCH)
    assert [r.headers["Content-Type"] for r in sent] == ["application/json-patch+json"] * 2
    assert [r.params.get("dryRun") for r in sent] == ["All", None]
    assert {r.params["fieldManager"] for r in sent} == {FIELD_MANAGER}
    assert sent[-1].data == [op.as_dict() for op in ops]
    cluster.close()


def test_apply_sends_server_side_apply_with_force_and_our_manager(
    emulator: EmulatorThread,
) -> None:
    cluster = kube(emulator)
    manifest = configmap("feature-flags", CHECKOUT_V2="false")
    manifest["metadata"]["resourceVersion"] = "42"  # stale bookkeeping must not be sent
    manifest["status"] = {"whatever": True}
    result = cluster.apply(manifest)
    assert result.ok
    assert result.action == "create"
    sent = emulator.requests(lambda r: r.method == kmock.method.PATCH)[-1]
    assert sent.headers["Content-Type"] == "application/apply-patch+yaml"
    assert sent.params["fieldManager"] == FIELD_MANAGER
    assert sent.params["force"] == "true"
    assert "status" not in sent.data
    assert "resourceVersion" not in sent.data["metadata"]
    cluster.close()


def test_a_namespace_unit_is_applied_read_and_listed_as_a_cluster_scoped_object(
    emulator: EmulatorThread,
) -> None:
    """A chain's first unit is usually the Namespace: `apply` creates it by server-side
    apply at /api/v1/namespaces/<name> (no namespace in the path), and it reads back."""
    cluster = kube(emulator)
    manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "drift-system", "labels": {"team": "platform"}},
    }
    result = cluster.apply(manifest)
    assert result.ok, result.error
    assert result.action == "create"
    live = cluster.get("v1", "Namespace", "", "drift-system")
    assert live is not None
    assert live["metadata"]["labels"] == {"team": "platform"}
    sent = emulator.requests(lambda r: r.method == kmock.method.PATCH)[-1]
    assert sent.params["fieldManager"] == FIELD_MANAGER
    again = cluster.apply({**manifest, "metadata": {"name": "drift-system", "labels": {}}})
    assert again.ok
    assert again.action != "create"
    api = k8s_client.CoreV1Api(k8s_client.ApiClient(emulator.configuration()))
    assert [n.metadata.name for n in api.list_namespace().items] == ["drift-system"]
    api.delete_namespace("drift-system")
    assert cluster.get("v1", "Namespace", "", "drift-system") is None
    cluster.close()


# --------------------------------------------------------------------------- kubeconfig


def _kubeconfig(tmp_path: Path, server: str, token: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        f"""apiVersion: v1
kind: Config
current-context: emu
contexts:
- name: emu
  context: {{cluster: local, user: dev, namespace: shop}}
- name: prod-eu
  context: {{cluster: local, user: dev}}
clusters:
- name: local
  cluster: {{server: "{server}"}}
users:
- name: dev
  user: {{token: "{token}"}}
"""
    )
    return path


def test_kubeconfig_context_and_token_are_used(emulator: EmulatorThread, tmp_path: Path) -> None:
    token = base64.b64encode(b"very-secret-bearer").decode()
    path = _kubeconfig(tmp_path, emulator.url, token)
    emulator.create(configmap("settings", k="v"))
    cluster = KubeCluster(kubeconfig=str(path), settings=FAST)
    assert cluster.name == "emu"
    assert cluster.namespace == "shop"  # the context's namespace
    assert [o["metadata"]["name"] for o in cluster.list_objects([CONFIGMAPS], None)] == ["settings"]
    seen = emulator.requests(lambda r: r.action == kmock.action.LIST)
    assert seen[-1].headers["Authorization"] == f"Bearer {token}"
    cluster.close()


def test_an_unknown_context_names_the_known_ones_and_no_secret(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path, "http://127.0.0.1:1", "tok-123456")
    with pytest.raises(ClusterError) as info:
        KubeCluster(kubeconfig=str(path), context="staging")
    assert str(info.value) == (f"{path}: context 'staging' not found; known contexts: emu, prod-eu")
    assert "tok-123456" not in str(info.value)


def test_a_missing_kubeconfig_says_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ClusterError) as info:
        KubeCluster(kubeconfig=str(missing))
    assert str(info.value).startswith(f"no kubeconfig at {missing}; set KUBECONFIG")


def test_rejected_credentials_are_reported_without_the_token(
    emulator: EmulatorThread, tmp_path: Path
) -> None:
    token = "tok-" + "x" * 30
    path = _kubeconfig(tmp_path, emulator.url, token)
    res = emulator.resource("v1", "ConfigMap")
    emulator.script(lambda s: s["list", res] << 401 << status(401, "Unauthorized", "Unauthorized"))
    cluster = KubeCluster(kubeconfig=str(path), settings=FAST)
    with pytest.raises(ClusterError) as info:
        cluster.list_objects([CONFIGMAPS], "shop")
    assert str(info.value) == (
        'cannot list v1 ConfigMap in "shop" (context emu): 401 Unauthorized; '
        "the credentials were rejected: log in again or check the kubeconfig user"
    )
    assert token not in repr(info.value)
    cluster.close()


def test_the_sink_runs_on_one_thread_even_with_many_kinds(emulator: EmulatorThread) -> None:
    emulator.create(deployment("web"))
    emulator.create(configmap("settings", k="v"))
    cluster = kube(emulator)
    calls: list[int] = []
    stop = threading.Event()

    def sink(_: Any) -> None:
        calls.append(threading.get_ident())

    runner = threading.Thread(
        target=cluster.run_watch, args=([DEPLOYMENTS, CONFIGMAPS], NS, sink, stop)
    )
    runner.start()
    wait_until(lambda: len(calls) >= 4, what="the initial events")
    stop.set()
    runner.join(5)
    assert set(calls) == {runner.ident}
    cluster.close()


def test_objects_cross_the_boundary_as_plain_json(emulator: EmulatorThread) -> None:
    emulator.create(deployment("web"))
    cluster = kube(emulator)
    obj = cluster.list_objects([DEPLOYMENTS], NS)[0]
    assert copy.deepcopy(obj) == obj
    assert type(obj) is dict
    cluster.close()


def test_kinds_outside_the_table_are_found_by_discovery(emulator: EmulatorThread) -> None:
    def declare(server: Any) -> None:
        for plural, kind, namespaced in (
            ("widgets", "Widget", True),
            ("clusterwidgets", "ClusterWidget", False),
        ):
            server.resources[f"example.com/v1/{plural}"] = {
                "kind": kind,
                "namespaced": namespaced,
                "singular": kind.lower(),
                "verbs": ["get"],
                "shortnames": [],
                "categories": [],
                "subresources": [],
            }

    emulator.script(declare)
    cluster = kube(emulator)
    assert cluster.transport.resolve("example.com/v1", "Widget") == ("widgets", True)
    assert cluster.transport.resolve("example.com/v1", "ClusterWidget") == ("clusterwidgets", False)
    assert cluster.transport.path(
        ("example.com/v1", "ClusterWidget", "clusterwidgets"), NS, "w"
    ) == ("/apis/example.com/v1/clusterwidgets/w")
    with pytest.raises(ClusterError) as info:
        cluster.get("example.com/v1", "Gadget", NS, "g")
    assert str(info.value).startswith(
        'cannot get example.com/v1 Gadget in "shop" (context emulated): 404 Not Found; '
    )
    cluster.close()
