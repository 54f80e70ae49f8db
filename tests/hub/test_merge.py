"""The upgrade merge: upstream changes land, local customisations survive, paths changed on
both sides are kept and reported."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.core.models import Sel
from drifttui.hub.merge import MISSING, changed_paths, field_changes, flatten, three_way_merge


def dep(replicas: int = 3, image: str = "nginx:1", env: list[Any] | None = None) -> dict:
    c: dict[str, Any] = {"name": "web", "image": image}
    if env is not None:
        c["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [c]}}},
    }


def test_upstream_change_lands_and_local_change_survives() -> None:
    r = three_way_merge(dep(), dep(image="nginx:2"), dep(replicas=5))
    assert r.document == dep(replicas=5, image="nginx:2")
    assert r.changed == ("spec.template.spec.containers[name=web].image",)
    assert r.conflicts == ()


def test_both_sides_changing_a_path_keeps_ours_and_reports_it() -> None:
    r = three_way_merge(dep(), dep(replicas=2), dep(replicas=5))
    assert r.document == dep(replicas=5)
    assert r.conflicts == ("spec.replicas",)
    assert r.changed == ()


def test_same_change_on_both_sides_is_no_conflict() -> None:
    r = three_way_merge(dep(), dep(replicas=2), dep(replicas=2))
    assert r.document == dep(replicas=2)
    assert r.conflicts == ()


def test_named_list_items_merge_item_by_item() -> None:
    base = dep(env=[{"name": "A", "value": "1"}])
    theirs = dep(env=[{"name": "A", "value": "2"}, {"name": "B", "value": "x"}])
    ours = dep(env=[{"name": "A", "value": "1"}, {"name": "LOCAL", "value": "y"}])
    r = three_way_merge(base, theirs, ours)
    env = r.document["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "A", "value": "2"},
        {"name": "LOCAL", "value": "y"},
        {"name": "B", "value": "x"},
    ]


def test_upstream_deletion_removes_an_untouched_path() -> None:
    base = dep()
    base["metadata"]["labels"] = {"old": "1"}
    r = three_way_merge(base, dep(), copy.deepcopy(base))
    assert "labels" not in r.document["metadata"]
    assert r.changed == ("metadata.labels.old",)


def test_local_deletion_against_upstream_edit_is_a_conflict() -> None:
    base = dep()
    base["metadata"]["labels"] = {"x": "1"}
    theirs = copy.deepcopy(base)
    theirs["metadata"]["labels"]["x"] = "2"
    ours = dep()
    r = three_way_merge(base, theirs, ours)
    assert "labels" not in r.document["metadata"]
    assert r.conflicts == ("metadata.labels",)


def test_field_changes_describe_old_and_new() -> None:
    changes = field_changes(dep(), dep(replicas=4))
    assert [(c.path, c.old, c.new) for c in changes] == [("spec.replicas", 3, 4)]
    added = field_changes({}, {"a": 1})
    assert added[0].old is MISSING
    assert added[0].new == 1


def test_flatten_keys_named_items_by_name() -> None:
    flat = flatten(dep())
    key = ("spec", "template", "spec", "containers", Sel((("name", "web"),)), "image")
    assert flat[key] == "nginx:1"


# --------------------------------------------------------------------------- properties

_leaf = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", "c"]), st.booleans())
_docs = st.recursive(
    _leaf,
    lambda inner: st.dictionaries(st.sampled_from(["x", "y", "z", "w"]), inner, max_size=3),
    max_leaves=8,
)
_maps = st.dictionaries(st.sampled_from(["x", "y", "z", "w"]), _docs, max_size=4)


@settings(max_examples=150)
@given(_maps, _maps)
def test_no_upstream_change_keeps_ours(base: dict, ours: dict) -> None:
    r = three_way_merge(base, copy.deepcopy(base), ours)
    assert r.document == ours
    assert r.conflicts == ()
    assert r.changed == ()


@settings(max_examples=150)
@given(_maps, _maps)
def test_no_local_change_takes_theirs(base: dict, theirs: dict) -> None:
    r = three_way_merge(base, theirs, copy.deepcopy(base))
    assert r.document == theirs
    assert r.conflicts == ()
    assert set(r.changed) == set(changed_paths(base, theirs))


@settings(max_examples=150)
@given(_maps, _maps, _maps)
def test_merge_is_idempotent_and_never_loses_a_conflicting_local_value(
    base: dict, theirs: dict, ours: dict
) -> None:
    r = three_way_merge(base, theirs, ours)
    again = three_way_merge(base, theirs, r.document)
    assert again.document == r.document
    flat_ours, flat_res = flatten(ours), flatten(r.document)
    for path in r.conflicts:
        for k, v in flat_ours.items():
            from drifttui.core.models import format_path

            if format_path(k) == path or format_path(k).startswith(path + "."):
                assert flat_res.get(k, MISSING) == v
