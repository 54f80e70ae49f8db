"""Who wrote which field: managedFields parsed into an ownership tree.

Each managedFields entry (manager, operation, time, subresource, fieldsV1) lists the fields
its manager owns. ``fieldsV1`` keys are ``f:<field>`` (a map key or struct field),
``k:{"name":"x"}`` (a list item by its merge key, the JSON object of its key fields),
``v:<json>`` (an item of a set-like list), ``i:<n>`` (an item by index) and ``.`` (the list
item or map itself). A leaf ``{}`` owns that field and everything under it.

:class:`ManagedFields` merges all entries into one tree whose nodes know which entries own
them, so the diff asks in O(depth): who wrote this path? does a person own anything under
it? Paths here are *ownership paths*: tuples of tree keys (``("f", "spec")``,
``("k", '{"name":"web"}')``) that the diff builds alongside its report paths, because the
server keys list items differently from our report selectors (Service ports by
port+protocol, volumeMounts by mountPath).

Human managers are the names kubectl v1.28 writes (verified, drift-rules.md 4.1.3):
``kubectl`` (server-side apply and ``kubectl scale``), ``kubectl-edit``, ``kubectl-patch``,
``kubectl-set``, ``kubectl-label``, ``kubectl-annotate``, ``kubectl-rollout``,
``kubectl-replace``, ``kubectl-create``, ``kubectl-client-side-apply`` (any ``kubectl-*``),
plus ``helm`` and a few consoles. Everything else (``kube-controller-manager``,
``*-controller``, operators, our own ``confighub``/``drifttui`` appliers) is not a person.
Fields no entry owns were set by defaulting, admission or webhooks: not a person either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from drifttui.core.models import Attribution

OwnKey = tuple[str, Any]
"""``("f", name)``, ``("k", ((field, value), ...))`` sorted by field, ``("v", json)``,
``("i", index)``."""
OwnPath = tuple[OwnKey, ...]

HUMAN_MANAGERS = frozenset(
    {
        "kubectl",
        "helm",
        "k9s",
        "lens",
        "openlens",
        "headlamp",
        "kubernetes-dashboard",
        "dashboard",
        "octant",
    }
)
"""Field managers that are a person at a terminal or console (besides ``kubectl-*``)."""


def is_human_manager(manager: str) -> bool:
    """True for managers that mean a person wrote the field (kubectl, kubectl-*, helm, ...)."""
    m = manager.lower()
    return m in HUMAN_MANAGERS or m.startswith("kubectl-")


def item_key(fields: Iterable[tuple[str, Any]]) -> OwnKey:
    """Ownership key of a list item from its merge-key (field, value) pairs, as
    ``k:{...}`` spells it."""
    return ("k", tuple(sorted(fields)))


def field_key(name: str) -> OwnKey:
    return ("f", name)


def _tree_key(raw: str) -> OwnKey | None:
    if raw.startswith("f:"):
        return ("f", raw[2:])
    if raw.startswith("k:"):
        try:
            value = json.loads(raw[2:])
        except ValueError:
            return ("k", raw[2:])
        if isinstance(value, dict) and all(
            isinstance(v, str | int | float | bool) or v is None for v in value.values()
        ):
            return ("k", tuple(sorted(value.items())))
        return ("k", raw[2:])
    if raw.startswith("v:"):
        return ("v", raw[2:])
    if raw.startswith("i:"):
        return ("i", raw[2:])
    return None


class _Node:
    """One field of the ownership tree; its children are read from the entries' fieldsV1
    only when a question walks through it (most objects are asked about one or two
    paths, so the whole tree is rarely built)."""

    __slots__ = ("_children", "below", "item", "leaf", "raw")

    def __init__(self) -> None:
        self.raw: list[tuple[int, Mapping[str, Any]]] = []  # (entry, its fieldsV1 here)
        self._children: dict[OwnKey, _Node] | None = None
        self.leaf: set[int] = set()  # entries with ``{}`` here: they own this whole field
        self.item: set[int] = set()  # entries with ``.`` here: they own the item/map itself
        self.below: set[int] = set()  # entries owning this node or anything under it

    @property
    def children(self) -> dict[OwnKey, _Node]:
        if self._children is None:
            children: dict[OwnKey, _Node] = {}
            for index, fields in self.raw:
                for raw, sub in fields.items():
                    if raw == ".":
                        self.item.add(index)
                        continue
                    key = _tree_key(str(raw))
                    if key is None:
                        continue
                    child = children.get(key)
                    if child is None:
                        child = children[key] = _Node()
                    child.below.add(index)
                    if isinstance(sub, dict) and sub:
                        child.raw.append((index, sub))
                    else:
                        child.leaf.add(index)
            self._children = children
        return self._children


class ManagedFields:
    """The ownership tree of one live object, read lazily: the entries on the first
    question, each field's children when a question walks through it."""

    __slots__ = ("_entries", "_has_human", "_raw", "_root")

    def __init__(self, raw: Any) -> None:
        self._raw = raw if isinstance(raw, list) else []
        self._root: _Node | None = None
        self._entries: list[Attribution] = []
        self._has_human: bool | None = None

    @property
    def has_human(self) -> bool:
        """True when some entry is a person's: without one, nothing live-only is drift."""
        if self._has_human is None:
            self._has_human = any(
                isinstance(e, dict)
                and isinstance(e.get("manager"), str)
                and is_human_manager(e["manager"])
                for e in self._raw
            )
        return self._has_human

    @classmethod
    def of(cls, live: Mapping[str, Any] | None) -> ManagedFields:
        meta = live.get("metadata") if isinstance(live, dict) else None
        return cls(meta.get("managedFields") if isinstance(meta, dict) else None)

    def __bool__(self) -> bool:
        return bool(self._raw)

    @property
    def entries(self) -> Sequence[Attribution]:
        self._tree()
        return self._entries

    def _tree(self) -> _Node:
        if self._root is not None:
            return self._root
        root = _Node()
        for entry in self._raw:
            if not isinstance(entry, dict):
                continue
            manager = entry.get("manager")
            if not isinstance(manager, str) or not manager:
                manager = "unknown"
            time = entry.get("time")
            sub = entry.get("subresource")
            self._entries.append(
                Attribution(
                    manager=manager,
                    operation=str(entry.get("operation") or ""),
                    time=time if isinstance(time, str) and time else None,
                    subresource=sub if isinstance(sub, str) and sub else None,
                    is_human=is_human_manager(manager),
                )
            )
            fields = entry.get("fieldsV1")
            index = len(self._entries) - 1
            root.below.add(index)
            if isinstance(fields, dict):
                root.raw.append((index, fields))
        self._root = root
        return root

    def _walk(self, path: OwnPath) -> tuple[_Node | None, list[_Node]]:
        node: _Node | None = self._tree()
        ancestors: list[_Node] = []
        for key in path:
            assert node is not None
            ancestors.append(node)
            node = node.children.get(key)
            if node is None:
                return None, ancestors
        return node, ancestors

    def owners(self, path: OwnPath, *, atomic_ancestor: bool = True) -> list[Attribution]:
        """Entries owning ``path``: the field itself, something under it, or (with
        ``atomic_ancestor``) an enclosing field owned whole (``f:selector: {}``)."""
        if not self._raw:
            return []
        node, ancestors = self._walk(path)
        found: set[int] = set()
        if node is not None:
            found |= node.below
        if atomic_ancestor:
            # the root is never a field; skip it
            for anc in ancestors[1:]:
                found |= anc.leaf
        return [self._entries[i] for i in sorted(found)]

    def has_human_under(self, path: OwnPath) -> bool:
        """Cheap pruning test: does any person own ``path`` or anything below it?"""
        if not self.has_human:
            return False
        node, _ = self._walk(path)
        return node is not None and any(self._entries[i].is_human for i in node.below)

    def item_owners(self, path: OwnPath) -> list[Attribution]:
        """Entries that own the list item or map at ``path`` itself (its ``.`` marker or a
        leaf ``{}``): those created it."""
        if not self._raw:
            return []
        node, _ = self._walk(path)
        if node is None:
            return []
        node.children  # noqa: B018 - reading the children records the ``.`` markers
        return [self._entries[i] for i in sorted(node.item | node.leaf)]


def pick_writer(candidates: Iterable[Attribution]) -> Attribution | None:
    """The attribution to show: a person before a controller, then the latest write
    (entries without a time, such as scale-subresource writes, count as the latest: the
    server drops the time only on those)."""
    best: Attribution | None = None
    best_rank: tuple[int, int, str] = (-1, -1, "")
    for a in candidates:
        rank = (int(a.is_human), int(a.time is None), a.time or "")
        if rank > best_rank:
            best, best_rank = a, rank
    return best


def human_writer(candidates: Iterable[Attribution]) -> Attribution | None:
    """The latest human among ``candidates``, or None when no person wrote it."""
    return pick_writer(a for a in candidates if a.is_human)
