"""Blocking reads of the hub the TUI needs, run in thread workers (never on the UI thread):
the environment chain and its units, saved filters and sets turned into row selectors,
the diff of a unit to one of its revisions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from drifttui.core.models import DriftItem, ResourceKey
from drifttui.errors import DrifttuiError, InputError, NotFoundError
from drifttui.hub import documents as docs
from drifttui.hub.where import AttrRef, evaluate, parse_where
from drifttui.tui.model import RowSelector
from drifttui.tui.services import AppServices
from drifttui.tui.widgets.env_tree import ChainSpace


def load_chain(
    services: AppServices,
) -> tuple[list[ChainSpace], dict[str, list[tuple[str, int]]]]:
    """The chain (base first when there is one) and every unit of each space."""
    from drifttui.hub.chain import discover_chain

    hub = services.hub
    envs = services.environments
    by_space = {e.space: e for e in envs}
    spaces: list[ChainSpace] = []
    prefix = services.chain_prefix
    chain = []
    if prefix is not None:
        try:
            chain = discover_chain(hub, prefix)
        except DrifttuiError:
            chain = []
    if chain:
        name_of = {c.space: c for c in chain}
        for c in chain:
            env = by_space.get(c.space)
            upstream = c.upstream if c.upstream in name_of else None
            spaces.append(
                ChainSpace(
                    name=env.name if env else c.name,
                    space=c.space,
                    environment=env.name if env else None,
                    upstream=upstream,
                    accent=env.accent if env else None,
                )
            )
        known = {s.space for s in spaces}
        spaces += [
            ChainSpace(e.name, e.space, e.name, None, e.accent)
            for e in envs
            if e.space not in known
        ]
    else:
        env_spaces = {e.name: e.space for e in envs}
        for e in envs:
            upstream = env_spaces.get(e.upstream or "")
            spaces.append(ChainSpace(e.name, e.space, e.name, upstream, e.accent))
    units: dict[str, list[tuple[str, int]]] = {}
    for s in spaces:
        try:
            units[s.space] = [(u.slug, u.head_revision) for u in hub.list_units(s.space)]
        except DrifttuiError:
            units[s.space] = []
    return spaces, units


def _filters_space(services: AppServices) -> str:
    prefix = services.chain_prefix
    if prefix is None or services.records is None:
        raise InputError(
            "this hub has no drift-records space, so no saved filters or sets",
            "filter",
            "create the chain with: drifttui init",
        )
    return f"{prefix}-filters"


def _labeller(services: AppServices) -> Callable[[DriftItem], Mapping[str, str]]:
    """Labels the drift record of an item carries (as ``hub/records.py`` writes them)."""
    records = services.records
    assert records is not None
    cache: dict[tuple[str, ResourceKey], tuple[DriftItem, dict[str, str]]] = {}
    records.production_environments()  # the one hub read: now, in the worker, not on the UI

    def labels(item: DriftItem) -> Mapping[str, str]:
        ik = (item.environment, item.key)
        hit = cache.get(ik)
        if hit is not None and hit[0] is item:
            return hit[1]
        out = records.labels_for(item)
        cache[ik] = (item, out)
        return out

    return labels


def filter_selector(services: AppServices, slug: str) -> RowSelector:
    """Keep what the saved filter ``slug`` (in ``P-filters``) selects among drift records,
    evaluated on the labels each item's record carries."""
    from drifttui.hub.records import record_slug

    space = _filters_space(services)
    hub = services.hub
    try:
        f = hub.get_filter(space, slug)
    except NotFoundError:
        known = ", ".join(sorted(x.slug for x in hub.list_filters(space))) or "none"
        raise InputError(f"no filter {slug!r} in {space}", ":filter", f"known: {known}") from None
    where = parse_where(f.where, f.from_)
    labels_of = _labeller(services)
    records_space = services.records.space if services.records else ""

    def selector(item: DriftItem) -> bool:
        labels = labels_of(item)

        def lookup(ref: AttrRef) -> Any:
            if ref.relation is None:
                if ref.name == "Labels":
                    return labels
                if ref.name == "Slug":
                    return record_slug(item.environment, item.key)
                return None
            if ref.relation == "Space" and ref.name == "Slug":
                return records_space
            return None

        return item.is_drifted and evaluate(where, lookup)

    return selector


def set_selector(services: AppServices, slug: str) -> RowSelector:
    """Keep the items whose drift record belongs to set ``slug``."""
    _filters_space(services)
    assert services.records is not None
    space = services.records.space
    sets = {s.slug for s in services.hub.list_sets(space)}
    if slug not in sets:
        known = ", ".join(sorted(sets)) or "none"
        raise InputError(f"no set {slug!r} in {space}", ":set", f"known: {known}")
    label, value = docs.set_label(slug, space)
    labels_of = _labeller(services)

    def selector(item: DriftItem) -> bool:
        return item.is_drifted and labels_of(item).get(label) == value

    return selector


def revision_diff(services: AppServices, space: str, unit: str, revision: int) -> list[str]:
    """Unified-diff lines (no headers) from the unit's head data to ``revision``'s; Secret
    units show a count only, credential values elsewhere ``***`` (see unit_diff_lines)."""
    from drifttui.remediation import unit_diff_lines

    hub = services.hub
    current = hub.get_unit_data(space, unit)
    old = hub.get_unit_data(space, unit, revision)
    return list(unit_diff_lines(current, old, context=1))
