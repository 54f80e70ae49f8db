"""Remediation, shared by every face: plan -> preview -> execute -> record.

Actions:

- ``patch-live``: put the cluster back to desired on the drifted fields (JSON patch with
  field manager ``drifttui``; a missing object is re-created by server-side apply).
- ``accept``: write the live values into the unit as a new revision (optionally upgrading
  downstream units), so ConfigHub follows the cluster.
- ``promote``: carry the unit to the next environment (upgrade its downstream clone, or
  clone it there).
- ``rollback``: restore an earlier revision of the unit as a new revision, then re-apply it.

A :class:`Plan` is pure data: what will happen, the lines a person reviews (Secret values
masked), whether it touches production (then the operator types the resource name).
:meth:`Remediator.preview` runs the server dry-run where the API has one;
:meth:`Remediator.execute` writes, logs and records (drift record closed as corrected or
accepted). Read-only environments refuse every write with one clear line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from drifttui.cluster.protocol import CorrectionResult
from drifttui.core.accept import accept_live
from drifttui.core.correct import CorrectionPlan, plan_fix
from drifttui.core.describe import short_value
from drifttui.core.models import MASK, Change, DriftItem, Environment, ResourceKey
from drifttui.engine import Engine
from drifttui.errors import DrifttuiError, HubError

log = logging.getLogger(__name__)

PATCH_LIVE = "patch-live"
ACCEPT = "accept"
PROMOTE = "promote"
ROLLBACK = "rollback"


class ReadOnlyError(DrifttuiError):
    """A write was asked for in a read-only environment."""


@dataclass(frozen=True, slots=True)
class Plan:
    action: str
    environment: str
    title: str
    lines: tuple[str, ...]
    key: ResourceKey | None = None
    unit: str | None = None
    space: str | None = None
    production: bool = False
    confirm_name: str | None = None  # what to type to confirm in production
    correction: CorrectionPlan | None = None
    new_data: str | None = None
    revision: int | None = None
    target_space: str | None = None
    finding_ids: tuple[str, ...] = ()
    noop: bool = False

    @property
    def needs_typed_confirmation(self) -> bool:
        return self.production and self.confirm_name is not None


@dataclass(frozen=True, slots=True)
class Outcome:
    plan: Plan
    ok: bool
    dry_run: bool
    message: str
    details: tuple[str, ...] = ()
    revision: int | None = None
    result: dict[str, Any] | None = field(default=None, repr=False)


def _dump_yaml(obj: dict[str, Any]) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(obj, Dumper=dumper, sort_keys=False, default_flow_style=False))


def finding_lines(item: DriftItem, *, direction: str) -> tuple[str, ...]:
    """``spec.replicas: 5 -> 3`` per counted finding (live -> desired for a patch, desired ->
    live for an accept); Secret values stay masked."""
    out = []
    for f in item.counted:
        live = MASK if f.category.value == "secret" else short_value(f.live)
        desired = MASK if f.category.value == "secret" else short_value(f.desired)
        if f.change is Change.MISSING:
            out.append(f"{item.key}: re-create from the unit")
            continue
        if direction == "to-desired":
            if f.change is Change.ADDED:
                out.append(f"{f.path_str}: remove {live}")
            else:
                out.append(f"{f.path_str}: {live} -> {desired}")
        else:
            if f.change is Change.REMOVED:
                out.append(f"{f.path_str}: remove {desired} from the unit")
            else:
                out.append(f"{f.path_str}: {desired} -> {live}")
    return tuple(out)


class Remediator:
    """Plans and runs writes for an :class:`Engine`. ``records`` (optional) is the hub's
    drift-record store; ``on_fixed`` is told of every successful write (metrics)."""

    def __init__(
        self,
        engine: Engine,
        *,
        records: Any | None = None,
        actor: str = "drifttui",
        read_only: bool = False,
        on_fixed: Callable[[Outcome, str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.records = records
        self.actor = actor
        self.read_only = read_only
        self.on_fixed = on_fixed

    # ----------------------------------------------------------------- guards

    def _env(self, name: str) -> Environment:
        return self.engine.state(name).env

    def check_writable(self, env: str) -> None:
        e = self._env(env)
        if self.read_only or e.read_only:
            raise ReadOnlyError(
                "read-only: writes are disabled",
                f"environment {env}",
                "start without --readonly (or set read-only: false) to fix drift",
            )

    def _item(self, env: str, key: ResourceKey) -> DriftItem:
        item = self.engine.store.get(env, key)
        if item is None:
            raise DrifttuiError(f"no drift item for {key}", f"environment {env}")
        return item

    def _base(
        self, env: str, item: DriftItem, action: str, title: str, lines: tuple[str, ...]
    ) -> Plan:
        e = self._env(env)
        return Plan(
            action=action,
            environment=env,
            title=title,
            lines=lines,
            key=item.key,
            unit=item.unit,
            space=item.space or e.space,
            production=e.production,
            confirm_name=item.key.name if e.production else None,
            finding_ids=tuple(f.id for f in item.counted),
        )

    # ----------------------------------------------------------------- planning

    def plan_patch(self, env: str, key: ResourceKey) -> Plan:
        item = self._item(env, key)
        desired = self.engine.desired_object(env, key)
        live = self.engine.live_object(env, key)
        correction = plan_fix(desired, live, item)
        lines = finding_lines(item, direction="to-desired")
        for path, reason in correction.skipped:
            lines += (f"{path or item.key}: left alone ({reason})",)
        title = (
            f"Re-create {item.key} in {env} from unit {item.unit or '?'}"
            if correction.action == "apply"
            else f"Patch {item.key} in {env} back to desired"
        )
        plan = self._base(env, item, PATCH_LIVE, title, lines)
        return replace(plan, correction=correction, noop=correction.action == "none")

    def plan_accept(self, env: str, key: ResourceKey) -> Plan:
        item = self._item(env, key)
        desired = self.engine.desired_object(env, key)
        live = self.engine.live_object(env, key)
        if desired is None or live is None or item.unit is None:
            raise DrifttuiError(
                "nothing to accept: the object is missing from the cluster or has no unit",
                str(key),
                "patch it back instead (p)",
            )
        new = accept_live(desired, live, item)
        lines = finding_lines(item, direction="to-live")
        plan = self._base(
            env, item, ACCEPT, f"Accept live {item.key} into unit {item.space}/{item.unit}", lines
        )
        return replace(plan, new_data=_dump_yaml(new), noop=not item.counted)

    def plan_rollback(self, env: str, unit: str, revision: int | None = None) -> Plan:
        e = self._env(env)
        revisions = self.engine.hub.list_revisions(e.space, unit)
        if not revisions:
            raise DrifttuiError("unit has no revisions", f"{e.space}/{unit}")
        head = max(r.num for r in revisions)
        target = (
            revision
            if revision is not None
            else max((r.num for r in revisions if r.num < head), default=None)
        )
        if target is None:
            raise DrifttuiError("no earlier revision to roll back to", f"{e.space}/{unit}")
        if target not in {r.num for r in revisions}:
            raise DrifttuiError(
                f"no revision {target}", f"{e.space}/{unit}", f"revisions are 1..{head}"
            )
        old = self.engine.hub.get_unit_data(e.space, unit, target)
        cur = self.engine.hub.get_unit_data(e.space, unit)
        lines = unit_diff_lines(cur, old)
        return Plan(
            action=ROLLBACK,
            environment=env,
            title=f"Roll back {e.space}/{unit} to revision {target} (head is {head})",
            lines=lines or ("(no change in data)",),
            unit=unit,
            space=e.space,
            production=e.production,
            confirm_name=unit if e.production else None,
            new_data=old,
            revision=target,
            noop=not lines,
        )

    def next_environment(self, env: str) -> Environment | None:
        """The environment promotions from ``env`` go to (its downstream)."""
        for st in self.engine.states.values():
            if st.env.upstream == env:
                return st.env
        return None

    def plan_promote(self, env: str, key: ResourceKey) -> Plan:
        """Carry the unit declaring ``key`` from ``env`` to the next environment: upgrade its
        downstream clone (local customisations kept) or clone it there."""
        from drifttui.hub.chain import describe_change, plan_promotion

        item = self.engine.store.get(env, key)
        units = self.engine.state(env).units
        unit = item.unit if item and item.unit else units.get(key)
        if unit is None:
            raise DrifttuiError(f"no unit declares {key}", f"environment {env}")
        target = self.next_environment(env)
        if target is None:
            raise DrifttuiError(
                f"nothing downstream of {env}",
                f"{self._env(env).space}/{unit}",
                "promote goes base -> dev -> staging -> prod; prod is the end of the chain",
            )
        source_space = self._env(env).space
        promotion = plan_promotion(self.engine.hub, source_space, target.space, unit)
        secret = key.kind == "Secret"
        lines: list[str] = []
        for pu in promotion.units:
            if pu.action == "clone":
                lines.append(f"{pu.target}: clone into {target.space}")
            elif pu.action == "upgrade":
                for c in pu.changes:
                    lines.append(
                        f"{pu.target}: {c.path} changes (value hidden)"
                        if secret
                        else f"{pu.target}: {describe_change(c)}"
                    )
                for path in pu.conflicts:
                    lines.append(f"{pu.target}: {path} kept (local customisation in {target.name})")
            elif pu.action == "skip":
                lines.append(f"{pu.target}: skipped ({pu.reason})")
            else:
                lines.append(f"{pu.target}: already up to date")
        return Plan(
            action=PROMOTE,
            environment=target.name,
            title=f"Promote {unit} from {env} ({source_space}) to {target.name} ({target.space})",
            lines=tuple(lines) or ("(nothing to promote)",),
            key=key,
            unit=unit,
            space=source_space,
            production=target.production,
            confirm_name=unit if target.production else None,
            target_space=target.space,
            noop=not promotion.writes,
        )

    # ----------------------------------------------------------------- preview and execute

    def preview(self, plan: Plan) -> Outcome:
        """Dry-run: the server's answer for cluster writes; the plan's lines for hub writes."""
        if plan.action == PATCH_LIVE and plan.correction and plan.key:
            res = self._run_correction(plan, dry_run=True)
            details = plan.lines
            if not res.ok:
                return Outcome(plan, False, True, f"dry-run refused: {res.error}", details)
            return Outcome(
                plan, True, True, "server dry-run accepted the change", details, result=res.result
            )
        return Outcome(plan, True, True, plan.title, plan.lines)

    def execute(self, plan: Plan, *, mode: str = "manual") -> Outcome:
        self.check_writable(plan.environment)
        if plan.noop:
            return Outcome(plan, True, False, "nothing to do")
        try:
            if plan.action == PATCH_LIVE:
                outcome = self._execute_patch(plan)
            elif plan.action == ACCEPT:
                outcome = self._execute_accept(plan)
            elif plan.action == ROLLBACK:
                outcome = self._execute_rollback(plan)
            elif plan.action == PROMOTE:
                outcome = self._execute_promote(plan)
            else:
                raise DrifttuiError(f"unknown action {plan.action}")
        except DrifttuiError as exc:
            log.error("fix failed: %s: %s", plan.title, exc)
            return Outcome(plan, False, False, str(exc))
        if outcome.ok:
            log.info("✅ Fixed: %s", plan.title)
            if self.on_fixed is not None:
                self.on_fixed(outcome, mode)
        else:
            log.error("❌ Fix failed: %s: %s", plan.title, outcome.message)
        return outcome

    def _run_correction(self, plan: Plan, *, dry_run: bool) -> CorrectionResult:
        assert plan.correction is not None
        assert plan.key is not None
        cluster = self.engine.clusters[plan.environment]
        c = plan.correction
        if c.action == "apply" and c.manifest is not None:
            return cluster.apply(dict(c.manifest), dry_run=dry_run)
        return cluster.patch(
            c.api_version,
            plan.key.kind,
            plan.key.namespace,
            plan.key.name,
            c.ops,
            dry_run=dry_run,
        )

    def _execute_patch(self, plan: Plan) -> Outcome:
        res = self._run_correction(plan, dry_run=False)
        if not res.ok:
            status = f" ({res.status})" if res.status else ""
            return Outcome(plan, False, False, f"cluster refused{status}: {res.error}")
        assert plan.key is not None
        self.engine.refresh_live(plan.environment, plan.key)
        self._close_record(plan, "corrected", f"patched live back to desired by {self.actor}")
        return Outcome(plan, True, False, "patched", plan.lines, result=res.result)

    def _execute_accept(self, plan: Plan) -> Outcome:
        assert plan.space
        assert plan.unit
        assert plan.new_data is not None
        assert plan.key
        description = f"Accept live values from the cluster ({plan.environment}): " + "; ".join(
            plan.lines[:3]
        )
        unit = self.engine.hub.update_unit_data(
            plan.space, plan.unit, plan.new_data, description[:500]
        )
        self.engine.load_desired(plan.environment, cause="fix")
        self._close_record(plan, "accepted", f"live values accepted into {plan.space}/{plan.unit}")
        return Outcome(
            plan,
            True,
            False,
            f"unit {plan.unit} at revision {unit.head_revision}",
            plan.lines,
            revision=unit.head_revision,
        )

    def _execute_rollback(self, plan: Plan) -> Outcome:
        assert plan.space
        assert plan.unit
        assert plan.revision is not None
        unit = self.engine.hub.restore_revision(
            plan.space,
            plan.unit,
            plan.revision,
            f"Roll back to revision {plan.revision} (drifttui)",
        )
        self.engine.load_desired(plan.environment, cause="fix")
        details = list(plan.lines)
        key = next(
            (
                k
                for k, slug in self.engine.state(plan.environment).units.items()
                if slug == plan.unit
            ),
            None,
        )
        if key is not None:
            item = self.engine.store.get(plan.environment, key)
            if item is not None and item.is_drifted and not (self.read_only):
                patch = self.plan_patch(plan.environment, key)
                if not patch.noop:
                    res = self._run_correction(patch, dry_run=False)
                    details.append(
                        "re-applied to the cluster" if res.ok else f"re-apply failed: {res.error}"
                    )
                    self.engine.refresh_live(plan.environment, key)
        return Outcome(
            plan,
            True,
            False,
            f"{plan.unit} restored to revision {plan.revision} as revision {unit.head_revision}",
            tuple(details),
            revision=unit.head_revision,
        )

    def _execute_promote(self, plan: Plan) -> Outcome:
        from drifttui.hub.chain import execute_promotion, plan_promotion

        assert plan.space
        assert plan.target_space
        assert plan.unit
        promotion = plan_promotion(self.engine.hub, plan.space, plan.target_space, plan.unit)
        result = execute_promotion(
            self.engine.hub,
            promotion,
            f"Promote {plan.unit}: {plan.space} -> {plan.target_space} (drifttui)",
            unit=plan.unit,
        )
        failed = [r for r in result.results if not r.ok]
        if plan.environment in self.engine.states:
            self.engine.load_desired(plan.environment, cause="fix")
        if failed:
            return Outcome(plan, False, False, "; ".join(f"{r.unit}: {r.error}" for r in failed))
        revs = [r.revision for r in result.results if r.revision]
        return Outcome(
            plan,
            True,
            False,
            f"promoted {plan.unit} to {plan.target_space}",
            plan.lines,
            revision=revs[0] if revs else None,
        )

    def _close_record(self, plan: Plan, status: str, note: str) -> None:
        if self.records is None or plan.key is None:
            return
        try:
            self.records.close(plan.environment, plan.key, status, note)
        except HubError as exc:
            log.warning("drift record not updated: %s", exc)

    # ----------------------------------------------------------------- bulk

    def plan_bulk_patch(self, env: str, keys: Sequence[ResourceKey]) -> list[Plan]:
        plans = []
        for key in keys:
            item = self.engine.store.get(env, key)
            if item is not None and item.is_drifted:
                plans.append(self.plan_patch(env, key))
        return plans

    def execute_all(self, plans: Sequence[Plan], *, mode: str = "manual") -> list[Outcome]:
        """Every plan runs and is reported, whatever happens to the others."""
        return [self.execute(p, mode=mode) for p in plans]


def _is_secret_document(text: str) -> bool:
    return any(line.strip() == "kind: Secret" for line in text.splitlines())


def unit_diff_lines(cur: str, old: str, context: int = 0) -> tuple[str, ...]:
    """Unified-diff lines (no headers) from a unit's ``cur`` data to ``old``, for rollback
    previews, values hidden where they may be credentials: a Secret's changed lines are only
    counted; elsewhere a value under a credential name (``DB_PASSWORD``, env ``API_TOKEN``)
    shows as ``***`` and a change hidden that way is counted on a line of its own."""
    import yaml

    from drifttui.core.sensitive import mask_credentials
    from drifttui.hub.merge import field_changes

    lines = _text_diff(cur, old, context)
    changed = sum(1 for line in lines if line[:1] in "+-")
    if not changed:
        return ()
    if _is_secret_document(cur) or _is_secret_document(old):
        return (f"Secret data: {changed} line(s) change (values hidden)",)
    try:
        before, after = yaml.safe_load(cur), yaml.safe_load(old)
    except yaml.YAMLError:
        return (f"{changed} line(s) change (not shown: the unit does not parse)",)
    shown_before, shown_after = mask_credentials((), before), mask_credentials((), after)
    if shown_before == before and shown_after == after:
        return tuple(lines)
    # a value changed in place is masked on both sides: the masked diff cannot show it
    hidden = sum(1 for c in field_changes(before, after) if c.old == MASK and c.new == MASK)
    shown = _text_diff(_dump_yaml(shown_before), _dump_yaml(shown_after), context)
    note = [f"{hidden} credential value(s) change (values hidden)"] if hidden else []
    return (*shown, *note)


def _text_diff(before: str, after: str, context: int = 0) -> list[str]:
    import difflib

    headers = ("---", "+++") if context else ("---", "+++", "@@")  # hunks only with context
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context)
    return [line for line in lines if not line.startswith(headers)]


def autofix_decision(
    env: Environment,
    item: DriftItem,
    *,
    global_auto_fix: bool,
    selected_by_filter: bool,
) -> tuple[bool, str]:
    """May auto-fix correct ``item``? (True, "") or (False, why not).

    Only when auto-fix is on (AUTO_FIX and the environment's own switch), the environment is
    writable, it is not production unless its config allows it, every counted finding is
    marked safe by the classifier, the object is not missing, and the ``auto-correctable``
    filter selects its drift record.
    """
    if not global_auto_fix or not env.auto_fix:
        return False, "auto-fix is off for this environment"
    if env.read_only:
        return False, "environment is read-only"
    if env.production and not env.allow_auto_fix_in_production:
        return False, "production: auto-fix not allowed (allow-auto-fix-in-production)"
    if item.status.value == "missing" or not item.counted:
        return False, "missing objects are re-created by a person, never automatically"
    unsafe = [f.path_str for f in item.counted if not f.safe_to_autofix]
    if unsafe:
        return False, f"not safe to auto-correct: {', '.join(unsafe[:3])}"
    if not selected_by_filter:
        return False, "not selected by the auto-correctable filter"
    return True, ""
