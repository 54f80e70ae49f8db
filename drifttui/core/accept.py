"""Accept live into desired: the manifest a unit gets when the operator keeps the cluster's
values (the ``a`` key, ``drifttui fix --accept``).

Only counted findings move: ignored and operational ones, and fields nobody declared, stay
as desired has them. ``changed`` and ``added`` take the live value (a whole list item for an
added container or env var), ``removed`` deletes the path from desired.

A Secret key desired writes in ``stringData`` is found as ``data`` (the server folds
``stringData`` into ``data``): accepting it also drops the ``stringData`` entry, which would
otherwise win over the accepted ``data`` value on the next apply.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from typing import Any

from drifttui.core.models import Change, DriftItem, FieldPath, Sel, get_path

JSONDict = dict[str, Any]

_SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp")


def _container_for(parent: Any, elem: Sel) -> Any:
    if not isinstance(parent, list):
        return None
    for item in parent:
        if elem.matches(item):
            return item
    return None


def set_path(obj: JSONDict, path: FieldPath, value: Any) -> None:
    """Set ``path`` in ``obj``, creating maps on the way; a selector that matches no item
    appends ``value`` (when it is the last element) or a new item carrying the keys."""
    if not path:
        raise ValueError("cannot set the root")
    cur: Any = obj
    for i, elem in enumerate(path):
        last = i == len(path) - 1
        nxt = path[i + 1] if not last else None
        if isinstance(elem, Sel):
            if not isinstance(cur, list):
                raise ValueError(f"not a list at {elem}")
            found = _container_for(cur, elem)
            if last:
                if found is not None:
                    cur[cur.index(found)] = copy.deepcopy(value)
                else:
                    cur.append(copy.deepcopy(value))
                return
            if found is None:
                found = dict(elem.keys)
                cur.append(found)
            cur = found
        else:
            if not isinstance(cur, MutableMapping):
                raise ValueError(f"not a mapping at {elem}")
            if last:
                cur[elem] = copy.deepcopy(value)
                return
            if not isinstance(cur.get(elem), dict | list):
                cur[elem] = [] if isinstance(nxt, Sel) else {}
            cur = cur[elem]


def delete_path(obj: JSONDict, path: FieldPath) -> bool:
    """Delete ``path`` from ``obj``; False when it was not there."""
    if not path:
        return False
    found, parent = get_path(obj, path[:-1])
    if not found:
        return False
    last = path[-1]
    if isinstance(last, Sel):
        if not isinstance(parent, list):
            return False
        for idx, item in enumerate(parent):
            if last.matches(item):
                del parent[idx]
                return True
        return False
    if isinstance(parent, MutableMapping) and last in parent:
        del parent[last]
        return True
    return False


def accept_live(desired: JSONDict, live: JSONDict, item: DriftItem) -> JSONDict:
    """``desired`` with every counted finding of ``item`` taken from ``live``."""
    out = copy.deepcopy(desired)
    secret = item.key.kind == "Secret" and item.key.group == ""
    for f in item.counted:
        if f.change is Change.MISSING or not f.path:
            continue
        if secret and len(f.path) == 2 and f.path[0] == "data":
            _drop_string_data(out, f.path[1])
        if f.change is Change.REMOVED:
            delete_path(out, f.path)
            continue
        found, value = get_path(live, f.path)
        if not found:
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _SERVER_FIELDS}
        set_path(out, f.path, value)
    return out


def _drop_string_data(secret: JSONDict, key: Any) -> None:
    """Remove ``stringData[key]`` from a desired Secret (and ``stringData`` once empty)."""
    string_data = secret.get("stringData")
    if isinstance(string_data, dict) and key in string_data:
        del string_data[key]
        if not string_data:
            del secret["stringData"]
