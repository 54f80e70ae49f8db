"""One-line descriptions of findings, in the seed's words.

``DRIFT DETECTED: backend-api has 5 replicas, expected 3`` is what operators grep for in the
service log; the TUI, the SARIF messages and the drift records use the same sentences.
Secret values never reach here unmasked (FieldDrift already holds MASK for them).
"""

from __future__ import annotations

import json
from typing import Any

from drifttui.core.models import Category, Change, DriftItem, FieldDrift, Sel


def short_value(value: Any, limit: int = 40) -> str:
    """A value as a person reads it: strings bare, the rest as compact JSON, cut at limit."""
    if value is None:
        text = "(none)"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _last_selector(f: FieldDrift) -> str | None:
    for elem in reversed(f.path):
        if isinstance(elem, Sel):
            return ",".join(str(v) for _, v in elem.keys)
    return None


def describe_finding(item: DriftItem, f: FieldDrift) -> str:
    """``backend-api has 5 replicas, expected 3`` and the like."""
    name = item.key.name
    where = f.path_str
    last = f.path[-1] if f.path else ""
    if f.change is Change.MISSING:
        return f"{item.key.kind}/{name} is missing from the cluster"
    if f.category is Category.REPLICAS and f.change is Change.CHANGED:
        text = f"{name} has {_plural(f.live, 'replica')}, expected {f.desired}"
        return f"{text} ({f.note})" if f.note else text
    if f.category is Category.IMAGE and f.change is Change.CHANGED:
        container = _last_selector(f)
        in_c = f" (container {container})" if container else ""
        return f"{name} runs image {short_value(f.live)}{in_c}, expected {short_value(f.desired)}"
    if f.category is Category.SECRET:
        verb = {"changed": "changed", "added": "added", "removed": "removed"}.get(
            str(f.change), str(f.change)
        )
        return f"Secret {name}: {where} {verb} in the cluster (values hidden)"
    if f.category is Category.OPERATIONAL:
        return f"{name}: {where} set to {short_value(f.live)} (operational, not drift)"
    if f.change is Change.ADDED:
        who = f" by {f.attribution.manager}" if f.attribution else ""
        return f"{name}: {where} = {short_value(f.live)} added in the cluster{who}"
    if f.change is Change.REMOVED:
        return f"{name}: {where} removed in the cluster (expected {short_value(f.desired)})"
    if isinstance(last, str) and last in ("cpu", "memory"):
        return f"{name}: {where} is {short_value(f.live)}, expected {short_value(f.desired)}"
    return f"{name}: {where} is {short_value(f.live)}, expected {short_value(f.desired)}"


def describe_item(item: DriftItem) -> list[str]:
    """One sentence per counted finding (or the missing object)."""
    if not item.counted and item.is_drifted:
        return [f"{item.key.kind}/{item.key.name} is missing from the cluster"]
    return [describe_finding(item, f) for f in item.counted]
