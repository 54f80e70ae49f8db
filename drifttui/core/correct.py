"""Correction planning: the JSON patch that brings a live object back to its desired state.

Pure: takes the desired manifest, the live object and the :class:`DriftItem` the diff made
of them, and returns RFC 6902 operations against the LIVE object. Only counted findings are
corrected (ignored and operational ones are left alone, and their paths are cut out of any
subtree we write), so a correction never fights an ignore rule.

Per finding:

- ``changed`` / ``removed``: write the DESIRED value, read from the desired manifest with
  :func:`get_path` (never from ``FieldDrift.desired``, which masks Secret values). A value
  whose parent is absent live is added at the nearest existing ancestor, once.
- ``added``: remove the live field or list item. List items go in descending index order so
  earlier removals do not shift later ones, and ``volumeMounts`` before ``volumes`` (the
  server rejects a volume that a mount still names).
- replicas of an autoscaled workload (``item.autoscaler`` set): only when the finding counts,
  and then set to the desired value (or, when desired leaves replicas to the autoscaler, the
  live value) clamped to the autoscaler's range; never removed (that would reset them to 1).
- list items are addressed by index: a ``test`` op on each selector's key fields guards the
  index, so a list reordered since we read it fails the patch instead of hitting the wrong
  item.

A ``missing`` item is not a patch: :func:`plan_fix` returns ``action="apply"`` with the
desired manifest, which the cluster re-creates by server-side apply.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from drifttui.cluster.protocol import PatchOp
from drifttui.core.models import (
    JSON,
    Change,
    DriftItem,
    FieldDrift,
    FieldPath,
    ResourceKey,
    ResourceStatus,
    Sel,
    format_path,
    get_path,
    json_pointer,
)

__all__ = ["CorrectionPlan", "plan_correction", "plan_fix"]

_REPLICAS: FieldPath = ("spec", "replicas")


@dataclass(frozen=True, slots=True)
class CorrectionPlan:
    """What fixing one object takes.

    ``action`` is ``"patch"`` (send ``ops``), ``"apply"`` (re-create from ``manifest`` by
    server-side apply) or ``"none"`` (nothing counted, or nothing could be planned).
    ``skipped`` lists (dotted path, reason) for findings that were left alone.
    """

    key: ResourceKey
    api_version: str
    action: str
    ops: tuple[PatchOp, ...] = ()
    manifest: Mapping[str, Any] | None = None
    skipped: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        """One line for previews and logs (never holds a value: Secrets stay hidden)."""
        if self.action == "apply":
            return f"{self.key}: re-create by server-side apply"
        if self.action == "none":
            return f"{self.key}: nothing to correct"
        changes = [op for op in self.ops if op.op != "test"]
        return f"{self.key}: {len(changes)} patch operation(s)"


def plan_correction(
    desired: Mapping[str, Any], live: Mapping[str, Any], item: DriftItem
) -> list[PatchOp]:
    """RFC 6902 operations against ``live`` that correct the counted findings of ``item``.

    Returns an empty list for a missing object (re-create it with the cluster's ``apply``)
    and when nothing counts.
    """
    return list(plan_fix(desired, live, item).ops)


def plan_fix(
    desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None, item: DriftItem
) -> CorrectionPlan:
    """The full plan for one object: patch ops, or a re-create, or nothing (with reasons)."""
    if item.status is ResourceStatus.MISSING or (live is None and desired is not None):
        if desired is None:
            return CorrectionPlan(
                item.key, item.api_version, "none", skipped=(("", "no desired manifest"),)
            )
        manifest = dict(desired)
        meta = dict(manifest.get("metadata") or {})
        if item.key.namespace and not meta.get("namespace"):
            meta["namespace"] = item.key.namespace  # re-create it where it was missed
        manifest["metadata"] = meta
        return CorrectionPlan(item.key, item.api_version, "apply", manifest=manifest)
    if desired is None or live is None:
        return CorrectionPlan(
            item.key, item.api_version, "none", skipped=(("", "nothing to compare"),)
        )

    planner = _Planner(desired, live, item)
    for fd in item.fields:
        planner.add(fd)
    ops = planner.ops()
    action = "patch" if any(op.op != "test" for op in ops) else "none"
    return CorrectionPlan(
        item.key,
        item.api_version,
        action,
        ops=tuple(ops) if action == "patch" else (),
        skipped=tuple(planner.skipped),
    )


# --------------------------------------------------------------------------- internals


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _is_prefix(prefix: FieldPath, path: FieldPath) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix


class _Planner:
    def __init__(
        self, desired: Mapping[str, Any], live: Mapping[str, Any], item: DriftItem
    ) -> None:
        self.desired = desired
        self._norm: JSON = None
        self.live = live
        self.item = item
        self.is_secret = item.key.kind == "Secret" and item.key.group == ""
        # Paths we must not write: ignored or operational findings, and autoscaled replicas
        # unless their finding counts.
        self.protected: list[FieldPath] = [f.path for f in item.fields if not f.counts]
        if item.autoscaler is not None and not any(
            f.path == _REPLICAS and f.counts for f in item.fields
        ):
            self.protected.append(_REPLICAS)
        self.tests: dict[str, PatchOp] = {}
        self.writes: list[PatchOp] = []
        self.adds: list[PatchOp] = []
        self.removes: list[tuple[tuple[int, tuple[_Desc, ...]], PatchOp]] = []
        self.written: set[str] = set()
        self.skipped: list[tuple[str, str]] = []

    # ----------------------------------------------------------------- per finding

    def add(self, fd: FieldDrift) -> None:
        where = fd.path_str
        if not fd.counts:
            reason = f"ignored by {fd.ignored_by}" if fd.ignored_by else "operational"
            self.skipped.append((where, reason))
            return
        if fd.change is Change.MISSING:
            self.skipped.append((where, "missing object: re-create instead"))
            return
        if not fd.path:
            self.skipped.append((where, "no path"))
            return
        if fd.change is Change.ADDED and not (
            fd.path == _REPLICAS and self.item.autoscaler is not None
        ):
            self._remove(fd)
        else:
            self._write(fd)

    def _normalized(self) -> JSON:
        if self._norm is None:
            from drifttui.core.normalize import normalize_desired

            self._norm = normalize_desired(dict(self.desired))
        return self._norm

    def _desired_value(self, path: FieldPath) -> tuple[bool, JSON]:
        if path == _REPLICAS and self.item.autoscaler is not None:
            found, value = get_path(self.desired, path)
            if not found or not isinstance(value, int) or isinstance(value, bool):
                found, value = get_path(self.live, path)
            if not found or not isinstance(value, int) or isinstance(value, bool):
                return False, None
            return True, self.item.autoscaler.clamp(value)
        found, value = get_path(self.desired, path)
        if not found and not self.is_secret:
            # selectors may name defaulted keys (ports[containerPort=80,protocol=TCP]): look
            # again in the desired object as the server would default it
            found, value = get_path(self._normalized(), path)
        if not found and self.is_secret and len(path) == 2 and path[0] == "data":
            # The desired Secret may hold the value in stringData: the server stores base64.
            found, raw = get_path(self.desired, ("stringData", path[1]))
            if found and isinstance(raw, str):
                value = base64.b64encode(raw.encode()).decode()
        if found:
            value = self._without_protected(path, copy.deepcopy(value))
        return found, value

    def _without_protected(self, at: FieldPath, value: JSON) -> JSON:
        """``value`` (the desired subtree at ``at``) minus every protected path inside it."""
        for p in self.protected:
            if len(p) > len(at) and _is_prefix(at, p):
                _delete_path(value, p[len(at) :])
        return value

    def _write(self, fd: FieldDrift) -> None:
        path = fd.path
        where = fd.path_str
        found, value = self._desired_value(path)
        if not found:
            self.skipped.append((where, "not declared in the desired manifest"))
            return
        # Deepest existing ancestor in live.
        first_missing = len(path)
        for i in range(len(path)):
            ok, _ = get_path(self.live, path[: i + 1])
            if not ok:
                first_missing = i
                break
        if first_missing == len(path):
            pointer = json_pointer(path, self.live)
            if pointer is None:
                self.skipped.append((where, "not found in the live object"))
                return
            self._guard(path, self.live)
            self._emit_write(PatchOp("replace", pointer, value))
            return
        prefix = path[: first_missing + 1]
        parent_path = path[:first_missing]
        parent_ptr = json_pointer(parent_path, self.live)
        if parent_ptr is None:
            self.skipped.append((where, "not found in the live object"))
            return
        _, parent = get_path(self.live, parent_path)
        found_p, sub = self._desired_value(prefix)
        if not found_p:
            self.skipped.append((where, "not declared in the desired manifest"))
            return
        elem = path[first_missing]
        self._guard(parent_path, self.live)
        if isinstance(elem, Sel):
            if isinstance(parent, list):
                # Appended: an index would shift under the removals that follow.
                self._emit_add(PatchOp("add", parent_ptr + "/-", sub), dedupe=format_path(prefix))
                return
        elif isinstance(parent, Mapping):
            self._emit_add(PatchOp("add", parent_ptr + "/" + _escape(elem), sub))
            return
        # The parent holds the wrong type (null where a map or list belongs): replace it.
        found_pp, whole = self._desired_value(parent_path)
        if not found_pp or not parent_path:
            self.skipped.append((where, "the live parent has an unexpected type"))
            return
        self._emit_write(PatchOp("replace", parent_ptr, whole))

    def _remove(self, fd: FieldDrift) -> None:
        path = fd.path
        pointer = json_pointer(path, self.live)
        if pointer is None:
            self.skipped.append((fd.path_str, "already absent from the live object"))
            return
        if any(_is_prefix(p, path) for p in self.protected if p != path):
            self.skipped.append((fd.path_str, "inside an ignored field"))
            return
        self._guard(path, self.live)
        tokens = tuple(int(t) if t.isdigit() else t for t in pointer.split("/")[1:])
        # volumeMounts (inside containers) go before volumes (pod-level): priority 1 last.
        is_volume = any(
            isinstance(elem, Sel) and i > 0 and path[i - 1] == "volumes"
            for i, elem in enumerate(path)
        )
        sort_key = (1 if is_volume else 0, tuple(_Desc(t) for t in tokens))
        if pointer in self.written:
            return
        self.written.add(pointer)
        self.removes.append((sort_key, PatchOp("remove", pointer)))

    # ----------------------------------------------------------------- op emission

    def _guard(self, path: FieldPath, obj: Mapping[str, Any]) -> None:
        """A ``test`` op per list selector on ``path``: the index still holds that item."""
        for i, elem in enumerate(path):
            if not isinstance(elem, Sel):
                continue
            ptr = json_pointer(path[: i + 1], obj)
            if ptr is None:
                return
            for key, value in elem.keys:
                test_ptr = f"{ptr}/{_escape(key)}"
                self.tests.setdefault(test_ptr, PatchOp("test", test_ptr, value))

    def _emit_write(self, op: PatchOp) -> None:
        if op.path in self.written:
            return
        self.written.add(op.path)
        self.writes.append(op)

    def _emit_add(self, op: PatchOp, dedupe: str | None = None) -> None:
        marker = dedupe or op.path
        if marker in self.written:
            return
        self.written.add(marker)
        self.adds.append(op)

    def ops(self) -> list[PatchOp]:
        removes = [op for _, op in sorted(self.removes, key=lambda r: r[0])]
        changes = self.writes + self.adds + removes
        if not changes:
            return []
        return list(self.tests.values()) + changes


class _Desc:
    """Sort key wrapper that orders pointer tokens descending (ints numerically)."""

    __slots__ = ("v",)

    def __init__(self, v: int | str) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        a, b = self.v, other.v
        if isinstance(a, int) and isinstance(b, int):
            return a > b
        return str(a) > str(b)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.v == other.v

    def __hash__(self) -> int:
        return hash(self.v)


def _delete_path(value: JSON, rel: Iterable[Sel | str]) -> None:
    """Delete ``rel`` inside ``value`` in place (no-op when absent)."""
    rel = tuple(rel)
    if not rel:
        return
    cur = value
    for elem in rel[:-1]:
        if isinstance(elem, Sel):
            if not isinstance(cur, list):
                return
            cur = next((i for i in cur if elem.matches(i)), None)
        else:
            cur = cur.get(elem) if isinstance(cur, dict) else None
        if cur is None:
            return
    last = rel[-1]
    if isinstance(last, Sel):
        if isinstance(cur, list):
            cur[:] = [i for i in cur if not last.matches(i)]
    elif isinstance(cur, dict):
        cur.pop(last, None)
