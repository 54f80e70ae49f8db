"""managedFields parsed into ownership: keys, items, people and controllers."""

from __future__ import annotations

import pytest

from drifttui.core.attribution import (
    ManagedFields,
    field_key,
    human_writer,
    is_human_manager,
    item_key,
    pick_writer,
)
from drifttui.core.models import Attribution


@pytest.mark.parametrize(
    ("manager", "human"),
    [
        ("kubectl", True),
        ("kubectl-edit", True),
        ("kubectl-client-side-apply", True),
        ("kubectl-rollout", True),
        ("helm", True),
        ("kube-controller-manager", False),
        ("deployment-controller", False),
        ("confighub", False),
        ("drifttui", False),
        ("argocd-controller", False),
    ],
)
def test_human_managers(manager: str, human: bool) -> None:
    assert is_human_manager(manager) is human


MF = [
    {
        "manager": "confighub",
        "operation": "Apply",
        "time": "t0",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:spec": {
                "f:selector": {},
                "f:ports": {
                    'k:{"port":443,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:name": {}}
                },
            }
        },
    },
    {
        "manager": "kubectl-patch",
        "operation": "Update",
        "time": "t1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:spec": {"f:ports": {'k:{"protocol":"TCP","port":443}': {"f:nodePort": {}}}}
        },
    },
    {
        "manager": "kubectl",
        "operation": "Update",
        "subresource": "scale",
        "fieldsV1": {"f:spec": {"f:replicas": {}}},
    },
    {
        "manager": "finalizer-bot",
        "operation": "Update",
        "fieldsV1": {"f:metadata": {"f:finalizers": {'v:"example.com/x"': {}}}},
    },
    "not an entry",
]
PORT = item_key([("port", 443), ("protocol", "TCP")])


def test_item_keys_match_whatever_the_key_order_in_fields_v1() -> None:
    mf = ManagedFields(MF)
    owners = mf.owners((field_key("spec"), field_key("ports"), PORT, field_key("nodePort")))
    assert [o.manager for o in owners] == ["kubectl-patch"]
    assert [o.manager for o in mf.item_owners((field_key("spec"), field_key("ports"), PORT))] == [
        "confighub"
    ]


def test_owning_a_field_whole_covers_what_is_under_it() -> None:
    mf = ManagedFields(MF)
    path = (field_key("spec"), field_key("selector"), field_key("matchLabels"))
    assert [o.manager for o in mf.owners(path)] == ["confighub"]
    assert mf.owners(path, atomic_ancestor=False) == []


def test_scale_writes_have_no_time_and_name_the_subresource() -> None:
    (a,) = ManagedFields(MF).owners((field_key("spec"), field_key("replicas")))
    assert a == Attribution("kubectl", "Update", None, "scale", True)
    assert a.describe() == "kubectl (scale), time unknown"


def test_people_are_preferred_then_the_latest_write() -> None:
    ctrl = Attribution("kube-controller-manager", "Update", "t9", None, False)
    old = Attribution("kubectl-edit", "Update", "t1", None, True)
    new = Attribution("kubectl-patch", "Update", "t2", None, True)
    assert pick_writer([ctrl, old, new]) == new
    assert pick_writer([ctrl]) == ctrl
    assert human_writer([ctrl]) is None
    assert pick_writer([]) is None


def test_has_human_under_prunes_quickly() -> None:
    mf = ManagedFields(MF)
    assert mf.has_human
    assert mf.has_human_under((field_key("spec"), field_key("ports")))
    assert not mf.has_human_under((field_key("metadata"),))
    assert not ManagedFields([MF[0]]).has_human
    assert not ManagedFields(None)
    assert ManagedFields(None).owners((field_key("spec"),)) == []
