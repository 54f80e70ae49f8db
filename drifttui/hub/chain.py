"""The environment chain on a hub: init, discovery, import, promote, rollback.

Plain functions over the :class:`~drifttui.hub.protocol.Hub` protocol, so the CLI, the TUI
and the engine share them. Plans are values (what would change, field by field) computed
before anything is written; ``execute_*`` writes them.

A chain with prefix ``P`` is the spaces ``P-base -> P-dev -> P-staging -> P-prod`` (each
environment's units are clones of the one before), ``P-filters`` (saved filters over the
drift records) and ``P-drift-records`` (one unit per drift item; sets group them). Spaces
carry labels so any drifttui finds the chain on the hub:

================================  ==========================================================
``drifttui.chain``                the prefix ``P``
``drifttui.role``                 ``base``, ``environment``, ``filters`` or ``drift-records``
``drifttui.environment``          the environment name (``base``, ``dev``, ...)
``drifttui.upstream``             the upstream space's slug (environments only)
``drifttui.production``           ``true`` on production environments
================================  ==========================================================
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drifttui.errors import ConflictError, HubError, InputError, NotFoundError
from drifttui.hub import documents as docs
from drifttui.hub.merge import MISSING, FieldChange, field_changes, three_way_merge
from drifttui.hub.protocol import Hub, Unit, UnitResult
from drifttui.hub.where import quote, where_and

DEFAULT_PREFIX = "drift-detector"
DEFAULT_ENVS = ("dev", "staging", "prod")
PRODUCTION_NAMES = frozenset({"prod", "production", "prd"})

CHAIN_LABEL = "drifttui.chain"
ROLE_LABEL = "drifttui.role"
ENV_LABEL = "drifttui.environment"
UPSTREAM_LABEL = "drifttui.upstream"
PRODUCTION_LABEL = "drifttui.production"

SETS: tuple[tuple[str, str], ...] = (
    ("critical-drifts", "Critical drift: security and compliance issues"),
    ("resource-drifts", "CPU and memory requests/limits changed"),
    ("replica-drifts", "Scaling deviations"),
    ("corrected-drifts", "Drift that was corrected"),
)

# (slug, description, where after the SpaceID scope)
FILTERS: tuple[tuple[str, str, str], ...] = (
    (
        "security-drift",
        "RBAC, security context and Secret changes",
        "Labels.status = 'open' AND Labels.category IN ('security', 'secret')",
    ),
    (
        "production-drift",
        "Open drift in production environments",
        "Labels.status = 'open' AND Labels.production = 'true'",
    ),
    (
        "auto-correctable",
        "Open drift that is safe to fix automatically",
        "Labels.status = 'open' AND Labels.auto-correctable = 'true'",
    ),
    (
        "manual-review",
        "Open drift that needs a person",
        "Labels.status = 'open' AND Labels.auto-correctable = 'false'",
    ),
)


def space_names(prefix: str, envs: Sequence[str] = DEFAULT_ENVS) -> dict[str, str]:
    """Role/environment -> space slug for a chain."""
    out = {"base": f"{prefix}-base"}
    out.update({e: f"{prefix}-{e}" for e in envs})
    out["filters"] = f"{prefix}-filters"
    out["drift-records"] = f"{prefix}-drift-records"
    return out


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True, slots=True)
class ChainEnvironment:
    """One space of an environment chain, base included (``is_base``)."""

    name: str
    space: str
    chain: str
    upstream: str | None = None  # upstream space slug
    production: bool = False
    is_base: bool = False


def discover_chain(hub: Hub, prefix: str | None = None) -> list[ChainEnvironment]:
    """The environment chains on the hub, base first then downstream order; only chain
    ``prefix`` when given. Spaces are found by their labels (see module doc)."""
    envs: list[ChainEnvironment] = []
    for sp in hub.list_spaces():
        lab = sp.labels
        chain = lab.get(CHAIN_LABEL)
        role = lab.get(ROLE_LABEL, "environment" if lab.get(ENV_LABEL) else "")
        if not chain or role not in ("base", "environment"):
            continue
        if prefix is not None and chain != prefix:
            continue
        envs.append(
            ChainEnvironment(
                name=lab.get(ENV_LABEL) or sp.slug,
                space=sp.slug,
                chain=chain,
                upstream=lab.get(UPSTREAM_LABEL) or None,
                production=lab.get(PRODUCTION_LABEL) == "true",
                is_base=role == "base",
            )
        )
    return _order(envs)


def _order(envs: list[ChainEnvironment]) -> list[ChainEnvironment]:
    out: list[ChainEnvironment] = []
    for chain in sorted({e.chain for e in envs}):
        members = [e for e in envs if e.chain == chain]
        by_upstream: dict[str | None, list[ChainEnvironment]] = {}
        for e in members:
            by_upstream.setdefault(e.upstream, []).append(e)
        spaces = {e.space for e in members}
        roots = [e for e in members if e.is_base or e.upstream not in spaces]
        roots.sort(key=lambda e: (not e.is_base, e.space))
        seen: set[str] = set()
        queue = list(roots)
        while queue:
            e = queue.pop(0)
            if e.space in seen:
                continue
            seen.add(e.space)
            out.append(e)
            queue.extend(sorted(by_upstream.get(e.space, []), key=lambda x: x.space))
    return out


def resolve_space(
    hub: Hub, name: str, environments: Iterable[Any] = (), prefix: str | None = None
) -> str:
    """A space slug from what a person typed: a space slug, a configured environment name
    (objects with ``name`` and ``space``), or an environment name in a chain on the hub."""
    for env in environments:
        if getattr(env, "name", None) == name and getattr(env, "space", None):
            return str(env.space)
    try:
        return hub.get_space(name).slug
    except NotFoundError:
        pass
    except HubError as exc:
        if exc.status != 400:
            raise
    matches = [e for e in discover_chain(hub, prefix) if e.name == name]
    if len(matches) == 1:
        return matches[0].space
    if len(matches) > 1:
        raise InputError(
            f"environment {name!r} is in several chains ({', '.join(m.space for m in matches)})",
            None,
            "give the space slug instead",
        )
    raise NotFoundError(
        f"no space or environment named {name!r}",
        None,
        "list spaces with: drifttui hub spaces (or create the chain with drifttui init)",
    )


# --------------------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class ImportResult:
    slug: str
    action: str  # created, updated, unchanged
    revision: int
    key: str  # Kind/namespace/name


_SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def clean_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest without what the API server adds (status, uid, resourceVersion,
    managedFields, last-applied), so ``kubectl get -o yaml`` output imports as desired
    state."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(out.get("metadata") or {})
    for f in _SERVER_FIELDS:
        meta.pop(f, None)
    meta.pop("selfLink", None)
    ann = dict(meta.get("annotations") or {})
    if _LAST_APPLIED in ann:
        ann.pop(_LAST_APPLIED)
        if ann:
            meta["annotations"] = ann
        else:
            meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def read_manifest_files(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Kubernetes objects from YAML files (multi-document; ``kind: List`` expanded;
    directories read ``*.yaml``/``*.yml``). A clear InputError names the file on any
    problem."""
    import yaml

    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    objects: list[dict[str, Any]] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("file not found", str(f)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the file ({exc})", str(f)) from None
        try:
            found = [d for d in docs.load_yaml_all(text) if d is not None]
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise InputError(f"not valid YAML: {problem}", f"{f}{at}") from None
        for i, d in enumerate(found):
            items = d.get("items") if isinstance(d, dict) and d.get("kind") == "List" else [d]
            for item in items or []:
                try:
                    docs.check_object(item, f"{f} (document {i + 1})")
                except HubError as exc:
                    raise InputError(exc.what, exc.where, exc.hint) from None
                objects.append(clean_object(item))
    if not objects:
        raise InputError("no Kubernetes objects found", ", ".join(str(p) for p in paths))
    return objects


def import_objects(
    hub: Hub,
    space: str,
    objects: Sequence[Mapping[str, Any]],
    description: str = "",
    *,
    extra_labels: Mapping[str, str] | None = None,
) -> list[ImportResult]:
    """One unit per object: a new unit, or a new revision of the object's existing unit
    (found by identity labels or by its data), or nothing when unchanged."""
    from drifttui.core.models import ResourceKey

    existing = {u.slug: u for u in hub.list_units(space, with_data=True)}
    taken: dict[str, Mapping[str, str]] = {}
    for slug, u in existing.items():
        labels = dict(u.labels)
        if docs.KIND_LABEL not in labels and u.data:
            try:
                labels.update(docs.identity_labels(docs.parse_manifest(u.data)))
            except HubError:
                pass
        taken[slug] = labels
    results: list[ImportResult] = []
    for obj in objects:
        key = ResourceKey.of(obj)
        slug = docs.unit_slug_for(obj, taken)
        data = docs.dump_yaml(dict(obj))
        labels = {**docs.identity_labels(obj), **(extra_labels or {})}
        desc = description or f"Import {key}"
        if slug in existing:
            before = existing[slug]
            unit = hub.update_unit_data(space, slug, data, desc, if_match=before.data_hash)
            missing = {k: v for k, v in labels.items() if before.labels.get(k) != v}
            if missing:
                hub.update_unit_labels(space, slug, missing)
            action = "updated" if unit.head_revision > before.head_revision else "unchanged"
        else:
            unit = hub.create_unit(space, slug, data, labels=labels, description=desc)
            action = "created"
        existing[slug] = unit
        taken[slug] = labels
        results.append(ImportResult(slug, action, unit.head_revision, str(key)))
    return results


# --------------------------------------------------------------------------- init


@dataclass
class InitReport:
    prefix: str
    spaces: dict[str, str] = field(default_factory=dict)  # role/env -> slug
    actions: list[str] = field(default_factory=list)  # what was created or changed

    @property
    def changed(self) -> bool:
        return bool(self.actions)


def _ensure_space(hub: Hub, slug: str, labels: Mapping[str, str], report: InitReport) -> None:
    try:
        sp = hub.get_space(slug)
    except NotFoundError:
        try:
            hub.create_space(slug, labels)
            report.actions.append(f"created space {slug}")
            return
        except ConflictError:  # made meanwhile by another process
            sp = hub.get_space(slug)
    missing = {k: v for k, v in labels.items() if sp.labels.get(k) != v}
    if missing:
        update = getattr(hub, "update_space_labels", None)
        if update is None:
            raise HubError(f"space {slug} lacks the chain labels", slug, status=400)
        update(slug, missing)
        report.actions.append(f"labelled space {slug}")


def init_chain(
    hub: Hub,
    prefix: str = DEFAULT_PREFIX,
    envs: Sequence[str] = DEFAULT_ENVS,
    *,
    base_objects: Sequence[Mapping[str, Any]] | None = None,
) -> InitReport:
    """Create (or complete) the chain; running it again changes nothing."""
    from drifttui.manifests import detector_objects, extra_labels

    docs.check_slug(prefix, "prefix")  # named as typed, not as the longest space's slug
    docs.check_slug(f"{prefix}-drift-records", "prefix")  # still short enough
    envs = [e.strip() for e in envs if e.strip()]
    if not envs:
        raise InputError("no environments given", "--envs", "e.g. --envs dev,staging,prod")
    if len(set(envs)) != len(envs) or {"base", "filters", "drift-records"} & set(envs):
        raise InputError(
            "environment names must be distinct and not base, filters or drift-records",
            "--envs",
        )
    for e in envs:
        docs.check_slug(e, "environment name")
        docs.check_slug(f"{prefix}-{e}", "environment name")
    names = space_names(prefix, envs)
    report = InitReport(prefix, names)
    chain = {CHAIN_LABEL: prefix}
    _ensure_space(hub, names["base"], {**chain, ROLE_LABEL: "base", ENV_LABEL: "base"}, report)
    upstream = names["base"]
    for e in envs:
        labels = {**chain, ROLE_LABEL: "environment", ENV_LABEL: e, UPSTREAM_LABEL: upstream}
        if e in PRODUCTION_NAMES:
            labels[PRODUCTION_LABEL] = "true"
        _ensure_space(hub, names[e], labels, report)
        upstream = names[e]
    _ensure_space(hub, names["filters"], {**chain, ROLE_LABEL: "filters"}, report)
    _ensure_space(hub, names["drift-records"], {**chain, ROLE_LABEL: "drift-records"}, report)

    # the detector's own units in base
    objects = list(base_objects) if base_objects is not None else detector_objects()
    for obj in objects:
        res = import_objects(
            hub,
            names["base"],
            [obj],
            "drifttui init: detector base unit",
            extra_labels=extra_labels(dict(obj)),
        )
        for r in res:
            if r.action != "unchanged":
                report.actions.append(f"{r.action} unit {names['base']}/{r.slug}")

    # each environment's units are clones of its upstream's
    upstream = names["base"]
    for e in envs:
        have = {u.upstream_unit_id for u in hub.list_units(names[e])}
        slugs = {u.slug for u in hub.list_units(names[e])}
        for u in hub.list_units(upstream):
            if u.id in have:
                continue
            if u.slug in slugs:
                report.actions.append(
                    f"kept {names[e]}/{u.slug} (not a clone of {upstream}/{u.slug})"
                )
                continue
            try:
                hub.clone_unit(upstream, u.slug, names[e])
                report.actions.append(f"cloned {upstream}/{u.slug} into {names[e]}")
            except ConflictError:
                pass
        upstream = names[e]

    records = names["drift-records"]
    have_sets = {s.slug for s in hub.list_sets(records)}
    for slug, desc in SETS:
        if slug not in have_sets:
            try:
                hub.create_set(records, slug, desc)
                report.actions.append(f"created set {records}/{slug}")
            except ConflictError:
                pass
    have_filters = {f.slug for f in hub.list_filters(names["filters"])}
    for slug, _desc, where in FILTERS:
        if slug in have_filters:
            continue
        try:
            hub.create_filter(
                names["filters"], slug, where_and(f"Space.Slug = {quote(records)}", where)
            )
            report.actions.append(f"created filter {names['filters']}/{slug}")
        except ConflictError:
            pass
    return report


# --------------------------------------------------------------------------- promote


@dataclass(frozen=True, slots=True)
class PlannedUnit:
    action: str  # clone, upgrade, up-to-date, skip
    unit: str  # slug in the source space
    target: str  # slug in the target space
    changes: tuple[FieldChange, ...] = ()
    conflicts: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PromotionPlan:
    source: str
    target: str
    units: tuple[PlannedUnit, ...]

    @property
    def writes(self) -> tuple[PlannedUnit, ...]:
        return tuple(u for u in self.units if u.action in ("clone", "upgrade"))

    @property
    def skipped(self) -> tuple[PlannedUnit, ...]:
        return tuple(u for u in self.units if u.action == "skip")


@dataclass(frozen=True, slots=True)
class PromotionResult:
    plan: PromotionPlan
    results: tuple[UnitResult, ...]
    changeset_id: str | None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def plan_promotion(hub: Hub, source: str, target: str, unit: str | None = None) -> PromotionPlan:
    """What ``promote source target`` would do: clone the units ``target`` lacks, upgrade
    the clones whose upstream moved (with the fields that would change and the local paths
    that would be kept), and skip a same-named unit that is not a clone of the source's:
    it is reported, never re-linked (ConfigHub changes upstream links only by cloning)."""
    if source == target:
        raise InputError("source and target are the same space", source)
    src_units = hub.list_units(source)
    if unit is not None:
        src_units = [u for u in src_units if u.slug == unit]
        if not src_units:
            raise NotFoundError(f"no unit {unit!r} in space {source!r}")
    tgt_units = hub.list_units(target)
    by_upstream = {u.upstream_unit_id: u for u in tgt_units if u.upstream_unit_id}
    by_slug = {u.slug: u for u in tgt_units}
    planned: list[PlannedUnit] = []
    for su in src_units:
        tu = by_upstream.get(su.id)
        if tu is None:
            other = by_slug.get(su.slug)
            if other is not None:
                if _is_upstream_of(hub, other, su):
                    # prod -> dev: every unit would be skipped and the run end "nothing to
                    # promote", exit 0, as if there were nothing to do
                    raise InputError(
                        f"{target}/{other.slug} is upstream of {source}/{su.slug}: promotion "
                        "goes downstream only",
                        f"promote {source} -> {target}",
                        f"did you mean: drifttui promote {target} {source}",
                    )
                why = (
                    "it is a local unit, not a clone"
                    if not other.upstream_unit_id
                    else "it is a clone of another unit, not"
                )
                planned.append(
                    PlannedUnit(
                        "skip",
                        su.slug,
                        other.slug,
                        reason=f"{target}/{other.slug} exists and {why} of {source}/{su.slug}; "
                        "delete it or promote to another name",
                    )
                )
                continue
            new = docs.load_yaml(hub.get_unit_data(source, su.slug))
            planned.append(PlannedUnit("clone", su.slug, su.slug, tuple(field_changes({}, new))))
            continue
        if tu.upstream_revision >= su.head_revision:
            planned.append(PlannedUnit("up-to-date", su.slug, tu.slug))
            continue
        base = docs.load_yaml(hub.get_unit_data(source, su.slug, tu.upstream_revision))
        theirs = docs.load_yaml(hub.get_unit_data(source, su.slug))
        ours = docs.load_yaml(hub.get_unit_data(target, tu.slug))
        merged = three_way_merge(base, theirs, ours)
        planned.append(
            PlannedUnit(
                "upgrade",
                su.slug,
                tu.slug,
                tuple(field_changes(ours, merged.document)),
                merged.conflicts,
            )
        )
    return PromotionPlan(source, target, tuple(planned))


def _is_upstream_of(hub: Hub, ancestor: Unit, unit: Unit, max_depth: int = 16) -> bool:
    """Whether ``unit`` descends from ``ancestor`` through clones (any number of steps)."""
    frontier = [ancestor]
    seen = {ancestor.id}
    for _ in range(max_depth):
        following: list[Unit] = []
        for u in frontier:
            for d in hub.list_downstream(u.space, u.slug):
                if d.id == unit.id:
                    return True
                if d.id not in seen:
                    seen.add(d.id)
                    following.append(d)
        if not following:
            return False
        frontier = following
    return False


def execute_promotion(
    hub: Hub, plan: PromotionPlan, description: str = "", *, unit: str | None = None
) -> PromotionResult:
    """Clone the new units, then push-upgrade the rest in one bulk call, grouped in one
    changeset."""
    if not plan.writes:
        return PromotionResult(plan, (), None)
    desc = description or f"Promote {plan.source} -> {plan.target}"
    cs = hub.create_changeset(plan.target, f"promote-{uuid.uuid4().hex[:10]}", desc)
    results: list[UnitResult] = []
    for p in plan.units:
        if p.action != "clone":
            continue
        try:
            u = hub.clone_unit(plan.source, p.unit, plan.target, p.target)
            results.append(UnitResult(plan.target, u.slug, True, None, u.head_revision))
        except HubError as exc:
            results.append(UnitResult(plan.target, p.target, False, exc.line()))
    if any(p.action == "upgrade" for p in plan.units):
        src = hub.get_space(plan.source)
        where = where_and(
            f"UpstreamSpaceID = {quote(src.id)}",
            "Unit.UpstreamRevisionNum < UpstreamUnit.HeadRevisionNum",
            f"UpstreamUnit.Slug = {quote(unit)}" if unit else None,
        )
        bulk = hub.bulk_patch(
            where, space=plan.target, upgrade=True, description=desc, changeset_id=cs.id
        )
        results.extend(bulk.results)
    return PromotionResult(plan, tuple(results), cs.id)


# --------------------------------------------------------------------------- rollback


@dataclass(frozen=True, slots=True)
class RollbackPlan:
    space: str
    unit: str
    head: int
    revision: int
    changes: tuple[FieldChange, ...]


def plan_rollback(hub: Hub, space: str, unit: str, revision: int | None = None) -> RollbackPlan:
    """Restore ``revision`` (default: the previous revision holding data) as a new head."""
    u = hub.get_unit(space, unit)
    revs = hub.list_revisions(space, unit)
    nums = {r.num for r in revs}
    if revision is None:
        candidates = [r for r in revs if r.num < u.head_revision and r.data_hash != u.data_hash]
        candidates = [r for r in candidates if r.data_hash != docs.data_hash("")]
        if not candidates:
            raise InputError(
                f"unit {space}/{unit} has no earlier revision to roll back to",
                None,
                "it has only its first revision",
            )
        revision = max(candidates, key=lambda r: r.num).num
    elif revision not in nums:
        raise NotFoundError(
            f"unit {space}/{unit} has no revision {revision} (revisions 1..{u.head_revision})"
        )
    old = docs.load_yaml(hub.get_unit_data(space, unit, revision))
    now = docs.load_yaml(u.data if u.data else hub.get_unit_data(space, unit))
    return RollbackPlan(space, unit, u.head_revision, revision, tuple(field_changes(now, old)))


def execute_rollback(hub: Hub, plan: RollbackPlan, description: str = "") -> Unit:
    return hub.restore_revision(
        plan.space,
        plan.unit,
        plan.revision,
        description or f"Roll back to revision {plan.revision}",
    )


def describe_change(c: FieldChange, width: int = 60) -> str:
    """``spec.replicas: 3 -> 5`` (``+``/``-`` for added/removed paths)."""

    def show(v: Any) -> str:
        import json

        s = json.dumps(v, default=str) if not isinstance(v, str) else v
        return s if len(s) <= width else s[: width - 1] + "…"

    if c.old is MISSING:
        return f"+ {c.path}: {show(c.new)}"
    if c.new is MISSING:
        return f"- {c.path}: {show(c.old)}"
    return f"~ {c.path}: {show(c.old)} -> {show(c.new)}"
