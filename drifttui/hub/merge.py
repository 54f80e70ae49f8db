"""Upgrade semantics: the path-level three-way merge both hubs apply (pure, no I/O).

confighub-api.md section 5: an upgrade pulls the upstream's changes into a downstream unit.
``base`` is the upstream document at the revision the downstream was cloned from or last
upgraded to, ``theirs`` the upstream head, ``ours`` the downstream head. Every path the
upstream changed is applied unless the downstream changed that path too (a local
customisation); such paths are kept as they are and reported as conflicts, never silently
overwritten. Lists whose items all carry a unique ``name`` (containers, env, ports, volumes)
merge item by item; other lists are atomic values.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drifttui.core.models import MASK, FieldPath, Sel, format_path
from drifttui.core.sensitive import mask_credentials

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class _Missing:
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class MergeResult:
    document: Any
    changed: tuple[str, ...]  # dotted paths the upgrade changed in the downstream
    conflicts: tuple[str, ...]  # dotted paths changed on both sides: the downstream kept


def _keyed(value: Any) -> dict[Any, Any] | None:
    """A list of mappings with unique ``name`` keys, as a dict keyed by name; else None."""
    if not isinstance(value, list) or not value:
        return None
    out: dict[Any, Any] = {}
    for item in value:
        if not isinstance(item, Mapping) or "name" not in item:
            return None
        key = item["name"]
        if not isinstance(key, str | int) or key in out:
            return None
        out[key] = item
    return out


def three_way_merge(base: Any, theirs: Any, ours: Any) -> MergeResult:
    conflicts: list[FieldPath] = []
    merged = _merge(base, theirs, ours, (), conflicts)
    if merged is MISSING:
        merged = copy.deepcopy(ours)
    return MergeResult(
        merged,
        tuple(changed_paths(ours, merged)),
        tuple(format_path(p) or "<document>" for p in conflicts),
    )


def _merge(base: Any, theirs: Any, ours: Any, path: FieldPath, conflicts: list[FieldPath]) -> Any:
    if theirs == base:
        return copy.deepcopy(ours)
    if ours == base:
        return copy.deepcopy(theirs)
    if ours == theirs:
        return copy.deepcopy(ours)
    if isinstance(theirs, Mapping) and isinstance(ours, Mapping):
        b = base if isinstance(base, Mapping) else {}
        out: dict[str, Any] = {}
        keys = list(ours.keys()) + [k for k in theirs if k not in ours]
        for k in keys:
            v = _merge(
                b.get(k, MISSING),
                theirs.get(k, MISSING),
                ours.get(k, MISSING),
                (*path, k),
                conflicts,
            )
            if v is not MISSING:
                out[k] = v
        return out
    kt, ko = _keyed(theirs), _keyed(ours)
    if kt is not None and ko is not None:
        kb = _keyed(base) or {}
        items: list[Any] = []
        names = list(ko.keys()) + [n for n in kt if n not in ko]
        for n in names:
            v = _merge(
                kb.get(n, MISSING),
                kt.get(n, MISSING),
                ko.get(n, MISSING),
                (*path, Sel((("name", n),))),
                conflicts,
            )
            if v is not MISSING:
                items.append(v)
        return items
    conflicts.append(path)
    return copy.deepcopy(ours)


def flatten(doc: Any, path: FieldPath = ()) -> dict[FieldPath, Any]:
    """Leaves of a document by path (name-keyed lists item by item)."""
    out: dict[FieldPath, Any] = {}
    if isinstance(doc, Mapping) and doc:
        for k, v in doc.items():
            out.update(flatten(v, (*path, str(k))))
        return out
    keyed = _keyed(doc)
    if keyed is not None:
        for n, item in keyed.items():
            out.update(flatten(item, (*path, Sel((("name", n),)))))
        return out
    out[path] = doc
    return out


def changed_paths(old: Any, new: Any) -> list[str]:
    """Dotted paths whose leaf differs between two documents, in document order."""
    a, b = flatten(old), flatten(new)
    keys = list(b.keys()) + [k for k in a if k not in b]
    return [format_path(k) or "<document>" for k in keys if a.get(k, MISSING) != b.get(k, MISSING)]


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    old: Any  # MISSING when added
    new: Any  # MISSING when removed


def field_changes(old: Any, new: Any) -> list[FieldChange]:
    """What a write would change, path by path (for previews and plans). The values are for
    people: a Secret's data, a value under a credential name (``env[name=API_TOKEN]``,
    ``data.DB_PASSWORD``) and ``last-applied-configuration`` come out as ``***``."""
    a, b = flatten(old), flatten(new)
    keys = list(b.keys()) + [k for k in a if k not in b]
    secret = _is_secret(old) or _is_secret(new)
    return [
        FieldChange(
            format_path(k) or "<document>",
            _shown(k, a.get(k, MISSING), secret),
            _shown(k, b.get(k, MISSING), secret),
        )
        for k in keys
        if a.get(k, MISSING) != b.get(k, MISSING)
    ]


def _is_secret(doc: Any) -> bool:
    return isinstance(doc, Mapping) and doc.get("kind") == "Secret"


def _shown(path: FieldPath, value: Any, secret: bool) -> Any:
    if value is MISSING or value is None:
        return value
    if (secret and path[:1] in (("data",), ("stringData",))) or LAST_APPLIED in path:
        return MASK
    return mask_credentials(path, value)
