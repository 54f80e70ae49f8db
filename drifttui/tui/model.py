"""The drift list as plain data: rows, queries, sorting, columns and pulse figures.

No Textual here (and no clock: ``now`` is passed in), so everything the TUI decides about
*what* to show is tested on its own. The widgets only decide *how* it looks.

A row is one counted finding of one resource (a missing object is one row), so the list
reads like the seed's log: ``prod  deploy/backend-api  replicas  spec.replicas  3 → 5``.
Actions act on the row's resource (patch puts back every field of that resource).

Queries are what the operator types after ``/`` (k9s grammar):

- words filter the rows (case-insensitive, every word must match; ``!word`` excludes);
- ``:env prod`` (prefix of an environment name; ``:env all`` clears), ``:ns NAME``;
- ``:filter SLUG`` keeps what a saved ConfigHub filter of the drift records selects,
  ``:set SLUG`` what a drift-record set holds (both evaluated against the labels each
  record carries, see ``hub/records.py``);
- ``:all`` shows in-sync resources too (to promote or roll back a unit that has no drift);
- ``:sort severity|age|resource|env|category`` orders the list.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from drifttui.core.describe import short_value
from drifttui.core.ignore import IgnoreRule, compile_rule, count_silenced
from drifttui.core.models import (
    MASK,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Severity,
)
from drifttui.errors import InputError
from drifttui.hub.protocol import Revision

SEVERITY_LABEL = {
    Severity.CRITICAL: "CRIT",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MED",
    Severity.LOW: "LOW",
    Severity.INFO: "OK",
}

KIND_SHORT = {
    "Deployment": "deploy",
    "StatefulSet": "sts",
    "DaemonSet": "ds",
    "Service": "svc",
    "ConfigMap": "cm",
    "Secret": "secret",
    "HorizontalPodAutoscaler": "hpa",
    "ServiceAccount": "sa",
    "Namespace": "ns",
    "Role": "role",
    "RoleBinding": "rolebinding",
    "ClusterRole": "clusterrole",
    "ClusterRoleBinding": "crb",
    "Ingress": "ing",
    "CronJob": "cj",
    "Job": "job",
    "PersistentVolumeClaim": "pvc",
}

ItemKey = tuple[str, ResourceKey]
"""(environment, resource): how the store, the view and the inbox address an item."""


def short_resource(key: ResourceKey) -> str:
    """``deploy/backend-api``: k9s's short kind names; the namespace is in the detail."""
    return f"{KIND_SHORT.get(key.kind, key.kind.lower())}/{key.name}"


def parse_time(text: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 time (managedFields), None when absent or odd."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def format_age(seconds: float | None) -> str:
    """``45s``, ``3m``, ``2h``, ``5d`` (``-`` when unknown)."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def format_clock(epoch: float | None) -> str:
    """``16:00:05`` (UTC, as the seed's log lines)."""
    if epoch is None:
        return "--:--:--"
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%H:%M:%S")


def format_usd(usd: float) -> str:
    """``+$26.13``, ``-$6.53``, ``$0``."""
    if abs(usd) < 0.005:
        return "$0"
    sign = "+" if usd > 0 else "-"
    return f"{sign}${abs(usd):,.2f}"


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class DriftRow:
    """One line of the drift list. ``row_key`` is stable while the finding exists."""

    row_key: str
    environment: str
    key: ResourceKey
    status: ResourceStatus
    severity: Severity
    category: str
    field: str
    desired: str
    live: str
    who: str
    changed_at: float | None
    finding_id: str | None = None
    unit: str | None = None
    text: str = ""
    """Lower-cased haystack for the filter (environment, resource, namespace, category,
    severity, field, values, who, unit)."""

    @property
    def item_key(self) -> ItemKey:
        return (self.environment, self.key)

    @property
    def resource(self) -> str:
        return short_resource(self.key)

    @property
    def change(self) -> str:
        if not self.desired and not self.live:
            return ""
        return f"{self.desired} → {self.live}"


def _who(f: FieldDrift | None) -> str:
    if f is None or f.attribution is None:
        return "?"
    a = f.attribution
    return f"{a.manager} ({a.subresource})" if a.subresource else a.manager


def _values(item: DriftItem, f: FieldDrift) -> tuple[str, str]:
    if f.change is Change.MISSING:
        return "present", "missing"
    if f.category is Category.SECRET or item.key.kind == "Secret":
        desired = MASK if f.desired is not None else "(none)"
        live = MASK if f.live is not None else "(none)"
        return desired, live
    return _short(f.desired), _short(f.live)


def _short(value: object, limit: int = 32) -> str:
    """``short_value`` with fast paths for the common scalars (a first load makes tens of
    thousands of rows)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and len(value) <= limit:
        return value
    return short_value(value, limit)


def _row(
    item: DriftItem,
    row_key: str,
    *,
    severity: Severity,
    category: str,
    field_text: str,
    desired: str,
    live: str,
    who: str,
    changed_at: float | None,
    finding_id: str | None,
) -> DriftRow:
    key = item.key
    hay = " ".join(
        (
            item.environment,
            short_resource(key),
            key.kind,
            key.namespace,
            category,
            str(severity),
            SEVERITY_LABEL[severity],
            field_text,
            desired,
            live,
            who,
            item.unit or "",
            str(item.status),
        )
    ).lower()
    return DriftRow(
        row_key=row_key,
        environment=item.environment,
        key=key,
        status=item.status,
        severity=severity,
        category=category,
        field=field_text,
        desired=desired,
        live=live,
        who=who,
        changed_at=changed_at,
        finding_id=finding_id,
        unit=item.unit,
        text=hay,
    )


def rows_for_item(
    item: DriftItem,
    first_seen: Mapping[str, float],
    counted: tuple[FieldDrift, ...] | None = None,
) -> tuple[DriftRow, ...]:
    """The rows of one item: one per counted finding, one for a missing object, one for an
    unreadable one, one (status in-sync) for a resource without drift. Unmanaged objects
    (declared by no unit) have none. ``counted`` is ``item.counted`` when the caller has it."""
    base = f"{item.environment}|{item.key.group}|{item.key.kind}|{item.key.namespace}|"
    base += item.key.name
    if item.status is ResourceStatus.UNMANAGED:
        return ()
    if item.status is ResourceStatus.ERROR:
        return (
            _row(
                item,
                base + "|error",
                severity=Severity.HIGH,
                category="error",
                field_text=item.error or "cannot be read",
                desired="",
                live="",
                who="?",
                changed_at=first_seen.get(base),
                finding_id=None,
            ),
        )
    if counted is None:
        counted = item.counted
    if item.status is not ResourceStatus.MISSING and not counted:
        return (
            _row(
                item,
                base + "|in-sync",
                severity=Severity.INFO,
                category="in-sync",
                field_text="",
                desired="",
                live="",
                who="",
                changed_at=None,
                finding_id=None,
            ),
        )
    if not counted:  # missing with no finding recorded
        return (
            _row(
                item,
                base + "|missing",
                severity=Severity.HIGH,
                category="missing",
                field_text="(whole object)",
                desired="present",
                live="missing",
                who="?",
                changed_at=first_seen.get(base + "|missing"),
                finding_id=None,
            ),
        )
    rows = []
    for f in counted:
        missing = f.change is Change.MISSING
        desired, live = _values(item, f)
        when = None if f.attribution is None else parse_time(f.attribution.time)
        fid = f.id or f"{base}|{f.path_str}|{f.change}"
        rows.append(
            _row(
                item,
                fid,
                severity=f.severity,
                category="missing" if missing else str(f.category),
                field_text="(whole object)" if missing else f.path_str,
                desired=desired,
                live=live,
                who=_who(f),
                changed_at=when if when is not None else first_seen.get(fid),
                finding_id=f.id or None,
            )
        )
    return tuple(rows)


# --------------------------------------------------------------------------- queries


class SortKey(StrEnum):
    SEVERITY = "severity"
    AGE = "age"
    RESOURCE = "resource"
    ENVIRONMENT = "env"
    CATEGORY = "category"


SORT_ALIASES = {
    "severity": SortKey.SEVERITY,
    "sev": SortKey.SEVERITY,
    "age": SortKey.AGE,
    "time": SortKey.AGE,
    "resource": SortKey.RESOURCE,
    "name": SortKey.RESOURCE,
    "env": SortKey.ENVIRONMENT,
    "environment": SortKey.ENVIRONMENT,
    "category": SortKey.CATEGORY,
    "cat": SortKey.CATEGORY,
}

QUERY_HELP = ":env NAME, :ns NAME, :filter NAME, :set NAME, :all, :sort severity|age|resource|env"


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter line (see the module docstring)."""

    text: str = ""
    terms: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    environment: str | None = None
    namespace: str | None = None
    hub_filter: str | None = None
    hub_set: str | None = None
    show_in_sync: bool = False
    sort: SortKey | None = None

    @property
    def needs_hub(self) -> bool:
        return self.hub_filter is not None or self.hub_set is not None

    def describe(self) -> str:
        """What the query keeps, for the pulse line (empty when nothing is filtered)."""
        parts = []
        if self.environment:
            parts.append(f"env {self.environment}")
        if self.namespace:
            parts.append(f"ns {self.namespace}")
        if self.hub_filter:
            parts.append(f"filter {self.hub_filter}")
        if self.hub_set:
            parts.append(f"set {self.hub_set}")
        parts += [f'"{t}"' for t in self.terms]
        parts += [f'not "{t}"' for t in self.excluded]
        if self.show_in_sync:
            parts.append("in-sync shown")
        return ", ".join(parts)


def parse_query(text: str, environments: Sequence[str] = ()) -> Query:
    """Parse a filter line; InputError (one line) for an unknown command or a missing
    argument. ``environments`` resolves ``:env pr`` to ``prod``."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    terms: list[str] = []
    excluded: list[str] = []
    q = Query(text=text)
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w == ":":
            continue  # a command being typed
        if w.startswith(":") and len(w) > 1:
            cmd = w[1:].lower()
            if cmd in ("all", "a"):
                q = replace(q, show_in_sync=True)
                continue
            if cmd in ("drift", "d"):
                continue
            if cmd not in ("env", "e", "ns", "namespace", "filter", "f", "set", "s", "sort"):
                raise InputError(f"unknown command {w}", "filter", f"try {QUERY_HELP}")
            if i >= len(words):
                raise InputError(f"{w} needs an argument", "filter", f"try {QUERY_HELP}")
            arg = words[i]
            i += 1
            if cmd in ("env", "e"):
                q = replace(q, environment=_resolve_env(arg, environments))
            elif cmd in ("ns", "namespace"):
                q = replace(q, namespace=None if arg in ("all", "*") else arg)
            elif cmd in ("filter", "f"):
                q = replace(q, hub_filter=arg)
            elif cmd in ("set", "s"):
                q = replace(q, hub_set=arg)
            else:
                sort = SORT_ALIASES.get(arg.lower())
                if sort is None:
                    raise InputError(
                        f"cannot sort by {arg!r}", "filter", "sort by severity, age, resource, env"
                    )
                q = replace(q, sort=sort)
        elif w.startswith("!") and len(w) > 1:
            excluded.append(w[1:].lower())
        elif w:
            terms.append(w.lower())
    return replace(q, terms=tuple(terms), excluded=tuple(excluded))


def _resolve_env(arg: str, environments: Sequence[str]) -> str | None:
    if arg.lower() in ("all", "*"):
        return None
    if not environments or arg in environments:
        return arg
    matches = [e for e in environments if e.lower().startswith(arg.lower())]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(environments)
    if not matches:
        raise InputError(f"no environment named {arg!r}", "filter", f"known: {known}")
    raise InputError(f"{arg!r} names several environments", "filter", f"known: {known}")


RowSelector = Callable[[DriftItem], bool]
"""Keeps the items a hub filter or set selects (built by the app, which reads the hub)."""


def row_matches(row: DriftRow, q: Query) -> bool:
    if row.status is ResourceStatus.IN_SYNC and not q.show_in_sync:
        return False
    if q.environment is not None and row.environment != q.environment:
        return False
    if q.namespace is not None and row.key.namespace != q.namespace:
        return False
    text = row.text
    return all(t in text for t in q.terms) and not any(t in text for t in q.excluded)


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True, slots=True)
class EnvFigures:
    """The pulse of one environment (what the seed's dashboard counted)."""

    environment: str
    monitored: int = 0
    drifted: int = 0
    findings: int = 0
    by_severity: tuple[tuple[Severity, int], ...] = ()
    monthly_cost_usd: float = 0.0

    def count(self, severity: Severity) -> int:
        return dict(self.by_severity).get(severity, 0)


@dataclass(frozen=True, slots=True)
class ViewChanges:
    """What one batch changed, for the log lines and the records writer."""

    opened: tuple[tuple[DriftItem, FieldDrift | None], ...] = ()
    """Findings that were not shown before (None: a missing object without a finding)."""
    closed: tuple[ItemKey, ...] = ()
    """Items that were drifted and are not any more."""
    changed: tuple[ItemKey, ...] = ()
    """Every item whose rows changed."""


@dataclass
class _Tally:
    monitored: int = 0
    drifted: int = 0
    findings: int = 0
    cost: float = 0.0
    severity: dict[Severity, int] = field(default_factory=dict)


SortFn = Callable[[DriftRow], tuple[Any, ...]]


def sort_key(sort: SortKey, env_order: Mapping[str, int]) -> SortFn:
    """The order of the list as a key function (ties broken by resource and field)."""
    big = len(env_order)
    get = env_order.get
    if sort is SortKey.SEVERITY:
        return lambda r: (
            -r.severity.rank,
            get(r.environment, big),
            r.key.name,
            r.key.kind,
            r.field,
            r.row_key,
        )
    if sort is SortKey.AGE:
        return lambda r: (
            -(r.changed_at or 0.0),
            -r.severity.rank,
            r.key.name,
            r.field,
            r.row_key,
        )
    if sort is SortKey.RESOURCE:
        return lambda r: (r.key.name, r.key.kind, get(r.environment, big), r.field, r.row_key)
    if sort is SortKey.ENVIRONMENT:
        return lambda r: (
            get(r.environment, big),
            -r.severity.rank,
            r.key.name,
            r.field,
            r.row_key,
        )
    return lambda r: (
        r.category,
        -r.severity.rank,
        get(r.environment, big),
        r.key.name,
        r.field,
        r.row_key,
    )


def sort_rows(rows: list[DriftRow], sort: SortKey, env_order: Mapping[str, int]) -> None:
    """Sort in place: severity (worst first), age (newest first), resource, env, category."""
    rows.sort(key=sort_key(sort, env_order))


def row_predicate(q: Query) -> Callable[[DriftRow], bool]:
    """``row_matches`` for one query, specialised (a filter keystroke runs it on every row)."""
    terms, excluded = q.terms, q.excluded
    env, ns, in_sync = q.environment, q.namespace, q.show_in_sync
    synced = ResourceStatus.IN_SYNC
    if not excluded and env is None and ns is None and len(terms) <= 1:
        if not terms:
            return (lambda r: True) if in_sync else (lambda r: r.status is not synced)
        t = terms[0]
        if in_sync:
            return lambda r: t in r.text
        return lambda r: r.status is not synced and t in r.text
    return lambda r: row_matches(r, q)


def _narrows(new: Query, old: Query) -> bool:
    """Every row ``new`` keeps, ``old`` kept too (so ``new`` can filter ``old``'s rows)."""
    return (
        (new.environment, new.namespace, new.hub_filter, new.hub_set, new.show_in_sync)
        == (old.environment, old.namespace, old.hub_filter, old.hub_set, old.show_in_sync)
        and set(old.excluded) <= set(new.excluded)
        and all(any(t in n for n in new.terms) for t in old.terms)
    )


REBUILD_FRACTION = 8
"""A batch touching more than 1/8 of the rows re-sorts them all instead of inserting."""


@dataclass
class DriftView:
    """What the drift list shows: every item the UI knows, their rows in order, the rows the
    query keeps, and the pulse's figures.

    Work is proportional to what changed: a batch inserts and removes rows in the sorted
    list (``bisect``) and updates running totals; a filter keystroke filters the sorted rows
    once (no sort), or only the previous result when the query narrows it.
    """

    environments: Sequence[str] = ()
    items: dict[ItemKey, DriftItem] = field(default_factory=dict)
    rows: dict[ItemKey, tuple[DriftRow, ...]] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)
    query: Query = field(default_factory=Query)
    sort: SortKey = SortKey.SEVERITY
    selector: RowSelector | None = None
    drifted_units: dict[tuple[str, str], int] = field(default_factory=dict)
    """Drifted resources per (environment, unit), for the tree's badges."""
    _sorted: list[DriftRow] | None = None
    _visible: list[DriftRow] | None = None
    _key: SortFn | None = None
    _tally: dict[str, _Tally] = field(default_factory=dict)
    _counted: dict[ItemKey, tuple[FieldDrift, ...]] = field(default_factory=dict)
    """``item.counted`` per item (a property that filters the fields on every call)."""
    _row_count: int = 0

    @property
    def env_order(self) -> dict[str, int]:
        return {e: i for i, e in enumerate(self.environments)}

    @property
    def row_count(self) -> int:
        return self._row_count

    def _sort_fn(self) -> SortFn:
        if self._key is None:
            self._key = sort_key(self.sort, self.env_order)
        return self._key

    # ----------------------------------------------------------------- changes

    def apply(
        self, changes: Iterable[tuple[str, ResourceKey, DriftItem | None]], now: float
    ) -> ViewChanges:
        """Take the latest state of each changed item."""
        opened: list[tuple[DriftItem, FieldDrift | None]] = []
        closed: list[ItemKey] = []
        changed: list[ItemKey] = []
        removed_rows: list[DriftRow] = []
        added_rows: list[DriftRow] = []
        counts = self._counted
        for env, key, item in changes:
            ik = (env, key)
            before = self.items.get(ik)
            before_counted = counts.get(ik, ())
            was_drifted = before is not None and (
                before.status is ResourceStatus.MISSING or bool(before_counted)
            )
            old_rows = self.rows.get(ik, ())
            if item is None:
                if before is not None:
                    self._count(env, before, before_counted, -1)
                    del self.items[ik]
                    counts.pop(ik, None)
                    self.rows.pop(ik, None)
                    removed_rows += old_rows
                    changed.append(ik)
                if was_drifted:
                    closed.append(ik)
                continue
            if item.environment != env:
                item = replace(item, environment=env)
            counted = item.counted
            drifted = item.status is ResourceStatus.MISSING or bool(counted)
            shown = {f.id for f in before_counted} if was_drifted else set()
            for f in counted:
                self.first_seen.setdefault(f.id or f"{env}|{key}|{f.path_str}", now)
            base = f"{env}|{key.group}|{key.kind}|{key.namespace}|{key.name}"
            if drifted:
                if not counted:
                    self.first_seen.setdefault(base + "|missing", now)
                    if not was_drifted:
                        opened.append((item, None))
                else:
                    opened += [(item, f) for f in counted if f.id not in shown]
            elif was_drifted:
                closed.append(ik)
            if item.status is ResourceStatus.ERROR:
                self.first_seen.setdefault(base, now)
            if before is not None:
                self._count(env, before, before_counted, -1)
            self._count(env, item, counted, +1)
            self.items[ik] = item
            counts[ik] = counted
            new_rows = rows_for_item(item, self.first_seen, counted)
            if old_rows != new_rows:
                self.rows[ik] = new_rows
                if old_rows:
                    keep = set(new_rows) & set(old_rows)
                    removed_rows += [r for r in old_rows if r not in keep]
                    added_rows += [r for r in new_rows if r not in keep]
                else:
                    added_rows += new_rows
                changed.append(ik)
        self._row_count += len(added_rows) - len(removed_rows)
        if removed_rows or added_rows:
            # an item changed twice in one batch: only the net difference touches the order
            added, removed = Counter(added_rows), Counter(removed_rows)
            self._update_order(
                list((removed - added).elements()), list((added - removed).elements())
            )
        if self.selector is not None and changes:
            self._visible = None  # a hub filter reads the items, not only their rows
        return ViewChanges(tuple(opened), tuple(closed), tuple(changed))

    def _count(self, env: str, item: DriftItem, counted: tuple[FieldDrift, ...], sign: int) -> None:
        if item.status is ResourceStatus.UNMANAGED:
            return
        t = self._tally.setdefault(env, _Tally())
        t.monitored += sign
        if item.status is not ResourceStatus.MISSING and not counted:
            return
        t.drifted += sign
        t.findings += sign * max(1, len(counted))
        if counted:
            severity = max((f.severity for f in counted), key=lambda s: s.rank)
        else:
            severity = Severity.HIGH
        t.severity[severity] = t.severity.get(severity, 0) + sign
        if item.monthly_cost_usd:
            t.cost += sign * item.monthly_cost_usd
        if item.unit:
            uk = (env, item.unit)
            n = self.drifted_units.get(uk, 0) + sign
            if n:
                self.drifted_units[uk] = n
            else:
                self.drifted_units.pop(uk, None)

    def _update_order(self, removed: list[DriftRow], added: list[DriftRow]) -> None:
        if self._sorted is None:
            return
        if (len(removed) + len(added)) * REBUILD_FRACTION > max(len(self._sorted), 64):
            self._sorted = None
            self._visible = None
            return
        key = self._sort_fn()
        visible = self._visible
        for r in removed:
            _remove(self._sorted, r, key)
            if visible is not None:
                _remove(visible, r, key)
        keep = self._predicate()
        for r in added:
            bisect.insort(self._sorted, r, key=key)
            if visible is not None and keep(r):
                bisect.insort(visible, r, key=key)

    # ----------------------------------------------------------------- query and order

    def _predicate(self) -> Callable[[DriftRow], bool]:
        match = row_predicate(self.query)
        sel = self.selector
        if sel is None:
            if self.query.needs_hub:
                # the hub's filter or set is not read yet (or unknown): showing every row
                # under a line that names the filter would tell the operator a lie
                return lambda r: False
            return match
        items = self.items
        return lambda r: match(r) and sel(items[r.item_key])

    def set_query(self, query: Query, selector: RowSelector | None = None) -> None:
        narrower = (
            self._visible is not None
            and selector is self.selector
            and (query.sort is None or query.sort is self.sort)
            and _narrows(query, self.query)
        )
        previous = self._visible
        self.query = query
        self.selector = selector
        if query.sort is not None and query.sort is not self.sort:
            self.set_sort(query.sort)
            return
        if narrower and previous is not None:
            keep = self._predicate()
            self._visible = [r for r in previous if keep(r)]
        else:
            self._visible = None

    def set_sort(self, sort: SortKey) -> None:
        self.sort = sort
        self._key = None
        self._sorted = None
        self._visible = None

    def sorted_rows(self) -> list[DriftRow]:
        if self._sorted is None:
            out = [r for rows in self.rows.values() for r in rows]
            out.sort(key=self._sort_fn())
            self._sorted = out
        return self._sorted

    def visible(self) -> list[DriftRow]:
        """The rows the query keeps, in order (the same list object until it changes, so
        the table can hold it)."""
        if self._visible is None:
            keep = self._predicate()
            self._visible = [r for r in self.sorted_rows() if keep(r)]
        return self._visible

    def item(self, ik: ItemKey) -> DriftItem | None:
        return self.items.get(ik)

    def figures(self) -> dict[str, EnvFigures]:
        """Per environment: resources monitored, drifted, findings, by severity, cost."""
        out = {}
        for env in [*self.environments, *(e for e in self._tally if e not in self.environments)]:
            t = self._tally.get(env, _Tally())
            by = tuple(
                (s, t.severity.get(s, 0))
                for s in (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
            )
            cost = t.cost if abs(t.cost) >= 0.005 else 0.0
            out[env] = EnvFigures(env, t.monitored, t.drifted, t.findings, by, cost)
        return out

    def drifted_items(self, keys: Iterable[ItemKey] | None = None) -> list[DriftItem]:
        """Drifted items (of ``keys`` when given, in that order, without repeats)."""
        if keys is None:
            return [i for i in self.items.values() if i.is_drifted]
        seen: set[ItemKey] = set()
        out = []
        for ik in keys:
            if ik in seen:
                continue
            seen.add(ik)
            item = self.items.get(ik)
            if item is not None and item.is_drifted:
                out.append(item)
        return out


def _remove(rows: list[DriftRow], row: DriftRow, key: SortFn) -> bool:
    """Remove ``row`` from ``rows`` (sorted by ``key``); False when it is not there."""
    k = key(row)
    i = bisect.bisect_left(rows, k, key=key)
    while i < len(rows) and key(rows[i]) == k:
        if rows[i].row_key == row.row_key:
            del rows[i]
            return True
        i += 1
    return False


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int


_FIXED = {"mark": 1, "sev": 4, "env": 7, "category": 11, "who": 14, "age": 4}


def columns_for(width: int, env_width: int = 7) -> tuple[Column, ...]:
    """The drift list's columns at ``width`` cells (one space between columns). Below 100
    cells "who" goes; below 70 "category" too; resource, field and change share the rest."""
    fixed = dict(_FIXED, env=max(3, min(env_width, 12)))
    names = ["mark", "sev", "env", "resource", "category", "field", "change", "who", "age"]
    if width < 100:
        names.remove("who")
    if width < 70:
        names.remove("category")
    gaps = len(names) - 1
    flex = max(0, width - gaps - sum(fixed[n] for n in names if n in fixed))
    # resource : field : change = 5 : 5 : 4, with floors
    resource = max(12, flex * 5 // 14)
    field_w = max(10, flex * 5 // 14)
    change = max(8, flex - resource - field_w)
    widths = dict(fixed, resource=resource, field=field_w, change=change)
    titles = {
        "mark": " ",
        "sev": "SEV",
        "env": "ENV",
        "resource": "RESOURCE",
        "category": "CATEGORY",
        "field": "FIELD",
        "change": "DESIRED → LIVE",
        "who": "CHANGED BY",
        "age": "AGE",
    }
    return tuple(Column(n, titles[n], widths[n]) for n in names)


def cell_text(row: DriftRow, column: str, now: float) -> str:
    """What a row shows in ``column`` (the mark column is the widget's business)."""
    if column == "sev":
        return SEVERITY_LABEL[row.severity]
    if column == "env":
        return row.environment
    if column == "resource":
        return row.resource
    if column == "category":
        return row.category
    if column == "field":
        return row.field
    if column == "change":
        return row.change
    if column == "who":
        return row.who
    if column == "age":
        return "" if row.changed_at is None else format_age(now - row.changed_at)
    return ""


# --------------------------------------------------------------------------- ignore rules


@dataclass(frozen=True, slots=True)
class IgnoreChoice:
    label: str
    raw: Mapping[str, Any]
    rule: IgnoreRule
    silenced: int


def _literal(text: str) -> str:
    """``text`` as a regular expression matching only itself (Kubernetes names need few
    escapes: ``web-1.api`` -> ``web-1\\.api``)."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "rule"


def ignore_choices(
    item: DriftItem,
    finding: FieldDrift,
    items: Sequence[DriftItem],
    taken: AbstractSet[str] = frozenset(),
) -> list[IgnoreChoice]:
    """Rules from narrow to broad for one finding, each with what it would silence."""
    key = item.key
    env = item.environment
    path = finding.path_str
    name_base = _slug(f"tui-{key.kind}-{key.name}-{path}")
    scopes: list[tuple[str, dict[str, Any]]] = [
        (
            f"{path} of {key.kind} {key.name} in {env}",
            {
                "path": path,
                "kind": key.kind,
                "resourceName": _literal(key.name),
                "environment": _literal(env),
            },
        ),
        (
            f"{path} of every {key.kind} in {env}",
            {"path": path, "kind": key.kind, "environment": re.escape(env)},
        ),
        (f"{path} of every {key.kind} everywhere", {"path": path, "kind": key.kind}),
    ]
    a = finding.attribution
    if a is not None and a.manager:
        scopes.append(
            (
                f"every change by {a.manager} to {key.kind} objects",
                {"managers": [a.manager], "kind": key.kind},
            )
        )
    out = []
    for i, (label, raw) in enumerate(scopes):
        name = f"{name_base}-{i + 1}" if i else name_base
        while name in taken:
            name += "-x"
        mapping = {"name": name, **raw, "reason": "ignored from the TUI"}
        rule = compile_rule(mapping)
        out.append(IgnoreChoice(label, mapping, rule, count_silenced(rule, items)))
    return out


def rule_yaml(raw: Mapping[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump([dict(raw)], sort_keys=False, default_flow_style=False)).rstrip()


# --------------------------------------------------------------------------- rollback


@dataclass(frozen=True, slots=True)
class RollbackChoice:
    environment: str
    space: str
    unit: str
    revisions: tuple[Revision, ...]
    """Newest first."""

    @property
    def head(self) -> int:
        return max((r.num for r in self.revisions), default=0)
