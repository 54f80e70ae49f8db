"""Messages from workers (and the batching timer) to the screen.

Each carries immutable snapshots (frozen dataclasses, tuples), never live engine objects.
Textual messages cannot be frozen dataclasses themselves (the framework sets fields on
them), so these are plain dataclasses whose fields are never changed after posting.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from drifttui.analysis.protocol import Analysis
from drifttui.core.models import DriftItem
from drifttui.hub.protocol import Revision
from drifttui.remediation import Outcome, Plan
from drifttui.tui.batching import Change
from drifttui.tui.model import RollbackChoice, RowSelector
from drifttui.tui.widgets.env_tree import ChainSpace


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the confirmation modal shows: one or more plans with their dry-run results."""

    title: str
    plans: tuple[Plan, ...]
    previews: tuple[Outcome, ...]
    confirm_name: str | None = None
    """What the operator types to confirm (production), None: enter is enough."""

    @property
    def production(self) -> bool:
        return any(p.production for p in self.plans)

    @property
    def refused(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.previews if not o.ok)


@dataclass
class DriftBatch(Message):
    """What changed since the last flush: items (latest per resource) and log lines."""

    changes: tuple[Change, ...]
    log_lines: tuple[str, ...]


@dataclass
class EnvironmentLoaded(Message):
    """The first load of an environment finished (desired from the hub, live listed)."""

    environment: str


@dataclass
class ChainLoaded(Message):
    """The environment chain (base first) and the units of each space, for the tree."""

    spaces: tuple[ChainSpace, ...]
    units: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]
    """(space, ((unit slug, head revision), ...)), ..."""


@dataclass
class RollbackReady(Message):
    """The unit's revisions are read: the rollback modal can open."""

    choice: RollbackChoice
    ask: int = 0
    """Which of the operator's requests this answers (only the latest opens a modal)."""


@dataclass
class RevisionsLoaded(Message):
    """The revisions of one unit (newest first), for the detail pane's history."""

    space: str
    unit: str
    revisions: tuple[Revision, ...]


@dataclass
class AnalysisReady(Message):
    analysis: Analysis
    items: tuple[DriftItem, ...]
    asked: bool
    """True when the operator pressed ``c`` (False: the automatic analysis)."""


@dataclass
class ProposalReady(Message):
    """Plans and their previews are ready for the confirmation modal."""

    proposal: Proposal
    ask: int = 0
    """Which of the operator's requests this answers (only the latest opens a modal)."""


@dataclass
class WritesFinished(Message):
    outcomes: tuple[Outcome, ...]
    auto: bool = False
    """True for corrections made by auto-fix (logged, counted, not notified)."""


@dataclass
class SelectorReady(Message):
    """A ``:filter``/``:set`` resolved against the hub into a row selector."""

    text: str
    selector: RowSelector | None
    error: str | None = None
    """Why the hub could not resolve it (an unknown filter or set, the hub unreachable)."""
