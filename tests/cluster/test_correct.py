"""Correction planning (core/correct.py): the ops, applied to the live object, give desired.

Findings are built by hand here (the diff lands on main separately); the live and desired
objects come from the real API-server fixtures where one fits.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
from hypothesis import given
from hypothesis import strategies as st

from drifttui.cluster.protocol import PatchOp
from drifttui.core.correct import plan_correction, plan_fix
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "k8s-v1.28"


def load(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.loads((FIXTURES / f"{case}.json").read_text())
    return data["desired"][0], data["live"][0]


def fd(
    path: FieldPath,
    change: Change,
    *,
    category: Category = Category.OTHER,
    ignored_by: str | None = None,
) -> FieldDrift:
    return FieldDrift(
        path=path,
        change=change,
        desired=None,
        live=None,
        category=category,
        severity=Severity.MEDIUM,
        ignored_by=ignored_by,
    )


def item(obj: dict[str, Any], *fields: FieldDrift, **kw: Any) -> DriftItem:
    return DriftItem(
        key=ResourceKey.of(obj),
        api_version=obj["apiVersion"],
        status=kw.pop("status", ResourceStatus.DRIFTED),
        fields=fields,
        **kw,
    )


def apply(live: dict[str, Any], ops: list[PatchOp]) -> dict[str, Any]:
    return jsonpatch.apply_patch(live, [op.as_dict() for op in ops], in_place=False)  # type: ignore[no-any-return]


def changes(ops: list[PatchOp]) -> list[PatchOp]:
    return [op for op in ops if op.op != "test"]


# --------------------------------------------------------------------------- fixtures


def test_removed_env_var_is_added_back_from_desired() -> None:
    desired, live = load("d-env-removed")
    path: FieldPath = (
        "spec", "template", "spec", "containers", Sel((("name", "mailer"),)),
        "env", Sel((("name", "SMTP_PORT"),)),
    )  # fmt: skip
    ops = plan_correction(desired, live, item(live, fd(path, Change.REMOVED)))
    fixed = apply(live, ops)
    assert get_path(fixed, path) == (True, {"name": "SMTP_PORT", "value": "587"})
    # The other env vars are untouched.
    env = fixed["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["SMTP_HOST", "FROM_ADDRESS", "SMTP_PORT"]
    # The container index is guarded.
    assert PatchOp("test", "/spec/template/spec/containers/0/name", "mailer") in ops


def test_changed_nodeport_is_replaced_under_a_guarded_index() -> None:
    desired, live = load("d-nodeport-changed")
    path: FieldPath = ("spec", "ports", Sel((("name", "https"),)), "nodePort")
    ops = plan_correction(desired, live, item(live, fd(path, Change.CHANGED)))
    assert ops == [
        PatchOp("test", "/spec/ports/0/name", "https"),
        PatchOp("replace", "/spec/ports/0/nodePort", 30443),
    ]
    assert apply(live, ops)["spec"]["ports"][0]["nodePort"] == 30443


def test_annotation_added_by_a_person_is_removed() -> None:
    desired, live = load("d-annotation-by-human")
    path: FieldPath = ("metadata", "annotations", "example.com/owner")
    ops = plan_correction(desired, live, item(live, fd(path, Change.ADDED)))
    assert changes(ops) == [PatchOp("remove", "/metadata/annotations/example.com~1owner")]
    fixed = apply(live, ops)
    assert "example.com/owner" not in fixed["metadata"]["annotations"]
    assert fixed["metadata"]["annotations"]["example.com/docs"]


def test_atomic_list_is_replaced_whole() -> None:
    desired, live = load("d-toleration-added")
    path: FieldPath = ("spec", "template", "spec", "tolerations")
    ops = plan_correction(desired, live, item(live, fd(path, Change.CHANGED)))
    fixed = apply(live, ops)
    assert (
        fixed["spec"]["template"]["spec"]["tolerations"]
        == (desired["spec"]["template"]["spec"]["tolerations"])
    )


def test_binary_data_key_added_by_hand_is_removed() -> None:
    desired, live = load("d-configmap-binarydata-added")
    ops = plan_correction(desired, live, item(live, fd(("binaryData", "logo.png"), Change.ADDED)))
    fixed = apply(live, ops)
    assert fixed["binaryData"] == {}
    assert fixed["data"] == desired["data"]


def test_serviceaccount_changed_sets_the_desired_name() -> None:
    desired, live = load("d-serviceaccount-set")
    path: FieldPath = ("spec", "template", "spec", "serviceAccountName")
    ops = plan_correction(desired, live, item(live, fd(path, Change.CHANGED)))
    assert changes(ops) == [
        PatchOp("replace", "/spec/template/spec/serviceAccountName", "billing"),
    ]


# --------------------------------------------------------------------------- Secrets


def _secret(data: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop"},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        **extra,
    }


def test_secret_value_comes_from_the_desired_manifest_never_the_mask() -> None:
    desired = _secret({"password": "s3cret"})
    live = _secret({"password": "rotated-by-hand"})
    finding = FieldDrift(
        path=("data", "password"),
        change=Change.CHANGED,
        desired=MASK,
        live=MASK,
        category=Category.SECRET,
        severity=Severity.HIGH,
    )
    ops = plan_correction(desired, live, item(live, finding))
    assert ops == [PatchOp("replace", "/data/password", desired["data"]["password"])]
    assert all(MASK not in json.dumps(op.as_dict()) for op in ops)


def test_secret_string_data_is_encoded_for_the_data_field() -> None:
    desired = _secret({}, stringData={"token": "abc"})
    del desired["data"]
    live = _secret({"token": "xyz"})
    ops = plan_correction(desired, live, item(live, fd(("data", "token"), Change.CHANGED)))
    assert ops == [PatchOp("replace", "/data/token", base64.b64encode(b"abc").decode())]


# --------------------------------------------------------------------------- ignore rules


def _deployment(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "web:1", "volumeMounts": []},
                    ],
                    "volumes": [],
                },
            },
        },
    }
    base["spec"].update(spec)
    return base


def test_ignored_and_operational_findings_are_left_alone() -> None:
    desired = _deployment()
    live = copy.deepcopy(desired)
    live["spec"]["replicas"] = 5
    live["metadata"]["labels"]["team"] = "x"
    restarted = ("spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt")
    findings = (
        fd(("spec", "replicas"), Change.CHANGED, ignored_by="replicas-by-hand-ok"),
        fd(restarted, Change.ADDED, category=Category.OPERATIONAL),
        fd(("metadata", "labels", "team"), Change.ADDED),
    )
    plan = plan_fix(desired, live, item(live, *findings))
    assert plan.action == "patch"
    assert list(plan.ops) == [PatchOp("remove", "/metadata/labels/team")]
    reasons = dict(plan.skipped)
    assert reasons["spec.replicas"] == "ignored by replicas-by-hand-ok"
    assert (
        reasons["spec.template.metadata.annotations.kubectl.kubernetes.io/restartedAt"]
        == "operational"
    )


def test_subtree_written_back_leaves_out_ignored_paths() -> None:
    desired = _deployment()
    desired["metadata"]["annotations"] = {"owner": "team-a", "managed-note": "desired"}
    live = copy.deepcopy(desired)
    del live["metadata"]["annotations"]
    findings = (
        fd(("metadata", "annotations", "owner"), Change.REMOVED),
        fd(("metadata", "annotations", "managed-note"), Change.REMOVED, ignored_by="notes"),
    )
    ops = plan_correction(desired, live, item(live, *findings))
    assert ops == [PatchOp("add", "/metadata/annotations", {"owner": "team-a"})]


def test_only_counted_findings_make_a_patch() -> None:
    desired = _deployment()
    live = copy.deepcopy(desired)
    plan = plan_fix(
        desired, live, item(live, fd(("spec", "replicas"), Change.CHANGED, ignored_by="r"))
    )
    assert plan.action == "none"
    assert plan.ops == ()


# --------------------------------------------------------------------------- autoscaled


def _hpa_item(live: dict[str, Any], *fields: FieldDrift) -> DriftItem:
    key = ResourceKey.of(live)
    return item(live, *fields, autoscaler=Autoscaler("web", key, min_replicas=2, max_replicas=10))


def test_autoscaled_replicas_are_clamped_to_the_hpa_range() -> None:
    desired = _deployment(replicas=1)
    live = _deployment(replicas=30)
    ops = plan_correction(desired, live, _hpa_item(live, fd(("spec", "replicas"), Change.CHANGED)))
    assert ops == [PatchOp("replace", "/spec/replicas", 2)]


def test_autoscaled_replicas_without_desired_value_are_brought_into_range() -> None:
    desired = _deployment()
    del desired["spec"]["replicas"]
    live = _deployment(replicas=40)
    ops = plan_correction(desired, live, _hpa_item(live, fd(("spec", "replicas"), Change.ADDED)))
    # "added" by a person, but removing replicas would reset them to 1: clamp instead.
    assert ops == [PatchOp("replace", "/spec/replicas", 10)]


def test_autoscaled_replicas_not_counted_are_never_patched() -> None:
    desired = _deployment(replicas=1)
    live = _deployment(replicas=7)
    finding = fd(("spec", "replicas"), Change.CHANGED, ignored_by="hpa")
    assert plan_correction(desired, live, _hpa_item(live, finding)) == []


# --------------------------------------------------------------------------- lists


def _with_mounts(mounts: list[dict[str, Any]], volumes: list[dict[str, Any]]) -> dict[str, Any]:
    obj = _deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = mounts
    obj["spec"]["template"]["spec"]["volumes"] = volumes
    return obj


def test_added_mounts_and_volumes_are_removed_mounts_first_highest_index_first() -> None:
    desired = _with_mounts(
        [{"name": "cfg", "mountPath": "/etc/cfg"}], [{"name": "cfg", "configMap": {"name": "c"}}]
    )
    live = _with_mounts(
        [
            {"name": "cfg", "mountPath": "/etc/cfg"},
            {"name": "debug", "mountPath": "/debug"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        [
            {"name": "cfg", "configMap": {"name": "c"}},
            {"name": "debug", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
        ],
    )
    pod: FieldPath = ("spec", "template", "spec")
    web: FieldPath = (*pod, "containers", Sel((("name", "web"),)))
    findings = (
        fd((*pod, "volumes", Sel((("name", "debug"),))), Change.ADDED),
        fd((*pod, "volumes", Sel((("name", "tmp"),))), Change.ADDED),
        fd((*web, "volumeMounts", Sel((("mountPath", "/debug"),))), Change.ADDED),
        fd((*web, "volumeMounts", Sel((("mountPath", "/tmp"),))), Change.ADDED),
    )
    ops = plan_correction(desired, live, item(live, *findings))
    removes = [op.path for op in ops if op.op == "remove"]
    assert removes == [
        "/spec/template/spec/containers/0/volumeMounts/2",
        "/spec/template/spec/containers/0/volumeMounts/1",
        "/spec/template/spec/volumes/2",
        "/spec/template/spec/volumes/1",
    ]
    fixed = apply(live, ops)
    assert (
        fixed["spec"]["template"]["spec"]["volumes"]
        == desired["spec"]["template"]["spec"]["volumes"]
    )
    assert (
        fixed["spec"]["template"]["spec"]["containers"]
        == desired["spec"]["template"]["spec"]["containers"]
    )


def test_sidecar_removed_and_env_added_in_one_patch_hit_the_right_container() -> None:
    desired = _deployment()
    desired["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    live = _deployment()
    live["spec"]["template"]["spec"]["containers"].insert(0, {"name": "debug", "image": "busybox"})
    web: FieldPath = ("spec", "template", "spec", "containers", Sel((("name", "web"),)))
    findings = (
        fd(("spec", "template", "spec", "containers", Sel((("name", "debug"),))), Change.ADDED),
        fd((*web, "env", Sel((("name", "A"),))), Change.REMOVED),
    )
    fixed = apply(live, plan_correction(desired, live, item(live, *findings)))
    assert (
        fixed["spec"]["template"]["spec"]["containers"]
        == desired["spec"]["template"]["spec"]["containers"]
    )


def test_a_reordered_list_fails_the_guard_instead_of_hitting_the_wrong_item() -> None:
    desired, live = load("d-nodeport-changed")
    live["spec"]["ports"].insert(
        0, {"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}
    )
    path: FieldPath = ("spec", "ports", Sel((("name", "https"),)), "nodePort")
    stale_live = load("d-nodeport-changed")[1]
    ops = plan_correction(desired, stale_live, item(stale_live, fd(path, Change.CHANGED)))
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        apply(live, ops)


def test_finding_whose_item_is_gone_from_live_is_skipped() -> None:
    desired, live = load("d-nodeport-changed")
    path: FieldPath = ("spec", "ports", Sel((("name", "grpc"),)), "nodePort")
    plan = plan_fix(desired, live, item(live, fd(path, Change.CHANGED)))
    assert plan.action == "none"
    assert plan.skipped == (
        ("spec.ports[name=grpc].nodePort", "not declared in the desired manifest"),
    )


def test_missing_object_is_recreated_by_apply() -> None:
    desired, _ = load("d-env-removed")
    missing = DriftItem(
        key=ResourceKey.of(desired),
        api_version=desired["apiVersion"],
        status=ResourceStatus.MISSING,
        fields=(fd((), Change.MISSING),),
    )
    plan = plan_fix(desired, None, missing)
    assert plan.action == "apply"
    assert plan.manifest == desired
    assert plan_correction(desired, {}, missing) == []
    # A manifest kept without a namespace is re-created where the object was missed.
    bare = copy.deepcopy(desired)
    del bare["metadata"]["namespace"]
    manifest = plan_fix(bare, None, missing).manifest
    assert manifest is not None
    assert manifest["metadata"]["namespace"] == missing.key.namespace
    assert "namespace" not in bare["metadata"]  # the caller's manifest is untouched


# --------------------------------------------------------------------------- property


keys = st.text(alphabet="abcdefgh/~.", min_size=1, max_size=4)
maps = st.dictionaries(keys, st.text(max_size=3), max_size=6)


@given(desired_data=maps, live_data=maps)
def test_patch_makes_live_data_equal_desired(
    desired_data: dict[str, str], live_data: dict[str, str]
) -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": desired_data,
    }
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": live_data}
    findings = []
    for k in desired_data.keys() | live_data.keys():
        if k not in live_data:
            findings.append(fd(("data", k), Change.REMOVED))
        elif k not in desired_data:
            findings.append(fd(("data", k), Change.ADDED))
        elif desired_data[k] != live_data[k]:
            findings.append(fd(("data", k), Change.CHANGED))
    fixed = apply(live, plan_correction(desired, live, item(live, *findings)))
    assert fixed["data"] == desired_data
