"""The reflector's cache: trimmed live objects by ResourceKey, and the trimming itself.

Only what the diff needs is kept, so memory stays bounded at tens of thousands of objects:
metadata (name, namespace, uid, labels, annotations without the last-applied copy,
generation, resourceVersion, ownerReferences, finalizers, deletionTimestamp, and a
managedFields summary of manager / operation / time / subresource / fieldsV1), every
top-level field except ``status`` (``spec``, ``data``, ``binaryData``, ``type``, a Role's
``rules`` ...), and ``status.observedGeneration``. Secret ``data`` is kept because the diff
hashes it; nothing here logs or prints an object.

Objects handed out are shared with the store: treat them as read-only. To bound memory, dict
keys and short strings are interned and every empty leaf of a fieldsV1 tree is one shared
``{}`` (measured in bench/results-cluster.md: about 40% less than the parsed object).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from drifttui.cluster.protocol import EventType, JSONObject
from drifttui.core.models import ResourceKey

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_META_KEEP = (
    "name",
    "namespace",
    "uid",
    "generation",
    "resourceVersion",
    "labels",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
)
_MF_KEEP = ("manager", "operation", "time", "subresource", "fieldsV1")


_EMPTY_LEAF: dict[str, Any] = {}
"""The one ``{}`` every fieldsV1 leaf shares (read-only, like everything the store holds)."""


def _compact(value: Any) -> Any:
    """Share what repeats between objects: dict keys and short strings (``sys.intern``)."""
    if isinstance(value, dict):
        return {
            sys.intern(k): (_compact_fields(v) if k == "fieldsV1" else _compact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, str) and len(value) <= 64:
        return sys.intern(value)
    return value


def _compact_fields(value: Any) -> Any:
    """A fieldsV1 tree: interned keys, and its many empty leaves share one dict."""
    if isinstance(value, dict):
        if not value:
            return _EMPTY_LEAF
        return {sys.intern(k): _compact_fields(v) for k, v in value.items()}
    return value


def trim_object(
    obj: Mapping[str, Any],
    api_version: str | None = None,
    kind: str | None = None,
    *,
    compact: bool = True,
) -> JSONObject:
    """The part of a live object the diff needs (see the module docstring).

    ``api_version`` and ``kind`` fill in what LIST items leave out. ``compact=False`` skips
    the interning, which only pays for objects kept for a long time (the watch's store): a
    one-shot snapshot (``list_objects``) gets equal objects about four times faster.
    """
    out: JSONObject = {}
    out["apiVersion"] = obj.get("apiVersion") or api_version or ""
    out["kind"] = obj.get("kind") or kind or ""
    meta_in = obj.get("metadata")
    meta: JSONObject = {}
    if isinstance(meta_in, Mapping):
        for key in _META_KEEP:
            value = meta_in.get(key)
            if value is not None:
                meta[key] = value
        annotations = meta_in.get("annotations")
        if isinstance(annotations, Mapping):
            kept = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
            if kept:
                meta["annotations"] = kept
        fields = meta_in.get("managedFields")
        if isinstance(fields, list):
            meta["managedFields"] = [
                {k: e[k] for k in _MF_KEEP if e.get(k) is not None}
                for e in fields
                if isinstance(e, Mapping)
            ]
    out["metadata"] = meta
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "metadata"):
            continue
        if key == "status":
            if isinstance(value, Mapping) and value.get("observedGeneration") is not None:
                out["status"] = {"observedGeneration": value["observedGeneration"]}
            continue
        out[key] = value
    if not compact:
        return out
    result: JSONObject = _compact(out)
    return result


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a LIST is parsed and trimmed.

    Tens of thousands of fresh containers make CPython run full collections over and over
    (the initial sync of 10k objects took twice as long with it on; bench/results-cluster.md).
    The objects made here hold no cycles, and reference counting frees them as usual, so
    nothing leaks; the collector resumes when the last concurrent LIST ends.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def kind_id(api_version: str, kind: str) -> str:
    """``apps/Deployment``, ``/ConfigMap``: the group-qualified kind the store is split by."""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return f"{group}/{kind}"


@dataclass(frozen=True, slots=True)
class StoreChange:
    """One change a write made to the store (what the reflector turns into an event)."""

    type: EventType
    obj: JSONObject


class ObjectStore:
    """Trimmed live objects, thread-safe, split by group-qualified kind.

    ``upsert`` tells ADDED from MODIFIED and ignores a write whose resourceVersion the store
    already holds; ``replace`` applies a full LIST and returns what changed, including the
    objects that vanished (their last known state), as client-go's relist does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_kind: dict[str, dict[tuple[str, str], JSONObject]] = {}

    @staticmethod
    def _name_of(obj: Mapping[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return str(meta.get("namespace") or ""), str(meta.get("name") or "")

    def upsert(self, kid: str, obj: JSONObject) -> EventType | None:
        """Store ``obj``; ADDED, MODIFIED, or None when this version is already held."""
        key = self._name_of(obj)
        with self._lock:
            bucket = self._by_kind.setdefault(kid, {})
            old = bucket.get(key)
            bucket[key] = obj
        if old is None:
            return EventType.ADDED
        if _rv(old) and _rv(old) == _rv(obj):
            return None
        return EventType.MODIFIED

    def remove(self, kid: str, namespace: str, name: str) -> JSONObject | None:
        """Drop an object; its last known state, or None if the store did not hold it."""
        with self._lock:
            bucket = self._by_kind.get(kid)
            return bucket.pop((namespace, name), None) if bucket else None

    def replace(
        self, kid: str, objs: Iterable[JSONObject], namespace: str | None
    ) -> list[StoreChange]:
        """Make the store's ``kid`` objects (in ``namespace``, None = all) equal ``objs``."""
        fresh = {self._name_of(o): o for o in objs}
        changes: list[StoreChange] = []
        with self._lock:
            bucket = self._by_kind.setdefault(kid, {})
            for key, old in list(bucket.items()):
                if namespace is not None and key[0] != namespace:
                    continue
                if key not in fresh:
                    del bucket[key]
                    changes.append(StoreChange(EventType.DELETED, old))
            for key, obj in fresh.items():
                before = bucket.get(key)
                bucket[key] = obj
                if before is None:
                    changes.append(StoreChange(EventType.ADDED, obj))
                elif _rv(before) != _rv(obj):
                    changes.append(StoreChange(EventType.MODIFIED, obj))
        return changes

    def get(self, kid: str, namespace: str, name: str) -> JSONObject | None:
        with self._lock:
            bucket = self._by_kind.get(kid)
            return bucket.get((namespace, name)) if bucket else None

    def get_key(self, key: ResourceKey) -> JSONObject | None:
        return self.get(f"{key.group}/{key.kind}", key.namespace, key.name)

    def objects(self, kid: str | None = None, namespace: str | None = None) -> list[JSONObject]:
        """A snapshot list (the objects themselves are shared: read-only)."""
        with self._lock:
            buckets = (
                [self._by_kind.get(kid, {})] if kid is not None else list(self._by_kind.values())
            )
            return [
                o
                for b in buckets
                for (ns, _), o in b.items()
                if namespace is None or ns == namespace
            ]

    def kinds(self) -> list[str]:
        with self._lock:
            return sorted(self._by_kind)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(b) for b in self._by_kind.values())

    def __iter__(self) -> Iterator[JSONObject]:
        return iter(self.objects())


def _rv(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("resourceVersion") or "") if isinstance(meta, Mapping) else ""
