"""The drift engine's vocabulary: plain, frozen, hashable values. No I/O here.

Every layer speaks these types: the diff produces :class:`DriftItem` values, the engine keeps
them in its store keyed by (environment, :class:`ResourceKey`), the reports, the TUI, the
analyst and the drift records in ConfigHub read them.

Paths
-----
A field is addressed by a :data:`FieldPath`, a tuple of elements: a ``str`` is a map key, a
:class:`Sel` picks a list item by its merge key. ``format_path`` gives the dotted form used in
reports and the fixtures, e.g. ``spec.template.spec.containers[name=web].image``; map keys
are written as they are even when they hold dots or slashes
(``metadata.annotations.example.com/owner``), so the dotted form is for people and the tuple
is for machines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JSON = Any
"""A JSON value: dict, list, str, int, float, bool or None."""


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True, slots=True)
class Sel:
    """A list item selected by its merge key, e.g. ``[name=web]``.

    ``keys`` holds (field, value) pairs; values keep their JSON type (``containerPort`` 80 is
    an int) so the selector matches the object exactly. An atomic list is never addressed
    item by item: the finding is on the list itself.
    """

    keys: tuple[tuple[str, JSON], ...]

    def matches(self, item: JSON) -> bool:
        if not isinstance(item, Mapping):
            return False
        return all(item.get(k) == v for k, v in self.keys)

    def __str__(self) -> str:
        return "[" + ",".join(f"{k}={v}" for k, v in self.keys) + "]"


PathElem = str | Sel
FieldPath = tuple[PathElem, ...]


def format_path(path: Iterable[PathElem]) -> str:
    """Dotted form of a path: ``spec.ports[name=https].nodePort``; ``""`` for the root."""
    out: list[str] = []
    for elem in path:
        if isinstance(elem, Sel):
            out.append(str(elem))
        else:
            if out:
                out.append(".")
            out.append(elem)
    return "".join(out)


def json_pointer(path: Iterable[PathElem], obj: JSON) -> str | None:
    """RFC 6901 pointer of ``path`` inside ``obj`` (list selectors resolved to indices).

    Returns None when a selector matches no item. Used for SARIF locations and JSON patches.
    """
    parts: list[str] = []
    cur = obj
    for elem in path:
        if isinstance(elem, Sel):
            if not isinstance(cur, list):
                return None
            for i, item in enumerate(cur):
                if elem.matches(item):
                    parts.append(str(i))
                    cur = item
                    break
            else:
                return None
        else:
            parts.append(elem.replace("~", "~0").replace("/", "~1"))
            cur = cur.get(elem) if isinstance(cur, Mapping) else None
    return "/" + "/".join(parts) if parts else ""


def get_path(obj: JSON, path: Iterable[PathElem]) -> tuple[bool, JSON]:
    """(found, value) of ``path`` inside ``obj``."""
    cur = obj
    for elem in path:
        if isinstance(elem, Sel):
            if not isinstance(cur, list):
                return False, None
            for item in cur:
                if elem.matches(item):
                    cur = item
                    break
            else:
                return False, None
        else:
            if not isinstance(cur, Mapping) or elem not in cur:
                return False, None
            cur = cur[elem]
    return True, cur


# --------------------------------------------------------------------------- enums


class Change(StrEnum):
    """How a field differs (the fixtures' grammar)."""

    CHANGED = "changed"  # desired declares it, live holds another value
    ADDED = "added"  # live holds it, desired does not declare it, a person wrote it
    REMOVED = "removed"  # desired declares it, live lacks it
    MISSING = "missing"  # the whole object is absent from the cluster


class Category(StrEnum):
    REPLICAS = "replicas"
    IMAGE = "image"
    RESOURCES = "resources"
    PORTS = "ports"
    CONFIG_DATA = "config-data"
    SECRET = "secret"
    LABELS = "labels"
    SECURITY = "security"
    OPERATIONAL = "operational"
    OTHER = "other"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 ... info 0."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class ResourceStatus(StrEnum):
    IN_SYNC = "in-sync"
    DRIFTED = "drifted"
    MISSING = "missing"
    UNMANAGED = "unmanaged"  # live in the namespace, declared by no unit: not drift
    ERROR = "error"  # could not be read: never clean


# --------------------------------------------------------------------------- identity


@dataclass(frozen=True, slots=True, order=True)
class ResourceKey:
    """Identity of a Kubernetes object: API group, kind, namespace ("" if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any], default_namespace: str = "") -> ResourceKey:
        """Key of a manifest or live object. Raises KeyError/TypeError on a malformed one."""
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        meta = obj.get("metadata") or {}
        return cls(
            group=group,
            kind=str(obj["kind"]),
            namespace=str(meta.get("namespace") or default_namespace),
            name=str(meta["name"]),
        )

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who last wrote a field, from managedFields. ``time`` is None for scale writes."""

    manager: str
    operation: str  # "Apply" or "Update"
    time: str | None = None
    subresource: str | None = None
    is_human: bool = False

    def describe(self) -> str:
        sub = f" ({self.subresource})" if self.subresource else ""
        when = self.time or "time unknown"
        return f"{self.manager}{sub}, {when}"


@dataclass(frozen=True, slots=True)
class Autoscaler:
    """An HPA (or an autoscaler owning one) that targets a workload."""

    name: str
    target: ResourceKey
    min_replicas: int
    max_replicas: int

    def clamp(self, replicas: int) -> int:
        return max(self.min_replicas, min(self.max_replicas, replicas))


# --------------------------------------------------------------------------- findings


MASK = "***"
"""What a Secret value looks like in every report, screen, record and analyst request."""


@dataclass(frozen=True, slots=True)
class FieldDrift:
    """One field of one object that differs between desired and live.

    ``desired`` and ``live`` are JSON values as a person should see them (Secret values are
    already :data:`MASK`); absent is None together with the ``change``. ``ignored_by`` names
    the ignore rule that silenced it; ``note`` carries context such as the HPA range.
    """

    path: FieldPath
    change: Change
    desired: JSON
    live: JSON
    category: Category
    severity: Severity
    attribution: Attribution | None = None
    ignored_by: str | None = None
    safe_to_autofix: bool = False
    note: str | None = None
    id: str = ""
    fingerprint: str = ""
    pointer: str = ""
    """RFC 6901 pointer of the field in the live object (in desired for ``removed``); ""
    when unknown. SARIF locations and ignore rules written as pointers use it."""

    @property
    def path_str(self) -> str:
        return format_path(self.path)

    @property
    def counts(self) -> bool:
        """True when this finding is drift (not ignored, not merely operational)."""
        return self.ignored_by is None and self.category is not Category.OPERATIONAL


@dataclass(frozen=True, slots=True)
class DriftItem:
    """The comparison of one object: its status and its field drifts.

    ``owner`` names who deploys it when visible (Flux, Argo CD, Helm, ConfigHub, or
    ``Kind/name`` from ownerReferences). ``rolling_out`` is True while
    ``status.observedGeneration`` lags ``metadata.generation``.
    """

    key: ResourceKey
    api_version: str
    status: ResourceStatus
    fields: tuple[FieldDrift, ...] = ()
    environment: str = ""
    owner: str | None = None
    rolling_out: bool = False
    error: str | None = None
    unit: str | None = None
    space: str | None = None
    autoscaler: Autoscaler | None = None
    monthly_cost_usd: float | None = None

    @property
    def counted(self) -> tuple[FieldDrift, ...]:
        return tuple(f for f in self.fields if f.counts)

    @property
    def is_drifted(self) -> bool:
        return self.status is ResourceStatus.MISSING or bool(self.counted)

    @property
    def severity(self) -> Severity:
        counted = self.counted
        if self.status is ResourceStatus.MISSING and not counted:
            return Severity.HIGH
        if not counted:
            return Severity.INFO
        return max((f.severity for f in counted), key=lambda s: s.rank)


# --------------------------------------------------------------------------- environments


@dataclass(frozen=True, slots=True)
class Environment:
    """One place drifttui watches: a hub space against a cluster context and namespace."""

    name: str
    space: str
    context: str | None = None
    namespace: str | None = None  # None: all namespaces
    read_only: bool = False
    auto_fix: bool = False
    production: bool = False
    allow_auto_fix_in_production: bool = False
    accent: str | None = None
    upstream: str | None = None  # name of the environment promotions come from


# --------------------------------------------------------------------------- identity hashes


def stable_hash(*parts: JSON, length: int = 16) -> str:
    """Deterministic short hash of JSON-able parts (same on every run and machine)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def finding_id(environment: str, key: ResourceKey, path: FieldPath, change: Change) -> str:
    """Stable ID of a finding: where it is, not what the values are."""
    return (
        "DRIFT-"
        + stable_hash(
            environment,
            key.group,
            key.kind,
            key.namespace,
            key.name,
            format_path(path),
            str(change),
        ).upper()[:12]
    )


@dataclass(frozen=True, slots=True)
class Prices:
    """Cloud prices used by the cost model (USD). Defaults: on-demand general purpose,
    roughly AWS m6i / GCP n2 list prices in 2026, rounded."""

    vcpu_hour: float = 0.0316
    gib_hour: float = 0.0042
    hours_per_month: float = 730.0


@dataclass(frozen=True, slots=True)
class CostImpact:
    """Monthly cost difference live minus desired (positive: live costs more)."""

    monthly_usd: float
    cpu_cores_delta: float
    memory_gib_delta: float
    explanation: str = field(default="")
