"""Trimming and the object store: what is kept for the diff, what is dropped, and how a
relist turns into events."""

from __future__ import annotations

import json
from pathlib import Path

from drifttui.cluster.protocol import EventType
from drifttui.cluster.store import LAST_APPLIED, ObjectStore, kind_id, trim_object

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "k8s-v1.28"


def _live(case: str, index: int = 0) -> dict:
    return json.loads((FIXTURES / f"{case}.json").read_text())["live"][index]  # type: ignore[no-any-return]


def test_trim_keeps_what_the_diff_reads_and_drops_the_rest() -> None:
    live = _live("nd-client-side-apply-recreate", 1)  # a Deployment with last-applied
    assert LAST_APPLIED in live["metadata"]["annotations"]
    live["status"] = {"observedGeneration": 3, "replicas": 2, "conditions": [{"type": "Available"}]}
    trimmed = trim_object(live)
    assert trimmed["spec"] == live["spec"]
    assert trimmed["status"] == {"observedGeneration": 3}
    meta = trimmed["metadata"]
    assert LAST_APPLIED not in meta.get("annotations", {})
    assert "creationTimestamp" not in meta
    for key in ("name", "namespace", "uid", "resourceVersion", "generation"):
        assert meta[key] == live["metadata"][key]
    for before, after in zip(live["metadata"]["managedFields"], meta["managedFields"], strict=True):
        assert set(after) <= {"manager", "operation", "time", "subresource", "fieldsV1"}
        assert after["fieldsV1"] == before["fieldsV1"]
        assert after["manager"] == before["manager"]


def test_trim_keeps_secret_data_and_other_top_level_fields() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns"},
        "type": "Opaque",
        "data": {"k": "dmFsdWU="},
        "immutable": True,
    }
    assert trim_object(secret) == secret
    role = _live("nd-rbac-serviceaccount", 1)
    assert trim_object(role)["rules"] == role["rules"]


def test_a_snapshot_trim_without_interning_keeps_exactly_the_same_object() -> None:
    """``list_objects`` (``--once``) skips the interning; the diff must see equal objects."""
    seen = 0
    for path in sorted(FIXTURES.glob("*.json")):
        for live in json.loads(path.read_text()).get("live") or []:
            compact = trim_object(live)
            plain = trim_object(live, compact=False)
            assert plain == compact, path.name
            assert json.dumps(plain, sort_keys=True) == json.dumps(compact, sort_keys=True)
            seen += 1
    assert seen >= 20


def test_list_items_get_their_kind_and_api_version() -> None:
    item = {"metadata": {"name": "c", "namespace": "ns", "resourceVersion": "5"}, "data": {}}
    trimmed = trim_object(item, "v1", "ConfigMap")
    assert (trimmed["apiVersion"], trimmed["kind"]) == ("v1", "ConfigMap")


def _cm(name: str, rv: str, ns: str = "a") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": rv},
    }


def test_upsert_tells_added_from_modified_and_skips_a_version_it_holds() -> None:
    store = ObjectStore()
    kid = kind_id("v1", "ConfigMap")
    assert store.upsert(kid, _cm("x", "1")) is EventType.ADDED
    assert store.upsert(kid, _cm("x", "1")) is None
    assert store.upsert(kid, _cm("x", "2")) is EventType.MODIFIED
    assert store.remove(kid, "a", "x") == _cm("x", "2")
    assert store.remove(kid, "a", "x") is None
    assert len(store) == 0


def test_replace_synthesises_deletes_within_the_listed_namespace_only() -> None:
    store = ObjectStore()
    kid = kind_id("v1", "ConfigMap")
    for obj in (_cm("keep", "1"), _cm("change", "1"), _cm("gone", "1"), _cm("other", "1", "b")):
        store.upsert(kid, obj)
    changes = store.replace(kid, [_cm("keep", "1"), _cm("change", "2"), _cm("new", "3")], "a")
    assert [(c.type, c.obj["metadata"]["name"]) for c in changes] == [
        (EventType.DELETED, "gone"),
        (EventType.MODIFIED, "change"),
        (EventType.ADDED, "new"),
    ]
    assert sorted(o["metadata"]["name"] for o in store.objects(kid)) == [
        "change",
        "keep",
        "new",
        "other",  # another namespace: not part of this relist
    ]
    assert store.objects(kid, "b") == [_cm("other", "1", "b")]
    assert store.kinds() == ["/ConfigMap"]


def test_gc_is_paused_for_the_longest_list_and_restored_after() -> None:
    import gc

    from drifttui.cluster.store import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # a second LIST in another reflector
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    import random

    from drifttui.cluster.reflector import WatchSettings, backoff_delay

    settings = WatchSettings(backoff_initial_s=0.5, backoff_max_s=4.0)
    rng = random.Random(7)
    for failures, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [backoff_delay(failures, settings, rng) for _ in range(50)]
        assert all(base / 2 <= d <= base for d in delays), failures
        assert len(set(delays)) > 1  # jittered: reflectors do not retry in lockstep
