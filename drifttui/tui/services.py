"""What the TUI drives: the engine, the remediator, the analyst, the drift records, the clock.

Built by ``make_app`` from a :class:`~drifttui.runtime.Runtime` (the CLI's, or a demo
world's); tests and the benchmark build it the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from drifttui.analysis.protocol import Analyst
from drifttui.core.models import DriftItem, Environment
from drifttui.engine import Engine
from drifttui.hub.protocol import Hub
from drifttui.hub.records import DriftRecords
from drifttui.remediation import Remediator


@dataclass
class AppServices:
    engine: Engine
    remediator: Remediator
    analyst: Analyst
    records: DriftRecords | None = None
    clock: Callable[[], float] = time.time
    live: bool = True
    """True: load then watch every environment. False: load and list once (snapshots,
    screenshots, tests); ``r`` lists again."""
    source: str = ""
    """Where desired state comes from, for the pulse (``embedded demo hub``...)."""
    on_ready: Callable[[], None] | None = None
    """Called once, on the UI thread, when every environment is loaded and listed (the demo
    starts its drift story then)."""
    auto_analyze: bool = True
    analysis_debounce_s: float = 1.5
    flush_interval_s: float = 0.075
    health_interval_s: float = 1.0
    age_refresh_s: float = 10.0
    secrets: Sequence[str] = field(default_factory=tuple)
    """Values the log pane never shows (tokens, keys)."""
    auto_fix_filter: Callable[[str, DriftItem], bool] | None = None
    """Does the chain's ``auto-correctable`` filter select this item's drift record? (None:
    no drift records, the classifier alone decides.) Only environments with auto-fix on
    are corrected automatically, never production unless its config allows it."""

    @property
    def hub(self) -> Hub:
        return self.engine.hub

    @property
    def environments(self) -> tuple[Environment, ...]:
        return tuple(st.env for st in self.engine.states.values())

    @property
    def auto_fix(self) -> bool:
        return not self.read_only and any(e.auto_fix and not e.read_only for e in self.environments)

    @property
    def read_only(self) -> bool:
        return self.remediator.read_only or all(e.read_only for e in self.environments)

    @property
    def chain_prefix(self) -> str | None:
        if self.records is None:
            return None
        suffix = "-drift-records"
        space = self.records.space
        return space[: -len(suffix)] if space.endswith(suffix) else None
