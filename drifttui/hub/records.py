"""Drift records: one unit per drift item in the chain's ``P-drift-records`` space.

The record's identity is deterministic (environment + resource key), so restarts, retries
and two detectors never duplicate it: its slug is :func:`record_slug`. Its labels say what
it is (``environment``, ``category``, ``severity``, ``status``, ``kind``, ``name``,
``namespace``, ``production``, ``auto-correctable``) and which sets it belongs to (a set is
a label, :func:`drifttui.hub.documents.set_label`), kept in step with its status. Its data
is a YAML document (``kind: DriftRecord``) with the field-level drift, attribution,
analysis and the actions taken; Secret values appear only as ``***`` (``core.models.MASK``)
and tokens never. Every status change is a revision: the audit trail.

``open_or_update`` writes nothing when nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from drifttui.core.models import (
    MASK,
    Category,
    DriftItem,
    FieldDrift,
    ResourceKey,
    Severity,
    stable_hash,
)
from drifttui.errors import ConflictError, HubError, NotFoundError
from drifttui.hub import documents as docs
from drifttui.hub.protocol import Hub, Unit

RECORD_API_VERSION = "drifttui.dev/v1"
RECORD_KIND = "DriftRecord"
CloseStatus = Literal["corrected", "accepted", "ignored"]
STATUSES = ("open", "corrected", "accepted", "ignored")
ISSUE_SETS = ("critical-drifts", "resource-drifts", "replica-drifts")
CORRECTED_SET = "corrected-drifts"
_SECURITY_KINDS = frozenset(
    {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount"}
)
_SECRET_PATH = re.compile(r"^(data|stringData)(\.|$)")


def record_slug(env_name: str, key: ResourceKey) -> str:
    """``drift-<env>-<kind>-<name>-<hash>``: readable, unique, at most 128 characters."""
    digest = stable_hash(env_name, key.group, key.kind, key.namespace, key.name, length=8)
    readable = re.sub(r"[^a-z0-9.-]+", "-", f"{env_name}-{key.kind}-{key.name}".lower())
    readable = readable.strip("-.")[: 128 - len("drift--") - len(digest)].strip("-.")
    return f"drift-{readable}-{digest}"


@dataclass(frozen=True, slots=True)
class RecordInfo:
    slug: str
    environment: str
    kind: str
    namespace: str
    name: str
    category: str
    severity: str
    status: str
    revision: int
    updated_at: str
    sets: tuple[str, ...] = ()


def record_category(item: DriftItem) -> str:
    """One category for the record: security/secret first (what the security filter
    selects), else the category of the worst counted field."""
    fields = item.counted or item.fields
    cats = {f.category for f in fields}
    if Category.SECRET in cats or item.key.kind == "Secret":
        return Category.SECRET.value
    if Category.SECURITY in cats or item.key.kind in _SECURITY_KINDS:
        return Category.SECURITY.value
    if not fields:
        return "missing" if item.is_drifted else Category.OTHER.value
    worst = max(fields, key=lambda f: f.severity.rank)
    return worst.category.value


def _mask(item: DriftItem, f: FieldDrift, value: Any) -> Any:
    if value is None:
        return None
    if f.category is Category.SECRET or (
        item.key.kind == "Secret" and _SECRET_PATH.match(f.path_str)
    ):
        return MASK
    return value


class DriftRecords:
    """The drift records of one chain, in ``space`` (``P-drift-records``)."""

    def __init__(self, hub: Hub, space: str) -> None:
        self.hub = hub
        self.space = space
        self._production: set[str] | None = None

    def production_environments(self) -> set[str]:
        """The chain's production environments (read from the hub once, then kept)."""
        if self._production is None:
            from drifttui.hub.chain import CHAIN_LABEL, discover_chain

            try:
                chain = self.hub.get_space(self.space).labels.get(CHAIN_LABEL)
            except NotFoundError:
                raise NotFoundError(
                    f"no drift-records space {self.space!r}",
                    None,
                    "create the chain with: drifttui init",
                ) from None
            self._production = (
                {e.name for e in discover_chain(self.hub, chain) if e.production}
                if chain
                else set()
            )
        return self._production

    # -------------------------------------------------------------- documents

    def _document(
        self,
        env_name: str,
        item: DriftItem,
        status: str,
        analysis_text: str | None,
        actions: list[Any],
    ) -> dict[str, Any]:
        key = item.key
        fields = []
        for f in item.fields:
            entry: dict[str, Any] = {
                "path": f.path_str,
                "change": f.change.value,
                "desired": _mask(item, f, f.desired),
                "live": _mask(item, f, f.live),
                "category": f.category.value,
                "severity": f.severity.value,
            }
            if f.id:
                entry["id"] = f.id
            if f.safe_to_autofix:
                entry["safeToAutofix"] = True
            if f.ignored_by:
                entry["ignoredBy"] = f.ignored_by
            if f.note:
                entry["note"] = f.note
            if f.attribution is not None:
                a = f.attribution
                entry["attribution"] = {
                    k: v
                    for k, v in (
                        ("manager", a.manager),
                        ("operation", a.operation),
                        ("time", a.time),
                        ("subresource", a.subresource),
                        ("human", a.is_human),
                    )
                    if v not in (None, "")
                }
            fields.append(entry)
        resource: dict[str, Any] = {
            "apiVersion": item.api_version,
            "kind": key.kind,
            "name": key.name,
        }
        if key.namespace:
            resource["namespace"] = key.namespace
        spec: dict[str, Any] = {
            "environment": env_name,
            "resource": resource,
            "status": status,
            "resourceStatus": item.status.value,
            "severity": item.severity.value,
            "category": record_category(item),
            "fields": fields,
        }
        for k, v in (
            ("space", item.space),
            ("unit", item.unit),
            ("owner", item.owner),
            ("error", item.error),
        ):
            if v:
                spec[k] = v
        if item.autoscaler is not None:
            spec["autoscaler"] = {
                "name": item.autoscaler.name,
                "minReplicas": item.autoscaler.min_replicas,
                "maxReplicas": item.autoscaler.max_replicas,
            }
        if item.monthly_cost_usd is not None:
            spec["monthlyCostUsd"] = round(item.monthly_cost_usd, 2)
        if analysis_text:
            spec["analysis"] = analysis_text
        if actions:
            spec["actions"] = actions
        return {
            "apiVersion": RECORD_API_VERSION,
            "kind": RECORD_KIND,
            "metadata": {"name": record_slug(env_name, key)},
            "spec": spec,
        }

    def labels_for(self, item: DriftItem, status: str = "open") -> dict[str, str]:
        """The labels the drift record of ``item`` carries (or would carry) with ``status``:
        what saved filters and sets select on. Reads the hub once
        (:meth:`production_environments`), then answers from memory."""
        raw = self._labels(item.environment, item, status)
        return {k: v for k, v in raw.items() if v is not None}

    def _labels(self, env_name: str, item: DriftItem, status: str) -> dict[str, str | None]:
        key = item.key
        counted = item.counted
        cats = {f.category for f in counted}
        auto = bool(counted) and all(f.safe_to_autofix for f in counted)
        labels: dict[str, str | None] = {
            "environment": env_name[:128],
            "category": record_category(item),
            "severity": item.severity.value,
            "status": status,
            "kind": key.kind,
            "name": key.name[:128],
            "namespace": key.namespace[:128] or None,
            "production": "true" if env_name in self.production_environments() else "false",
            "auto-correctable": "true" if auto else "false",
        }
        member = {
            "critical-drifts": status == "open" and item.severity is Severity.CRITICAL,
            "resource-drifts": status == "open" and Category.RESOURCES in cats,
            "replica-drifts": status == "open" and Category.REPLICAS in cats,
            CORRECTED_SET: status == "corrected",
        }
        for set_slug, is_member in member.items():
            k, v = docs.set_label(set_slug, self.space)
            labels[k] = v if is_member else None
        return labels

    # -------------------------------------------------------------- writing

    def _read(self, slug: str) -> Unit | None:
        try:
            return self.hub.get_unit(self.space, slug)
        except NotFoundError as exc:
            if "space" in exc.what and "unit" not in exc.what:
                raise
            return None

    def open_or_update(
        self, env_name: str, item: DriftItem, analysis_text: str | None = None
    ) -> str:
        """Create or refresh the record of an open drift item; returns its slug. Nothing is
        written when the record already says the same."""
        slug = record_slug(env_name, item.key)
        for _attempt in range(3):
            current = self._read(slug)
            actions: list[Any] = []
            analysis = analysis_text
            if current is not None:
                spec = (docs.load_yaml(current.data) or {}).get("spec") or {}
                actions = list(spec.get("actions") or [])
                if analysis is None:
                    analysis = spec.get("analysis")
                if spec.get("status") not in (None, "open"):
                    actions.append({"action": "reopened", "from": spec.get("status")})
            doc = self._document(env_name, item, "open", analysis, actions)
            text = docs.dump_yaml(doc)
            labels = self._labels(env_name, item, "open")
            try:
                if current is None:
                    self.hub.create_unit(
                        self.space,
                        slug,
                        text,
                        labels={k: v for k, v in labels.items() if v is not None},
                        description=f"Drift opened: {item.key} in {env_name}",
                    )
                    return slug
                self._write(current, text, labels, f"Drift updated: {item.key} in {env_name}")
                return slug
            except ConflictError:
                continue  # another writer got there first: read again
        raise HubError(f"drift record {slug} keeps changing under us", self.space, "retry")

    def _write(
        self, current: Unit, text: str, labels: Mapping[str, str | None], description: str
    ) -> None:
        version = current.version
        if docs.data_hash(text) != current.data_hash:
            written = self.hub.update_unit_data(
                self.space, current.slug, text, description, if_match=current.data_hash
            )
            version = written.version
        patch = {k: v for k, v in labels.items() if current.labels.get(k) != v}
        patch = {k: v for k, v in patch.items() if not (v is None and k not in current.labels)}
        if patch:
            # with the version just read, a delayed duplicate of an older label write can
            # never land after this one
            self.hub.update_unit_labels(self.space, current.slug, patch, version=version)

    def close(
        self, env_name: str, key: ResourceKey, status: CloseStatus, note: str = ""
    ) -> str | None:
        """Mark the record corrected, accepted or ignored (a new revision); returns its slug,
        or None when there is no record of it. Closing twice writes nothing the second
        time."""
        if status not in ("corrected", "accepted", "ignored"):
            raise HubError(f"unknown status {status!r}", "drift record", status=400)
        slug = record_slug(env_name, key)
        for _attempt in range(3):
            current = self._read(slug)
            if current is None:
                return None
            doc = docs.load_yaml(current.data) or {}
            spec = doc.setdefault("spec", {})
            if spec.get("status") == status:
                return slug
            action: dict[str, Any] = {"action": status}
            if note:
                action["note"] = note
            spec["status"] = status
            spec["actions"] = [*list(spec.get("actions") or []), action]
            labels: dict[str, str | None] = {"status": status}
            for set_slug in ISSUE_SETS:
                labels[docs.set_label(set_slug, self.space)[0]] = None
            k, v = docs.set_label(CORRECTED_SET, self.space)
            labels[k] = v if status == "corrected" else None
            try:
                self._write(
                    current, docs.dump_yaml(doc), labels, f"Drift {status}: {key} in {env_name}"
                )
                return slug
            except ConflictError:
                continue
        raise HubError(f"drift record {slug} keeps changing under us", self.space, "retry")

    # -------------------------------------------------------------- reading

    def list(self, status: str | None = None) -> list[RecordInfo]:
        if status is not None and status not in STATUSES:
            raise HubError(
                f"unknown status {status!r}", "drift records", f"use one of {', '.join(STATUSES)}"
            )
        where = f"Labels.status = '{status}'" if status else "Labels.status IS NOT NULL"
        out = []
        for u in self.hub.list_units(self.space, where):
            lab = u.labels
            sets = tuple(
                s
                for s in (*ISSUE_SETS, CORRECTED_SET)
                if lab.get(docs.set_label(s, self.space)[0]) == self.space
            )
            out.append(
                RecordInfo(
                    slug=u.slug,
                    environment=lab.get("environment", ""),
                    kind=lab.get("kind", ""),
                    namespace=lab.get("namespace", ""),
                    name=lab.get("name", ""),
                    category=lab.get("category", ""),
                    severity=lab.get("severity", ""),
                    status=lab.get("status", ""),
                    revision=u.head_revision,
                    updated_at=u.updated_at,
                    sets=sets,
                )
            )
        return out

    def get(self, env_name: str, key: ResourceKey) -> dict[str, Any] | None:
        """The record document of a resource, or None."""
        current = self._read(record_slug(env_name, key))
        if current is None:
            return None
        doc = docs.load_yaml(current.data)
        return doc if isinstance(doc, dict) else None
