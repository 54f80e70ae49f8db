"""The detail of one drift item: the field-level diff (desired vs live), who changed each
field and when, the cost, the analyst's verdicts, this session's history of the item and
the unit's revisions in ConfigHub."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from drifttui.analysis.protocol import Verdict
from drifttui.core.describe import describe_finding, short_value
from drifttui.core.models import MASK, Category, Change, DriftItem, Environment
from drifttui.hub.protocol import Revision
from drifttui.tui.model import format_age, format_clock, format_usd, parse_time


@dataclass(frozen=True, slots=True)
class DetailData:
    item: DriftItem
    environment: Environment
    history: tuple[str, ...] = ()
    revisions: tuple[Revision, ...] | None = None
    """None while they load (or when the item has no unit)."""
    verdicts: tuple[Verdict, ...] = ()
    now: float = 0.0


class DetailPane(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "detail--title",
        "detail--path",
        "detail--desired",
        "detail--live",
        "detail--muted",
        "detail--heading",
    }

    DEFAULT_CSS = """
    DetailPane {
        height: auto;
        & > .detail--title { text-style: bold; color: $primary; }
        & > .detail--path { text-style: bold; }
        & > .detail--desired { color: $success; }
        & > .detail--live { color: $error; }
        & > .detail--muted { color: $text-muted; }
        & > .detail--heading { text-style: bold underline; color: $secondary; }
    }
    """

    def __init__(self, *, id: str | None = None, full: bool = False) -> None:
        super().__init__(id=id)
        self.data: DetailData | None = None
        self.full = full
        self.placeholder = "Select a drift row to see its fields, history and revisions."

    def show(self, data: DetailData | None) -> None:
        if data == self.data:
            return
        self.data = data
        self.refresh(layout=True)

    def _s(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def render(self) -> RenderableType:
        d = self.data
        if d is None:
            return Text(self.placeholder, style=self._s("detail--muted"))
        item = d.item
        key = item.key
        e = d.environment
        title = Text()
        title.append(f"{key.kind} {key.namespace + '/' if key.namespace else ''}{key.name}")
        title.stylize(self._s("detail--title"))
        where = f"  {e.name} ({e.space})"
        if e.production:
            where += " · production"
        title.append(where, self._s("detail--muted"))
        if item.unit:
            title.append(f" · unit {item.unit}", self._s("detail--muted"))
        if item.owner:
            title.append(f" · deployed by {item.owner}", self._s("detail--muted"))
        parts: list[RenderableType] = [title]
        parts.append(self._fields(d))
        extra = Text()
        if item.monthly_cost_usd:
            extra.append(f"Cost impact {format_usd(item.monthly_cost_usd)}/month. ")
        if item.autoscaler is not None:
            a = item.autoscaler
            extra.append(f"HPA {a.name} ({a.min_replicas}-{a.max_replicas}). ")
        if item.rolling_out:
            extra.append("Rolling out. ")
        ignored = [f for f in item.fields if f.ignored_by]
        if ignored:
            extra.append(f"{len(ignored)} field(s) ignored by rules. ", self._s("detail--muted"))
        if extra.plain:
            parts.append(extra)
        if d.verdicts:
            parts.append(Text("Analyst", style=self._s("detail--heading")))
            for v in d.verdicts:
                line = Text(f"• {v.action} ({v.confidence:.0%}, {v.risk} risk): ")
                line.append(v.cause, self._s("detail--muted"))
                parts.append(line)
        if d.history:
            parts.append(Text("History (this session)", style=self._s("detail--heading")))
            shown = d.history if self.full else d.history[-4:]
            parts += [Text(h, style=self._s("detail--muted")) for h in shown]
        if item.unit:
            parts.append(
                Text(
                    f"Revisions of {item.space or e.space}/{item.unit}", self._s("detail--heading")
                )
            )
            if d.revisions is None:
                parts.append(Text("loading…", style=self._s("detail--muted")))
            else:
                shown_revs = d.revisions if self.full else d.revisions[:3]
                for r in shown_revs:
                    line = Text(f"r{r.num} ", style=self._s("detail--path"))
                    line.append(r.description or r.source)
                    line.append(f"  {r.author} {r.created_at[:19]}", self._s("detail--muted"))
                    parts.append(line)
                if len(d.revisions) > len(shown_revs):
                    more = len(d.revisions) - len(shown_revs)
                    parts.append(Text(f"… {more} more (R to roll back)", self._s("detail--muted")))
        return Group(*parts)

    def _fields(self, d: DetailData) -> RenderableType:
        """One block per field: the path, then desired → live and who changed it."""
        item = d.item
        out = Text()
        counted = item.counted
        if not item.is_drifted:
            out.append("In sync: live equals desired.", self._s("detail--muted"))
            return out
        if not counted:
            out.append("(whole object) ", self._s("detail--path"))
            out.append("present", self._s("detail--desired"))
            out.append(" → ")
            out.append("missing from the cluster", self._s("detail--live"))
            return out
        limit = 80 if self.full else 48
        for i, f in enumerate(counted):
            if i:
                out.append("\n")
            secret = f.category is Category.SECRET or item.key.kind == "Secret"
            if f.change is Change.MISSING:
                desired, live = "present", "missing from the cluster"
            elif secret:
                desired = MASK if f.desired is not None else "(none)"
                live = MASK if f.live is not None else "(none)"
            else:
                desired, live = short_value(f.desired, limit), short_value(f.live, limit)
            path = f.path_str or "(whole object)"
            out.append(path, self._s("detail--path"))
            out.append(f"  {f.category} · {f.severity}", self._s("detail--muted"))
            out.append("\n  desired ")
            out.append(desired, self._s("detail--desired"))
            out.append("  live ")
            out.append(live, self._s("detail--live"))
            if f.attribution is not None:
                a = f.attribution
                who = a.manager + (f" ({a.subresource})" if a.subresource else "")
                when = parse_time(a.time)
                if when is not None:
                    who += f", {format_age(d.now - when)} ago"
                out.append(f"\n  changed by {who}", self._s("detail--muted"))
            if f.note:
                out.append(f"\n  {f.note}", self._s("detail--muted"))
            if self.full:
                out.append("\n  " + describe_finding(item, f), self._s("detail--muted"))
        return out


def history_line(at: float, text: str) -> str:
    return f"{format_clock(at)} {text}"


def verdicts_for(item: DriftItem, verdicts: Sequence[Verdict]) -> tuple[Verdict, ...]:
    ids = {f.id for f in item.counted}
    return tuple(v for v in verdicts if v.finding_id in ids)
