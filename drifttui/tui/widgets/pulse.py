"""The pulse: one line per environment, what the seed's dashboard counted.

Resources monitored, drift by severity, fixes applied, monthly cost impact, watch health
and the time of the last event. It repaints only when a figure changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from drifttui.core.models import Severity
from drifttui.tui.model import EnvFigures, format_clock, format_usd


@dataclass(frozen=True, slots=True)
class PulseLine:
    environment: str
    space: str
    figures: EnvFigures
    health: str
    """"watching", "listing", "snapshot", "reconnecting: why", "hub: why"."""
    health_state: str
    """ok, starting, warn or error."""
    last_event_at: float | None = None
    fixes: int = 0
    auto_fixes: int = 0
    """Of ``fixes``, how many auto-fix made."""
    production: bool = False
    read_only: bool = False
    accent: str | None = None


@dataclass(frozen=True, slots=True)
class PulseTitle:
    source: str
    """Where desired state comes from (``embedded demo hub``, ``ConfigHub https://...``)."""
    analyst: str
    query: str = ""
    read_only: bool = False
    marked: int = 0


_HEALTH_CLASS = {
    "ok": "pulse--ok",
    "starting": "pulse--muted",
    "warn": "pulse--warn",
    "error": "pulse--error",
}


class Pulse(Widget):
    """Header: a title line, then one line per environment."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pulse--title",
        "pulse--badge",
        "pulse--env",
        "pulse--ok",
        "pulse--warn",
        "pulse--error",
        "pulse--muted",
        "pulse--critical",
        "pulse--high",
        "pulse--medium",
        "pulse--low",
    }

    DEFAULT_CSS = """
    Pulse {
        height: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $panel;
        color: $foreground;
        & > .pulse--title { text-style: bold; color: $primary; }
        & > .pulse--badge { background: $error; color: $text; text-style: bold; }
        & > .pulse--env { text-style: bold; }
        & > .pulse--ok { color: $success; }
        & > .pulse--warn { color: $warning; }
        & > .pulse--error { color: $error; text-style: bold; }
        & > .pulse--muted { color: $text-muted; }
        & > .pulse--critical { color: $error; text-style: bold reverse; }
        & > .pulse--high { color: $error; text-style: bold; }
        & > .pulse--medium { color: $warning; }
        & > .pulse--low { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._title = PulseTitle("", "")
        self._lines: tuple[PulseLine, ...] = ()
        self.repaints = 0

    @property
    def lines(self) -> tuple[PulseLine, ...]:
        return self._lines

    def show(self, title: PulseTitle, lines: Sequence[PulseLine]) -> bool:
        """Show new figures; False (and no repaint) when nothing changed."""
        lines = tuple(lines)
        if title == self._title and lines == self._lines:
            return False
        layout = len(lines) != len(self._lines)
        self._title = title
        self._lines = lines
        self.repaints += 1
        self.refresh(layout=layout)
        return True

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def render(self) -> Text:
        wide = self.size.width >= 100
        out = Text(no_wrap=True, overflow="ellipsis")
        t = self._title
        out.append("drifttui", self._style("pulse--title"))
        total = sum(line.figures.monitored for line in self._lines)
        drifted = sum(line.figures.drifted for line in self._lines)
        fixes = sum(line.fixes for line in self._lines)
        if wide:
            out.append(f" · {t.source} · analyst {t.analyst} · ")
        else:
            out.append(" · ")
        out.append(f"{total} monitored · {drifted} drifted · {fixes} fixed")
        if t.read_only:
            out.append(" ")
            out.append(" READ-ONLY ", self._style("pulse--badge"))
        if t.marked:
            out.append(f" · {t.marked} marked")
        if t.query:
            out.append(f" · filter: {t.query}", self._style("pulse--warn"))
        name_w = max((len(line.environment) for line in self._lines), default=4)
        for line in self._lines:
            out.append("\n")
            self._env_line(out, line, name_w, wide)
        return out

    def _env_line(self, out: Text, line: PulseLine, name_w: int, wide: bool) -> None:
        f = line.figures
        health_style = self._style(_HEALTH_CLASS.get(line.health_state, "pulse--muted"))
        out.append("● ", health_style)
        env_style = self._style("pulse--env")
        if line.accent:
            try:
                env_style = env_style + Style.parse(line.accent)
            except Exception:
                pass
        out.append(line.environment.ljust(name_w), env_style)
        if wide:
            out.append(f" {f.monitored:>4} monitored  ")
        else:
            out.append(f" {f.monitored:>3} res ")
        drift_style = self._style("pulse--ok" if not f.drifted else "pulse--warn")
        out.append(f"{f.drifted:>3} drifted", drift_style)
        out.append(" ")
        for sev, label in (
            (Severity.CRITICAL, "crit"),
            (Severity.HIGH, "high"),
            (Severity.MEDIUM, "med"),
            (Severity.LOW, "low"),
        ):
            n = f.count(sev)
            style = self._style(f"pulse--{sev.value}") if n else self._style("pulse--muted")
            out.append(f" {n} {label}" if wide else f" {n}{label[0].upper()}", style)
        auto = f" ({line.auto_fixes} auto)" if line.auto_fixes else ""
        out.append(f"  fixed {line.fixes}{auto}" if wide else f" ✓{line.fixes}")
        cost = format_usd(f.monthly_cost_usd)
        out.append(f"  {cost}/mo" if wide else f" {cost}")
        out.append("  ")
        out.append(line.health, health_style)
        if line.last_event_at is not None:
            out.append(f"  last {format_clock(line.last_event_at)}" if wide else "")
        if line.read_only and wide:
            out.append("  read-only", self._style("pulse--muted"))
