"""Running corrections against a cluster: one result per object, always.

A bulk fix is a list of :class:`~drifttui.core.correct.CorrectionPlan` (from ``plan_fix``).
:func:`run_corrections` sends each (JSON patch, or server-side apply for a missing object),
first as a server dry-run when asked, and reports every object: corrected, refused (with the
API's reason), or not attempted. Nothing raises, so a half-applied bulk fix is never left
unreported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drifttui.cluster.protocol import Cluster, CorrectionResult
from drifttui.core.correct import CorrectionPlan

__all__ = ["CorrectionReport", "run_corrections"]


@dataclass(frozen=True, slots=True)
class CorrectionReport:
    """Per-object results of one bulk correction, in plan order."""

    results: tuple[CorrectionResult, ...]
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def succeeded(self) -> tuple[CorrectionResult, ...]:
        return tuple(r for r in self.results if r.ok and r.action != "none")

    @property
    def failed(self) -> tuple[CorrectionResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def summary(self) -> str:
        """One line: how many were (or would be) corrected, and each failure with its reason."""
        verb = "would correct" if self.dry_run else "corrected"
        todo = [r for r in self.results if r.action != "none"]
        line = f"{verb} {len(self.succeeded)} of {len(todo)} object(s)"
        if self.failed:
            reasons = "; ".join(
                f"{r.key}: {r.status or 'error'} {(r.error or '').strip()[:160]}".rstrip()
                for r in self.failed
            )
            line += f"; failed: {reasons}"
        return line


def run_corrections(
    cluster: Cluster,
    plans: Sequence[CorrectionPlan],
    *,
    dry_run: bool = False,
    stop_on_first_error: bool = False,
) -> CorrectionReport:
    """Apply ``plans`` one object at a time; see the module docstring.

    With ``stop_on_first_error`` the objects after a failure are not touched and are
    reported as "not attempted".
    """
    results: list[CorrectionResult] = []
    stopped_by: CorrectionResult | None = None
    for plan in plans:
        if stopped_by is not None:
            results.append(
                CorrectionResult(
                    plan.key,
                    False,
                    dry_run,
                    plan.action,
                    plan.ops,
                    error=f"not attempted: stopped after {stopped_by.key} failed",
                )
            )
            continue
        result = _run_one(cluster, plan, dry_run)
        results.append(result)
        if not result.ok and stop_on_first_error:
            stopped_by = result
    return CorrectionReport(tuple(results), dry_run)


def _run_one(cluster: Cluster, plan: CorrectionPlan, dry_run: bool) -> CorrectionResult:
    key = plan.key
    try:
        if plan.action == "patch":
            return cluster.patch(
                plan.api_version, key.kind, key.namespace, key.name, plan.ops, dry_run=dry_run
            )
        if plan.action == "apply" and plan.manifest is not None:
            return cluster.apply(plan.manifest, dry_run=dry_run)
        return CorrectionResult(key, True, dry_run, "none")
    except Exception as exc:  # an implementation that raised: still one result per object
        return CorrectionResult(
            key, False, dry_run, plan.action, plan.ops, error=str(exc) or type(exc).__name__
        )
