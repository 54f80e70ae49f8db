"""managedFields for the simulated API server: which manager owns which field.

Field sets are held as sets of token paths, the leaves of a ``fieldsV1`` tree:
``("f:spec", "f:replicas")``, ``("f:spec", "f:template", "f:spec", "f:containers",
'k:{"name":"web"}', ".")``. ``to_fields_v1`` turns a set into the JSON tree the API server
serves, ``from_fields_v1`` reads one back.

What the simulator follows (drift-rules.md, "Verified on a real kube-apiserver"):

- an Apply owns exactly the fields of its configuration; list items are keyed by their merge
  key with defaulted key fields (``k:{"port":80,"protocol":"TCP"}``);
- an Update owns what it changed, defaults included, and takes those fields away from
  everybody else; a map or list item it creates is owned with its ``.``;
- removals leave no trace: fields that no longer exist drop out of every entry, and an entry
  left empty disappears.

Merge keys and atomic fields follow the Kubernetes OpenAPI markers for the kinds we serve;
anything unknown is atomic (owned as a whole), which is what the server does for an unknown
list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

Token = str
TokenPath = tuple[Token, ...]
FieldSet = frozenset[TokenPath]

_LIST_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
_ATOMIC_FIELDS = frozenset(
    {
        # label selectors and node selectors are atomic structs
        "selector",
        "podSelector",
        "namespaceSelector",
        "labelSelector",
        "requiredDuringSchedulingIgnoredDuringExecution",
        "roleRef",
        # lists without a merge key
        "tolerations",
        "args",
        "command",
        "envFrom",
        "metrics",
    }
)
_IGNORED_META = frozenset(
    {
        "name",
        "namespace",
        "managedFields",
        "resourceVersion",
        "generation",
        "uid",
        "creationTimestamp",
        "selfLink",
    }
)


def list_keys(kind: str, names: Sequence[str]) -> tuple[str, ...] | None:
    """Merge key of the list at field-name path ``names`` (None: atomic list)."""
    field = names[-1] if names else ""
    if field == "ports":
        if kind == "Service" and tuple(names) == ("spec", "ports"):
            return ("port", "protocol")
        return ("containerPort", "protocol")
    return _LIST_KEYS.get(field)


def _is_atomic_map(names: Sequence[str]) -> bool:
    return bool(names) and names[-1] in _ATOMIC_FIELDS


def item_token(item: Mapping[str, Any], keys: Sequence[str]) -> Token:
    return "k:" + json.dumps(
        {k: item[k] for k in keys if k in item}, separators=(",", ":"), ensure_ascii=False
    )


def _find_item(items: Any, token: Token) -> Any:
    if not isinstance(items, list) or not token.startswith("k:"):
        return None
    want = json.loads(token[2:])
    for item in items:
        if isinstance(item, Mapping) and all(item.get(k) == v for k, v in want.items()):
            return item
    return None


def _skip(names: Sequence[str], key: str) -> bool:
    if not names:
        return key in ("apiVersion", "kind", "status")
    return tuple(names) == ("metadata",) and key in _IGNORED_META


# --------------------------------------------------------------------------- building


def fields_of(
    config: Mapping[str, Any], kind: str, defaulted: Mapping[str, Any] | None = None
) -> FieldSet:
    """Every leaf of ``config`` (what an Apply of it owns). ``defaulted`` (the config with
    server defaults) supplies defaulted merge-key fields such as ``protocol``."""
    return frozenset(_leaves(config, defaulted or config, kind, (), (), mark_items=True))


def _leaves(
    value: Any,
    defaulted: Any,
    kind: str,
    names: tuple[str, ...],
    tokens: TokenPath,
    *,
    mark_items: bool,
) -> Iterator[TokenPath]:
    if isinstance(value, Mapping) and not _is_atomic_map(names):
        if not value and tokens:
            yield tokens
            return
        dflt = defaulted if isinstance(defaulted, Mapping) else {}
        for key, sub in value.items():
            if _skip(names, key):
                continue
            yield from _leaves(
                sub,
                dflt.get(key),
                kind,
                (*names, key),
                (*tokens, f"f:{key}"),
                mark_items=mark_items,
            )
        return
    if isinstance(value, list):
        keys = list_keys(kind, names)
        if keys is not None and all(isinstance(i, Mapping) for i in value):
            dlist = defaulted if isinstance(defaulted, list) else value
            for idx, item in enumerate(value):
                ditem = dlist[idx] if idx < len(dlist) else item
                tok = item_token(ditem, keys)
                if mark_items:
                    yield (*tokens, tok, ".")
                yield from _leaves(item, ditem, kind, names, (*tokens, tok), mark_items=mark_items)
            if not value and tokens:
                yield tokens
            return
    if tokens:
        yield tokens


def changed_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any], kind: str) -> FieldSet:
    """Leaves of ``new`` that are new or different from ``old`` (what an Update owns)."""
    return frozenset(_changed(old, new, kind, (), (), created=old is None))


def _changed(
    old: Any,
    new: Any,
    kind: str,
    names: tuple[str, ...],
    tokens: TokenPath,
    *,
    created: bool,
) -> Iterator[TokenPath]:
    if old == new and not created:
        return
    if isinstance(new, Mapping) and not _is_atomic_map(names):
        if not isinstance(old, Mapping):
            if tokens and names and names[-1] not in ("metadata", "spec", "template"):
                yield (*tokens, ".")
            old = {}
            created = True
        if not new and tokens:
            yield tokens
            return
        for key, sub in new.items():
            if _skip(names, key):
                continue
            yield from _changed(
                old.get(key),
                sub,
                kind,
                (*names, key),
                (*tokens, f"f:{key}"),
                created=created or key not in old,
            )
        return
    if isinstance(new, list):
        keys = list_keys(kind, names)
        if keys is not None and all(isinstance(i, Mapping) for i in new):
            for item in new:
                tok = item_token(item, keys)
                before = _find_item(old, tok)
                if before is None:
                    yield (*tokens, tok, ".")
                yield from _changed(
                    before, item, kind, names, (*tokens, tok), created=before is None
                )
            return
    if tokens:
        yield tokens


# --------------------------------------------------------------------------- queries


def exists(obj: Mapping[str, Any], path: TokenPath) -> bool:
    """Does ``path`` still point at something in ``obj``?"""
    cur: Any = obj
    for tok in path:
        if tok == ".":
            continue
        if tok.startswith("f:"):
            if not isinstance(cur, Mapping) or tok[2:] not in cur:
                return False
            cur = cur[tok[2:]]
        elif tok.startswith("k:"):
            cur = _find_item(cur, tok)
            if cur is None:
                return False
        else:  # "v:" set members and anything unknown: keep
            return True
    return True


def prune(fields: Iterable[TokenPath], obj: Mapping[str, Any]) -> FieldSet:
    return frozenset(p for p in fields if exists(obj, p))


def to_fields_v1(fields: Iterable[TokenPath]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(fields):
        node = tree
        for tok in path:
            node = node.setdefault(tok, {})
    return tree


def from_fields_v1(tree: Mapping[str, Any], prefix: TokenPath = ()) -> FieldSet:
    out: set[TokenPath] = set()
    for tok, sub in tree.items():
        path = (*prefix, tok)
        if isinstance(sub, Mapping) and sub:
            out |= from_fields_v1(sub, path)
        else:
            out.add(path)
    return frozenset(out)


# --------------------------------------------------------------------------- SSA merge


def merge_applied(live: Any, config: Any, kind: str, names: tuple[str, ...] = ()) -> Any:
    """Server-side apply's merge of ``config`` into ``live``: maps merge key by key, keyed
    lists merge item by item, atomic lists and scalars are replaced."""
    if isinstance(config, Mapping) and isinstance(live, Mapping) and not _is_atomic_map(names):
        out = dict(live)
        for key, sub in config.items():
            out[key] = merge_applied(live.get(key), sub, kind, (*names, key))
        return out
    if isinstance(config, list) and isinstance(live, list):
        keys = list_keys(kind, names)
        if keys is not None and all(isinstance(i, Mapping) for i in config + live):
            merged = list(live)
            for item in config:
                tok = item_token(item, keys)
                for idx, existing in enumerate(merged):
                    if item_token(existing, keys) == tok:
                        merged[idx] = merge_applied(existing, item, kind, names)
                        break
                else:
                    merged.append(item)
            return merged
    return config
