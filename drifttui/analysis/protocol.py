"""The Analyst protocol: explain drift, estimate its cost, recommend an action.

Implementations: ``ClaudeAnalyst`` (``analysis/claude.py``, the anthropic SDK) and
``OfflineAnalyst`` (``analysis/offline.py``, deterministic rules plus the cost model). An
analyst never applies anything; its recommendations go through the same preview/confirm path
as a person's keys. It receives only what :func:`drifttui.analysis.redact.findings_for_analysis`
gives it: normalised findings, no Secret values, no tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from drifttui.core.models import DriftItem


class Risk(StrEnum):
    AVAILABILITY = "availability"
    SECURITY = "security"
    COST = "cost"
    NONE = "none"


class Action(StrEnum):
    PATCH_LIVE = "patch-live"  # put the cluster back to desired
    ACCEPT_INTO_HUB = "accept-into-hub"  # make the live value the desired one
    ADD_IGNORE_RULE = "add-ignore-rule"
    INVESTIGATE = "investigate"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The analyst's view of one finding (``finding_id`` is FieldDrift.id)."""

    finding_id: str
    cause: str
    risk: Risk
    action: Action
    confidence: float  # 0..1
    reason: str
    monthly_cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """An analyst's answer for a batch of drift items.

    ``source`` is "claude" or "offline"; ``notes`` carries visible caveats such as
    "Claude failed (429), offline analysis shown" or "dropped a verdict for unknown finding".
    """

    summary: str
    verdicts: tuple[Verdict, ...]
    source: str
    model: str | None = None
    notes: tuple[str, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    monthly_cost_usd: float | None = None

    def verdict_for(self, finding_id: str) -> Verdict | None:
        for v in self.verdicts:
            if v.finding_id == finding_id:
                return v
        return None


@runtime_checkable
class Analyst(Protocol):
    @property
    def name(self) -> str: ...

    def analyze(self, items: Sequence[DriftItem]) -> Analysis:
        """Verdicts for every counted finding of ``items``. Never raises for API failures
        (Claude falls back to the offline analyst and says so in ``notes``)."""
        ...
