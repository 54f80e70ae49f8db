"""The simulated API server looks like a real one where drifttui can tell.

The strongest check: replaying the fixtures (captured from kube-apiserver v1.28.7) through
the simulator, the objects and their managedFields come out exactly as the real server made
them, before and after the kubectl mutations.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.cluster.protocol import WATCHED_KINDS, EventType, PatchOp
from drifttui.cluster.reflector import ApiError
from drifttui.cluster.sim import SimulatedCluster, canonical_quantity
from drifttui.cluster.store import ObjectStore
from drifttui.core.defaults import apply_server_defaults
from drifttui.errors import ClusterError
from tests.cluster.conftest import FAST, NS, Watcher, configmap, deployment, wait_until

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "k8s-v1.28"
NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z

Sim = SimulatedCluster


def _case(case_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{case_id}.json").read_text())
    return data


def _body(obj: dict[str, Any], *, node_ports: bool = False) -> dict[str, Any]:
    """The object without metadata/status and without per-server allocations (addresses,
    and node ports unless the case declares them)."""
    out = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    spec = dict(out.get("spec") or {})
    for key in ("clusterIP", "clusterIPs"):
        spec.pop(key, None)
    if not node_ports and isinstance(spec.get("ports"), list):
        spec["ports"] = [
            {k: v for k, v in p.items() if k != "nodePort"} if isinstance(p, dict) else p
            for p in spec["ports"]
        ]
    if spec:
        out["spec"] = spec
    return out


def _owners(obj: dict[str, Any]) -> list[tuple[str, str, str | None, Any]]:
    return [
        (e["manager"], e["operation"], e.get("subresource"), e["fieldsV1"])
        for e in obj["metadata"]["managedFields"]
    ]


def _live_of(sim: Sim, want: dict[str, Any]) -> dict[str, Any]:
    got = sim.server.get(want["apiVersion"], want["kind"], "fixtures", want["metadata"]["name"])
    assert got is not None
    return got


SERVER_SIDE_APPLIED = sorted(
    p.stem for p in FIXTURES.glob("nd-*.json") if p.stem != "nd-client-side-apply-recreate"
)


@pytest.mark.parametrize("case_id", SERVER_SIDE_APPLIED)
def test_seeding_a_fixture_gives_the_real_servers_objects(case_id: str) -> None:
    case = _case(case_id)
    sim = Sim(namespace="fixtures")
    sim.seed(case["desired"], manager="confighub")
    for want in case["live"]:
        got = _live_of(sim, want)
        assert _body(got) == _body(want)
        assert _owners(got) == _owners(want)


def test_quantities_are_stored_canonical_as_the_server_does() -> None:
    case = _case("nd-client-side-apply-recreate")  # written as "0.25" and "0.5Gi"
    sim = Sim(namespace="fixtures")
    sim.seed(case["desired"])
    for want in case["live"]:
        assert _body(_live_of(sim, want)) == _body(want)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("0.25", "250m"),
        ("0.5Gi", "512Mi"),
        ("1000M", "1G"),
        (1, "1"),
        ("1.5", "1500m"),
        ("1536Mi", "1536Mi"),
        ("1.5Gi", "1536Mi"),
        ("0.5Ki", "512"),
        ("1000", "1k"),
        ("banana", "banana"),
    ],
)
def test_canonical_quantity(value: object, canonical: object) -> None:
    assert canonical_quantity(value) == canonical


Mutation = Callable[[Sim], object]
MUTATIONS: dict[str, Mutation] = {
    "d-annotation-by-human": lambda s: s.edit(
        "apps/v1", "Deployment", "fixtures", "search",
        {"metadata": {"annotations": {"example.com/owner": "team-search"}}},
        manager="kubectl-annotate",
    ),
    "d-configmap-binarydata-added": lambda s: s.edit(
        "v1", "ConfigMap", "fixtures", "branding",
        {"binaryData": {"logo.png": "iVBORw0KGgoAAAANSUhEUg=="}}, manager="kubectl-patch",
    ),
    "d-env-removed": lambda s: s.server.json_patch(
        "apps/v1", "Deployment", "fixtures", "mailer",
        [{"op": "remove", "path": "/spec/template/spec/containers/0/env/1"}],
        manager="kubectl-patch",
    ),
    "d-nodeport-changed": lambda s: s.server.json_patch(
        "v1", "Service", "fixtures", "gateway",
        [{"op": "replace", "path": "/spec/ports/0/nodePort", "value": 30444}],
        manager="kubectl-patch",
    ),
    "d-pdb-minavailable": lambda s: s.edit(
        "policy/v1", "PodDisruptionBudget", "fixtures", "checkout",
        {"spec": {"minAvailable": 1}}, manager="kubectl-patch",
    ),
    "d-role-rule-added": lambda s: s.server.json_patch(
        "rbac.authorization.k8s.io/v1", "Role", "fixtures", "deployer",
        [{"op": "add", "path": "/rules/-",
          "value": {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}}],
        manager="kubectl-patch",
    ),
    "d-serviceaccount-set": lambda s: s.server.update(
        "apps/v1", "Deployment", "fixtures", "billing",
        lambda d: d["spec"]["template"]["spec"].update(
            serviceAccountName="billing-admin", serviceAccount="billing-admin"
        ),
        manager="kubectl-set",
    ),
    "d-toleration-added": lambda s: s.server.json_patch(
        "apps/v1", "Deployment", "fixtures", "indexer",
        [{"op": "add", "path": "/spec/template/spec/tolerations/-",
          "value": {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists",
                    "effect": "NoSchedule"}}],
        manager="kubectl-patch",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case_id", sorted(MUTATIONS))
def test_kubectl_mutations_move_ownership_as_on_a_real_server(case_id: str) -> None:
    """Ownership moves with writes, removals leave no trace, atomic take-overs erase."""
    case = _case(case_id)
    sim = Sim(namespace="fixtures")
    sim.seed(case["desired"], manager="confighub")
    MUTATIONS[case_id](sim)
    for want in case["live"]:
        got = _live_of(sim, want)
        declared = case_id == "d-nodeport-changed"
        assert _body(got, node_ports=declared) == _body(want, node_ports=declared)
        assert _owners(got) == _owners(want)


# --------------------------------------------------------------------------- bookkeeping


def test_create_fills_server_metadata_from_the_injected_clock() -> None:
    sim = Sim(namespace=NS, clock=lambda: NOW)
    obj = sim.server.create(deployment("web"), manager="kubectl-create")
    meta = obj["metadata"]
    assert meta["creationTimestamp"] == "2026-09-21T14:13:20Z"
    assert meta["generation"] == 1
    assert obj["status"]["observedGeneration"] == 1
    assert meta["managedFields"][0]["time"] == "2026-09-21T14:13:20Z"
    assert obj["spec"] == apply_server_defaults(deployment("web"))["spec"]
    assert int(meta["resourceVersion"]) == sim.server.resource_version


def test_generation_follows_spec_changes_only_and_no_op_writes_keep_the_version() -> None:
    sim = Sim(namespace=NS)
    sim.server.create(deployment("web"), manager="confighub")
    labelled = sim.label("apps/v1", "Deployment", NS, "web", {"team": "a"})
    assert labelled["metadata"]["generation"] == 1
    scaled = sim.scale("Deployment", NS, "web", 4)
    assert scaled["metadata"]["generation"] == 2
    assert scaled["status"]["observedGeneration"] == 2
    again = sim.scale("Deployment", NS, "web", 4)
    assert again["metadata"]["resourceVersion"] == scaled["metadata"]["resourceVersion"]
    scale_entry = [e for e in again["metadata"]["managedFields"] if e.get("subresource")]
    assert scale_entry == [
        {
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
            "manager": "kubectl",
            "operation": "Update",
            "subresource": "scale",  # and no time: scale writes carry none
        }
    ]


def test_services_get_addresses_and_node_ports_that_survive_updates() -> None:
    sim = Sim(namespace=NS)
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    created = sim.server.apply(svc, manager="confighub")[0]
    ip = created["spec"]["clusterIP"]
    node_port = created["spec"]["ports"][0]["nodePort"]
    assert created["spec"]["clusterIPs"] == [ip]
    assert 30000 <= node_port <= 32767
    assert created["spec"]["ports"][0]["targetPort"] == 80
    patched = sim.server.json_patch(
        "v1", "Service", NS, "web",
        [{"op": "replace", "path": "/spec/selector", "value": {"app": "web2"}}],
        manager="kubectl-patch",
    )  # fmt: skip
    assert patched["spec"]["clusterIP"] == ip
    assert patched["spec"]["ports"][0]["nodePort"] == node_port


def test_removing_a_volume_still_mounted_is_invalid() -> None:
    sim = Sim(namespace=NS)
    dep = deployment("web")
    pod = dep["spec"]["template"]["spec"]
    pod["volumes"] = [{"name": "cfg", "configMap": {"name": "cfg"}}]
    pod["containers"][0]["volumeMounts"] = [{"name": "cfg", "mountPath": "/etc/cfg"}]
    sim.server.create(dep, manager="confighub")
    result = sim.patch(
        "apps/v1", "Deployment", NS, "web", [PatchOp("remove", "/spec/template/spec/volumes/0")]
    )
    assert not result.ok
    assert result.status == 422
    assert result.error == (
        'Deployment "web" is invalid: '
        'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "cfg"'
    )


def test_forbidden_writes_answer_like_rbac() -> None:
    sim = Sim(namespace=NS)
    sim.server.create(deployment("web"), manager="confighub")
    sim.server.forbid("patch", "Deployment")
    result = sim.patch(
        "apps/v1", "Deployment", NS, "web", [PatchOp("replace", "/spec/replicas", 1)]
    )
    assert (result.ok, result.status) == (False, 403)
    assert result.error == (
        'deployments.apps "web" is forbidden: User "demo-operator" cannot patch resource '
        '"deployments" in API group "apps" in the namespace "shop"'
    )
    applied = sim.apply(deployment("web"))
    assert applied.status == 403  # server-side apply is a patch for RBAC
    sim.server.allow_all()
    assert sim.patch(
        "apps/v1", "Deployment", NS, "web", [PatchOp("replace", "/spec/replicas", 1)]
    ).ok


def test_apply_without_force_conflicts_on_fields_another_manager_owns() -> None:
    sim = Sim(namespace=NS)
    sim.server.apply(deployment("web", replicas=2), manager="confighub")
    sim.scale("Deployment", NS, "web", 5)
    with pytest.raises(ApiError) as info:
        sim.server.apply(deployment("web", replicas=2), manager="confighub", force=False)
    assert info.value.status == 409
    assert 'conflict with "kubectl": spec.replicas' in info.value.message
    forced, _ = sim.server.apply(deployment("web", replicas=2), manager="confighub", force=True)
    assert forced["spec"]["replicas"] == 2


def test_list_objects_and_get_turn_api_errors_into_one_line() -> None:
    sim = Sim("sim-x", namespace=NS)
    sim.server.forbid("list", "ConfigMap")
    with pytest.raises(ClusterError) as info:
        sim.list_objects([("v1", "ConfigMap", "configmaps")], NS)
    assert str(info.value).startswith(
        'cannot list v1 ConfigMap in "shop" (cluster sim-x): 403 Forbidden: configmaps is forbidden'
    )


def test_history_beyond_its_bound_answers_410_to_an_old_watch() -> None:
    sim = Sim(namespace=NS, history=10)
    sim.server.create(configmap("c", v="0"), manager="confighub")
    old = str(sim.server.resource_version)
    for i in range(30):
        sim.edit("v1", "ConfigMap", NS, "c", {"data": {"v": str(i)}})
    with pytest.raises(ApiError) as info:
        sim.server.watch("v1", "ConfigMap", NS, resource_version=old, timeout_s=1, inactivity_s=1)
    assert info.value.status == 410


def test_a_held_watch_goes_silent_and_the_watchdog_restarts_it() -> None:
    sim = Sim(namespace=NS, settings=replace(FAST, inactivity_timeout_s=0.2))
    sim.server.create(configmap("c", v="0"), manager="confighub")
    with Watcher(sim, [("v1", "ConfigMap", "configmaps")]) as w:
        w.wait_listed("ConfigMap")
        with sim.server.hold_watches():
            sim.edit("v1", "ConfigMap", NS, "c", {"data": {"v": "1"}})
            w.wait_for(lambda w: bool(w.of(EventType.WATCH_FAILED)), "the watchdog")
        w.wait_for(lambda w: bool(w.of(EventType.MODIFIED)), "the held change")
        assert "no event for 0.2 s" in (w.of(EventType.WATCH_FAILED)[0].error or "")
        assert sim.server.requests["list"] == 1  # resumed, not relisted


# --------------------------------------------------------------------------- concurrency


@settings(max_examples=15, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["create", "modify", "delete", "expire", "drop", "compact"]),
            st.integers(0, 4),
        ),
        max_size=30,
    )
)
def test_any_sequence_of_writes_and_watch_failures_converges(ops: list[tuple[str, int]]) -> None:
    """A model check: whatever happens, the watcher's state ends equal to the server's."""
    sim = Sim(namespace=NS, settings=FAST, bookmark_interval_s=0.05)
    store = ObjectStore()
    seen: list[Any] = []
    stop = threading.Event()
    runner = threading.Thread(
        target=sim.run_watch,
        args=([("v1", "ConfigMap", "configmaps")], NS, seen.append, stop),
        kwargs={"store": store},
    )
    runner.start()
    try:
        for op, n in ops:
            name = f"c{n}"
            exists = sim.server.get("v1", "ConfigMap", NS, name) is not None
            if op == "create" and not exists:
                sim.server.create(configmap(name, v="0"), manager="confighub")
            elif op == "modify" and exists:
                sim.edit("v1", "ConfigMap", NS, name, {"data": {"v": str(len(seen))}})
            elif op == "delete" and exists:
                sim.delete("v1", "ConfigMap", NS, name)
            elif op == "expire":
                sim.server.expire_watches()
            elif op == "drop":
                sim.server.drop_watches()
            elif op == "compact":
                sim.server.compact()

        def versions_match() -> bool:
            mine = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in store}
            theirs = {
                o["metadata"]["name"]: o["metadata"]["resourceVersion"]
                for o in sim.server.objects()
            }
            return mine == theirs

        wait_until(versions_match, what="the store to equal the server")
    finally:
        stop.set()
        runner.join(5)


def test_watch_fans_out_to_every_caller() -> None:
    sim = Sim(namespace=NS, settings=FAST)
    sim.server.create(configmap("c", v="0"), manager="confighub")
    kinds = [k for k in WATCHED_KINDS if k[1] == "ConfigMap"]
    with Watcher(sim, kinds) as first, Watcher(sim, kinds) as second:
        first.wait_listed("ConfigMap")
        second.wait_listed("ConfigMap")
        sim.edit("v1", "ConfigMap", NS, "c", {"data": {"v": "1"}})
        for w in (first, second):
            w.wait_for(lambda w: bool(w.of(EventType.MODIFIED)), "the change, for each caller")
