"""The Hub protocol: what drifttui needs from ConfigHub, and the values it returns.

Two implementations keep the same semantics: ``ConfigHubClient`` (``hub/http.py``, the real
REST API over httpx) and ``SqliteHub`` (``hub/local.py``, the embedded hub). Entities are
plain frozen dataclasses named after ConfigHub's own (Space, Unit, Revision, Filter,
ChangeSet); spaces and units are addressed by slug, as a person types them. Everything that
is uncertain about the real API stays inside ``hub/http.py``.

Errors: every method raises :class:`drifttui.errors.HubError` subclasses:
``NotFoundError`` (unknown space/unit/revision), ``ConflictError`` (changed since read,
already exists), ``AuthError`` (token rejected), ``WhereClauseError`` (bad where-clause,
with its position), ``HubError`` for the rest. Never a raw httpx/sqlite exception.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from drifttui.errors import HubError
from drifttui.hub import documents as docs

Labels = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Space:
    slug: str
    id: str
    labels: Mapping[str, str] = field(default_factory=dict)
    display_name: str = ""
    unit_count: int = 0
    created_at: str = ""


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit: one Kubernetes object (its YAML in ``data``) in a space, with its history."""

    slug: str
    id: str
    space: str  # slug of its space
    space_id: str
    head_revision: int
    data: str  # the YAML document at head ("" when not fetched)
    data_hash: str = ""  # sha256 hex of data (the real API's DataHash / ETag)
    labels: Mapping[str, str] = field(default_factory=dict)
    version: int = 0  # optimistic concurrency counter
    upstream_unit_id: str | None = None
    upstream_space_id: str | None = None
    upstream_revision: int = 0  # upstream revision it was cloned from / last upgraded to
    upstream_head_revision: int | None = None  # upstream's head, when known
    applied_revision: int = 0  # revision last applied to the cluster (0: never)
    last_change_description: str = ""
    toolchain_type: str = "Kubernetes/YAML"
    created_at: str = ""
    updated_at: str = ""
    conflicts: tuple[str, ...] = ()  # paths an upgrade could not apply

    @property
    def upgrade_needed(self) -> bool | None:
        """None when not a clone; else whether the upstream head moved past our base."""
        if not self.upstream_unit_id:
            return None
        if self.upstream_head_revision is None:
            return None
        return self.upstream_revision < self.upstream_head_revision

    @property
    def unapplied_changes(self) -> bool:
        return self.applied_revision != self.head_revision


@dataclass(frozen=True, slots=True)
class Revision:
    num: int
    id: str
    description: str
    source: str  # CreateUnit, Update, CloneUnit, UpgradeUnit, Restore, ...
    author: str
    created_at: str
    data_hash: str = ""
    restored_from: int | None = None
    changeset_id: str | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    slug: str
    id: str
    space: str
    where: str
    from_: str = "Unit"
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetInfo:
    """A set of units. The current API has no Sets: a set is the label
    ``set-<slug>=<space of the set>`` (``label``) plus a saved Filter selecting it
    (``filter_slug``, labelled ``drifttui-set``), in both implementations."""

    slug: str
    space: str
    description: str
    label: str
    filter_slug: str
    members: tuple[str, ...] = ()  # unit slugs (space/unit)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    slug: str
    id: str
    space: str
    description: str
    created_at: str = ""
    units: tuple[str, ...] = ()  # "space/unit" of every unit it touched


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One mutation: who did what, when, to which units."""

    at: str
    author: str
    action: str  # CreateUnit, UpdateUnit, BulkPatchUnits, UpgradeUnit, RestoreUnit, ...
    description: str
    units: tuple[str, ...]  # "space/unit"
    changeset_id: str | None = None


@dataclass(frozen=True, slots=True)
class UnitResult:
    """One unit's result inside a bulk operation (the real API's 207 element)."""

    space: str
    unit: str
    ok: bool
    error: str | None = None
    revision: int | None = None
    changed_paths: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BulkResult:
    results: tuple[UnitResult, ...]
    changeset_id: str | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[UnitResult, ...]:
        return tuple(r for r in self.results if not r.ok)


@runtime_checkable
class HubReader(Protocol):
    def list_spaces(self, where: str | None = None) -> list[Space]: ...

    def get_space(self, space: str) -> Space: ...

    def list_units(
        self, space: str | None, where: str | None = None, *, with_data: bool = False
    ) -> list[Unit]:
        """Units of ``space`` (None: every space) matching ``where``; pages internally."""
        ...

    def get_unit(self, space: str, unit: str) -> Unit: ...

    def get_unit_data(self, space: str, unit: str, revision: int | None = None) -> str: ...

    def list_revisions(self, space: str, unit: str) -> list[Revision]: ...

    def list_downstream(self, space: str, unit: str) -> list[Unit]: ...

    def list_filters(self, space: str) -> list[Filter]: ...

    def get_filter(self, space: str, slug: str) -> Filter: ...

    def evaluate_filter(self, space: str, slug: str, where: str | None = None) -> list[Unit]:
        """Units selected by the saved filter (ANDed with ``where``)."""
        ...

    def list_sets(self, space: str) -> list[SetInfo]: ...

    def list_changesets(self, space: str | None = None) -> list[ChangeSet]: ...

    def list_audit(self, space: str | None = None, limit: int = 100) -> list[AuditEntry]: ...


@runtime_checkable
class HubWriter(Protocol):
    def create_space(
        self, slug: str, labels: Labels | None = None, display_name: str = ""
    ) -> Space: ...

    def create_unit(
        self,
        space: str,
        slug: str,
        data: str,
        *,
        labels: Labels | None = None,
        description: str = "",
    ) -> Unit:
        """Create a unit from one Kubernetes manifest (YAML). Invalid YAML -> HubError 400."""
        ...

    def update_unit_data(
        self,
        space: str,
        unit: str,
        data: str,
        description: str,
        *,
        if_match: str | None = None,
        changeset_id: str | None = None,
    ) -> Unit:
        """New head revision with ``data``. ``if_match`` is the DataHash read; a stale one
        raises ConflictError. Identical data writes no revision and returns the unit."""
        ...

    def update_unit_labels(
        self,
        space: str,
        unit: str,
        labels: Mapping[str, str | None],
        *,
        version: int | None = None,
    ) -> Unit:
        """Merge ``labels`` into the unit's labels; a None value removes that key."""
        ...

    def delete_unit(self, space: str, unit: str) -> None: ...

    def restore_revision(self, space: str, unit: str, revision: int, description: str = "") -> Unit:
        """Write a new head revision carrying ``revision``'s data (never moves head back)."""
        ...

    def clone_unit(
        self, upstream_space: str, unit: str, space: str, slug: str | None = None
    ) -> Unit:
        """Create ``space/slug`` as a downstream clone of ``upstream_space/unit``."""
        ...

    def upgrade_unit(self, space: str, unit: str, description: str = "") -> UnitResult:
        """Three-way merge of upstream changes into this downstream unit (local edits kept,
        skipped paths reported as conflicts)."""
        ...

    def bulk_patch(
        self,
        where: str,
        *,
        space: str | None = None,
        labels: Labels | None = None,
        upgrade: bool = False,
        description: str = "",
        changeset_id: str | None = None,
    ) -> BulkResult:
        """One call over every unit matching ``where``: merge ``labels`` and/or upgrade from
        upstream (push-upgrade). Atomic on the embedded hub."""
        ...

    def bulk_set_paths(
        self,
        where: str,
        values: Mapping[str, Any],
        *,
        space: str | None = None,
        description: str = "",
        changeset_id: str | None = None,
    ) -> BulkResult:
        """Set dotted data paths (``spec.replicas`` -> 3) in every matching unit's document:
        one call, one revision per changed unit (the real API's function invoke)."""
        ...

    def mark_applied(self, space: str, unit: str, revision: int) -> Unit: ...

    def create_filter(self, space: str, slug: str, where: str, from_: str = "Unit") -> Filter: ...

    def create_set(self, space: str, slug: str, description: str = "") -> SetInfo: ...

    def add_to_set(self, space: str, set_slug: str, units: Sequence[tuple[str, str]]) -> None:
        """Add (space, unit) pairs to the set (label ``set-<slug>``)."""
        ...

    def remove_from_set(
        self, space: str, set_slug: str, units: Sequence[tuple[str, str]]
    ) -> None: ...

    def create_changeset(self, space: str, slug: str, description: str) -> ChangeSet: ...


@runtime_checkable
class Hub(HubReader, HubWriter, Protocol):
    """Both halves. ``name`` says which hub it is, for screens and logs (never a token)."""

    @property
    def name(self) -> str: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- shared helpers
# What both implementations do the same way, written once.


def set_info(slug: str, space: str, description: str, members: Sequence[str] = ()) -> SetInfo:
    """The SetInfo of set ``space/slug`` (its label and filter follow from the names)."""
    key, value = docs.set_label(slug, space)
    return SetInfo(
        slug, space, description, f"{key}={value}", docs.set_filter_slug(slug), tuple(members)
    )


def set_members(hub: HubReader, slug: str, space: str) -> tuple[str, ...]:
    """``space/unit`` of every member of set ``space/slug`` (units of any space)."""
    return tuple(f"{u.space}/{u.slug}" for u in hub.list_units(None, docs.set_where(slug, space)))


def check_label_patch(labels: Mapping[str, str | None] | None) -> None:
    """Check the values a label merge-patch sets (a None value removes its key)."""
    if labels:
        docs.check_labels({k: v for k, v in labels.items() if v is not None})


def set_paths_description(values: Mapping[str, Any]) -> str:
    """The change description of a bulk path setting that was given none."""
    return "set " + ", ".join(f"{p}={v}" for p, v in values.items())


class SetsByLabel:
    """Sets, the same on both hubs: a saved Filter labelled ``drifttui-set`` that selects
    the set's label (see :class:`SetInfo`). A hub gives ``get_filter``, ``create_filter``
    (with ``labels`` and ``display_name``) and ``_set_members_patch``."""

    get_filter: Callable[[str, str], Filter]
    create_filter: Callable[..., Filter]
    _set_members_patch: Callable[[str, str, Sequence[tuple[str, str]], bool], None]

    def _unit_filter(self, space: str, slug: str) -> Filter:
        """The saved filter ``space/slug``; a HubError when it selects no units."""
        f = self.get_filter(space, slug)
        if f.from_ != "Unit":
            raise HubError(
                f"filter {space}/{slug} selects {f.from_} entities, not units", status=400
            )
        return f

    def create_set(self, space: str, slug: str, description: str = "") -> SetInfo:
        docs.check_slug(slug, "set slug")
        self.create_filter(
            space,
            docs.set_filter_slug(slug),
            docs.set_where(slug, space),
            labels={docs.SET_MARK_LABEL: slug},
            display_name=description,
        )
        return set_info(slug, space, description)

    def add_to_set(self, space: str, set_slug: str, units: Sequence[tuple[str, str]]) -> None:
        self._set_members_patch(space, set_slug, units, True)

    def remove_from_set(self, space: str, set_slug: str, units: Sequence[tuple[str, str]]) -> None:
        self._set_members_patch(space, set_slug, units, False)
