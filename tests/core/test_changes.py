"""Every kind of change is found, on the right path, with who made it."""

from __future__ import annotations

from typing import Any

from drifttui.core.models import Category, Change, ResourceKey, ResourceStatus, Sel, get_path

from .k8s import (
    container,
    copy_json,
    ctx,
    deployment,
    diff,
    diff_objects,
    edit,
    found,
    found_all,
    nest,
    served,
)

C = 'k:{"name":"web"}'
TPL = "spec|template|spec"


def test_identical_served_object_is_in_sync() -> None:
    d = deployment()
    item = diff(d, served(d))
    assert (item.status, item.fields, item.is_drifted) == (ResourceStatus.IN_SYNC, (), False)


def test_scaled_by_hand_is_changed_replicas_with_scale_attribution() -> None:
    d = deployment()
    live = served(d)
    live["spec"]["replicas"] = 5
    edit(live, "kubectl", nest("spec|replicas"), subresource="scale")
    item = diff(d, live)
    (f,) = item.fields
    assert (f.path, f.change, f.desired, f.live) == (("spec", "replicas"), Change.CHANGED, 3, 5)
    assert f.category is Category.REPLICAS
    assert f.safe_to_autofix
    assert f.attribution is not None
    assert f.attribution.describe() == "kubectl (scale), time unknown"
    assert item.status is ResourceStatus.DRIFTED


def test_image_set_by_hand() -> None:
    d = deployment()
    live = served(d)
    container(live)["image"] = "ghcr.io/example/web:hotfix"
    edit(live, "kubectl-set", nest(f"{TPL}|containers|{C}|image"))
    (f,) = diff(d, live).fields
    assert f.path_str == "spec.template.spec.containers[name=web].image"
    assert f.category is Category.IMAGE
    assert f.attribution is not None
    assert (f.attribution.manager, f.attribution.time) == (
        "kubectl-set",
        "2026-11-25T09:12:00Z",
    )
    assert f.pointer == "/spec/template/spec/containers/0/image"


def test_containers_are_paired_by_name_not_index() -> None:
    d = deployment()
    container(d)  # web
    d["spec"]["template"]["spec"]["containers"].append({"name": "log", "image": "fluent-bit:3"})
    live = served(d)
    live["spec"]["template"]["spec"]["containers"].reverse()
    assert diff(d, live).fields == ()


def test_env_added_changed_removed_by_name() -> None:
    d = deployment()
    container(d)["env"] = [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
        {"name": "C", "value": "3"},
    ]
    live = served(d)
    container(live)["env"] = [
        {"name": "C", "value": "3"},
        {"name": "A", "value": "9"},
        {"name": "D", "value": "4"},
    ]
    env = f"{TPL}|containers|{C}|env"
    edit(
        live,
        "kubectl-set",
        nest(f"{env}|" + 'k:{"name":"D"}', {".": {}, "f:name": {}, "f:value": {}}),
    )
    edit(live, "kubectl-edit", nest(f"{env}|" + 'k:{"name":"A"}|value'))
    base = "spec.template.spec.containers[name=web].env"
    assert found(diff(d, live)) == {
        (f"{base}[name=A].value", "changed"),
        (f"{base}[name=B]", "removed"),
        (f"{base}[name=D]", "added"),
    }


def test_volume_mounts_are_keyed_by_mount_path_even_for_one_volume_mounted_twice() -> None:
    d = deployment()
    container(d)["volumeMounts"] = [
        {"name": "cfg", "mountPath": "/etc/app/a.yaml", "subPath": "a.yaml"},
        {"name": "cfg", "mountPath": "/etc/app/b.yaml", "subPath": "b.yaml"},
    ]
    d["spec"]["template"]["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "cfg"}}]
    live = served(d)
    container(live)["volumeMounts"][1]["subPath"] = "c.yaml"
    vm = f"{TPL}|containers|{C}|volumeMounts|" + 'k:{"mountPath":"/etc/app/b.yaml"}|subPath'
    edit(live, "kubectl-edit", nest(vm))
    (f,) = diff(d, live).fields
    assert (
        f.path_str
        == "spec.template.spec.containers[name=web].volumeMounts[mountPath=/etc/app/b.yaml].subPath"
    )
    assert f.attribution is not None
    assert f.attribution.manager == "kubectl-edit"
    assert f.pointer == "/spec/template/spec/containers/0/volumeMounts/1/subPath"


def test_sidecar_added_by_a_person_is_one_finding_on_the_container() -> None:
    d = deployment()
    live = served(d)
    sidecar = {"name": "debug", "image": "busybox:1.36", "command": ["sleep", "1d"]}
    live["spec"]["template"]["spec"]["containers"].append(sidecar)
    edit(
        live,
        "kubectl-edit",
        nest(
            f"{TPL}|containers|" + 'k:{"name":"debug"}',
            {".": {}, "f:name": {}, "f:image": {}, "f:command": {}},
        ),
    )
    (f,) = diff(d, live).fields
    assert (f.path_str, f.change, f.live) == (
        "spec.template.spec.containers[name=debug]",
        Change.ADDED,
        sidecar,
    )
    assert f.pointer == "/spec/template/spec/containers/1"


def test_sidecar_injected_by_a_controller_is_not_drift() -> None:
    d = deployment()
    live = served(d)
    live["spec"]["template"]["spec"]["containers"].append(
        {"name": "istio-proxy", "image": "istio/proxyv2"}
    )
    edit(
        live,
        "istio-sidecar-injector",
        nest(f"{TPL}|containers|" + 'k:{"name":"istio-proxy"}', {".": {}, "f:image": {}}),
    )
    assert diff(d, live).fields == ()


def test_limits_and_labels_added_by_a_person() -> None:
    d = deployment()
    del container(d)["resources"]["limits"]
    live = served(d)
    container(live)["resources"]["limits"] = {"memory": "2Gi"}
    live["metadata"]["labels"]["hotfix"] = "true"
    edit(live, "kubectl-set", nest(f"{TPL}|containers|{C}|resources|limits|memory"))
    edit(live, "kubectl-label", nest("metadata|labels|hotfix"))
    item = diff(d, live)
    assert found(item) == {
        ("spec.template.spec.containers[name=web].resources.limits.memory", "added"),
        ("metadata.labels.hotfix", "added"),
    }
    cats = {f.path_str.split(".")[0]: f.category for f in item.fields}
    assert cats == {"spec": Category.RESOURCES, "metadata": Category.LABELS}


def test_removed_declared_fields_and_whole_maps() -> None:
    d = deployment()
    d["metadata"]["annotations"] = {"team": "shop", "pager": "on"}
    live = served(d)
    del live["metadata"]["annotations"]
    del container(live)["resources"]["limits"]
    assert found(diff(d, live)) == {
        ("metadata.annotations.team", "removed"),
        ("metadata.annotations.pager", "removed"),
        ("spec.template.spec.containers[name=web].resources.limits.cpu", "removed"),
        ("spec.template.spec.containers[name=web].resources.limits.memory", "removed"),
    }


def test_removed_struct_is_one_finding() -> None:
    d = deployment()
    container(d)["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
    live = served(d)
    del container(live)["readinessProbe"]
    (f,) = diff(d, live).fields
    assert (f.path_str, f.change) == (
        "spec.template.spec.containers[name=web].readinessProbe",
        Change.REMOVED,
    )
    assert f.pointer == "/spec/template/spec/containers/0/readinessProbe"


def test_atomic_lists_are_compared_whole() -> None:
    d = deployment()
    container(d)["args"] = ["--port", "8080"]
    live = served(d)
    container(live)["args"] = ["--port", "8081"]
    (f,) = diff(d, live).fields
    assert (f.path_str, f.desired, f.live) == (
        "spec.template.spec.containers[name=web].args",
        ["--port", "8080"],
        ["--port", "8081"],
    )


def test_container_ports_pair_by_port_and_report_by_name() -> None:
    d = deployment()
    container(d)["ports"] = [
        {"name": "http", "containerPort": 8080},
        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
    ]
    live = served(d)
    container(live)["ports"][0]["hostPort"] = 80
    container(live)["ports"].reverse()
    edit(
        live,
        "kubectl-edit",
        nest(f"{TPL}|containers|{C}|ports|" + 'k:{"containerPort":8080,"protocol":"TCP"}|hostPort'),
    )
    (f,) = diff(d, live).fields
    assert (f.path_str, f.change, f.live) == (
        "spec.template.spec.containers[name=web].ports[name=http].hostPort",
        Change.ADDED,
        80,
    )
    assert f.category is Category.PORTS


def test_unnamed_ports_use_the_port_number_and_protocol_when_needed() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "dns", "namespace": "shop"},
        "spec": {
            "selector": {"a": "b"},
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        },
    }
    live = served(svc)
    live["spec"]["ports"][0]["targetPort"] = 5353
    assert diff(svc, live).fields == ()  # targetPort left to the server and no person wrote it
    port = 'k:{"port":53,"protocol":"UDP"}'
    edit(live, "kubectl-patch", nest(f"spec|ports|{port}|targetPort"))
    (f,) = diff(svc, live).fields
    assert f.path_str == "spec.ports[port=53,protocol=UDP].targetPort"
    assert get_path(live, f.path) == (True, 5353)


def test_service_port_removed_by_hand() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"a": "b"},
            "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
        },
    }
    live = served(svc)
    live["spec"]["ports"].pop()
    assert found(diff(svc, live)) == {("spec.ports[name=https]", "removed")}


def test_type_mismatch_is_a_change_not_a_crash() -> None:
    d = deployment()
    live = served(d)
    live["spec"]["template"]["spec"]["containers"] = {"web": "oops"}
    (f,) = diff(d, live).fields
    assert f.path_str == "spec.template.spec.containers"
    assert f.change is Change.CHANGED


def test_missing_object_is_one_finding_with_an_empty_path() -> None:
    d = deployment()
    item = diff(d, None)
    assert item.status is ResourceStatus.MISSING
    assert item.is_drifted
    (f,) = item.fields
    assert (f.path, f.change, f.safe_to_autofix) == ((), Change.MISSING, False)
    assert item.monthly_cost_usd is not None
    assert item.monthly_cost_usd < 0


def test_diff_objects_pairs_by_key_and_handles_missing_and_unmanaged() -> None:
    web, api = deployment("web"), deployment("api")
    stray = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "stray", "namespace": "shop"},
        "data": {"a": "b"},
    }
    child = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-5d4f",
            "namespace": "shop",
            "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}],
        },
    }
    root_ca = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-root-ca.crt", "namespace": "shop"},
    }
    live = [served(web), stray, child, root_ca]
    items = diff_objects([web, api], live, ctx())
    assert [(i.key.name, i.status) for i in items] == [
        ("api", ResourceStatus.MISSING),
        ("web", ResourceStatus.IN_SYNC),
    ]
    items = diff_objects([web, api], live, ctx(include_unmanaged=True))
    statuses = {i.key.name: i.status for i in items}
    assert statuses == {
        "api": ResourceStatus.MISSING,
        "web": ResourceStatus.IN_SYNC,
        "stray": ResourceStatus.UNMANAGED,
    }


def test_manifest_without_namespace_pairs_with_the_default_namespace() -> None:
    d = deployment()
    del d["metadata"]["namespace"]
    live = served(deployment())
    (item,) = diff_objects([d], [live], ctx(default_namespace="shop"))
    assert item.key == ResourceKey("apps", "Deployment", "shop", "web")
    assert item.status is ResourceStatus.IN_SYNC
    (item,) = diff_objects([d], [live], ctx(default_namespace="other"))
    assert item.status is ResourceStatus.MISSING


def test_malformed_objects_are_errors_never_clean() -> None:
    items = diff_objects([{"kind": "ConfigMap"}, "junk"], [], ctx())  # type: ignore[list-item]
    assert [i.status for i in items] == [ResourceStatus.ERROR, ResourceStatus.ERROR]
    assert all(i.error for i in items)
    bad_live: Any = {"kind": "Deployment", "metadata": {}}
    item = diff(deployment(), bad_live)
    assert item.status is ResourceStatus.ERROR


def test_ids_are_stable_and_fingerprints_follow_the_values() -> None:
    d = deployment()
    live = served(d)
    live["spec"]["replicas"] = 5
    a = diff(d, live).fields[0]
    b = diff(copy_json(d), copy_json(live)).fields[0]
    assert (a.id, a.fingerprint) == (b.id, b.fingerprint)
    assert a.id.startswith("DRIFT-")
    assert len(a.id) == 18
    live["spec"]["replicas"] = 6
    c = diff(d, live).fields[0]
    assert c.id == a.id
    assert c.fingerprint != a.fingerprint
    assert diff(d, live, environment="prod").fields[0].id != a.id


def test_selectors_resolve_in_both_objects() -> None:
    d = deployment()
    container(d)["env"].append({"name": "X", "value": "1"})
    live = served(d)
    container(live)["env"][1]["value"] = "2"
    (f,) = diff(d, live).fields
    assert isinstance(f.path[4], Sel)
    assert get_path(d, f.path) == (True, "1")
    assert get_path(live, f.path) == (True, "2")


def test_fixture_like_multi_object_diff() -> None:
    d = deployment()
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "shop"},
        "data": {"LOG_LEVEL": "info"},
    }
    live_cm = served(cm)
    live_cm["data"]["LOG_LEVEL"] = "debug"
    edit(live_cm, "kubectl-edit", nest("data|LOG_LEVEL"))
    assert found_all(diff_objects([d, cm], [served(d), live_cm], ctx())) == {
        ("ConfigMap", "cfg", "data.LOG_LEVEL", "changed")
    }


def test_diff_keyed_matches_diff_objects() -> None:
    from drifttui.core.diff import diff_keyed
    from drifttui.core.normalize import key_of

    web, api = deployment("web"), deployment("api")
    live = served(web)
    live["spec"]["replicas"] = 9
    by_objects = diff_objects([web, api], [live], ctx())
    keyed = diff_keyed({key_of(o): o for o in (web, api)}, {key_of(live): live}, ctx())
    assert sorted(keyed, key=lambda i: i.key) == by_objects
