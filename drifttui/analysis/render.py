"""How an :class:`Analysis` reads: one log line, a Markdown pane, a JSON block.

- :func:`summary_line` is the seed's line for logs and the headless service:
  ``Claude analysis: Over-scaling detected, monthly cost impact $26/month``.
- :func:`analysis_markdown` is the TUI's analysis pane: summary, cost, notes, then per finding
  its risk, cause, recommended action with confidence and reason, and cost.
- :func:`analysis_to_dict` / :func:`verdict_to_dict` give the JSON/YAML report shape, so every
  output format shows the same verdicts.

Model-written text is escaped before it goes into Markdown (no links, headings or HTML can be
smuggled in through a verdict).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from drifttui.analysis.protocol import Action, Analysis, Risk, Verdict
from drifttui.core.models import JSON, DriftItem, format_path

_ACTION_TEXT = {
    Action.PATCH_LIVE: "patch live (put the cluster back to ConfigHub)",
    Action.ACCEPT_INTO_HUB: "accept into ConfigHub (make live the desired state)",
    Action.ADD_IGNORE_RULE: "add an ignore rule",
    Action.INVESTIGATE: "investigate",
}
_RISK_TEXT = {
    Risk.AVAILABILITY: "availability",
    Risk.SECURITY: "security",
    Risk.COST: "cost",
    Risk.NONE: "none",
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_MD_LINE_START = re.compile(r"^([#+=>-])")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")


def _label(analysis: Analysis) -> str:
    return "Claude" if analysis.source == "claude" else "Offline"


def _headline(summary: str, limit: int = 120) -> str:
    """The summary's first sentence (or clause list), without its full stop."""
    text = " ".join(summary.split())
    m = re.search(r"(?<!\d)[.;](\s|$)", text)
    head = text[: m.start()] if m else text
    head = head.rstrip(" .")
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def format_usd(usd: float, *, cents: bool = False) -> str:
    """``$26``, ``-$13``, ``$1,240``; with ``cents`` ``$26.13``."""
    sign = "-" if usd < 0 else ""
    amount = f"{abs(usd):,.2f}" if cents else f"{abs(usd):,.0f}"
    return f"{sign}${amount}"


def summary_line(analysis: Analysis) -> str:
    """One line in the seed's style, e.g. ``Claude analysis: Over-scaling detected, monthly
    cost impact $26/month``; a fallback names its cause: ``Offline analysis: ...
    (Claude unavailable (429 rate limited); offline analysis shown)``."""
    line = f"{_label(analysis)} analysis: {_headline(analysis.summary) or 'no summary'}"
    cost = analysis.monthly_cost_usd
    if cost is not None and round(cost) != 0 and "cost impact" not in line:
        line += f", monthly cost impact {format_usd(cost)}/month"
    elif cost is not None and cost != 0 and "cost impact" not in line:
        line += f", monthly cost impact {format_usd(cost, cents=True)}/month"
    if analysis.notes:
        extra = f" (+{len(analysis.notes) - 1} more)" if len(analysis.notes) > 1 else ""
        line += f" ({analysis.notes[0]}{extra})"
    return " ".join(line.split())


def escape_md(text: str) -> str:
    """Markdown-escape model- or cluster-written text so it renders as plain text."""
    text = _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    # a paragraph must not start a heading, list, quote or rule
    return _MD_ORDERED.sub(r"\1\\\2", _MD_LINE_START.sub(r"\\\1", text))


def _finding_index(items: Sequence[DriftItem]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for item in items:
        for f in item.fields:
            if f.id:
                out[f.id] = (str(item.key), format_path(f.path))
    return out


def _verdict_md(v: Verdict, where: tuple[str, str] | None) -> list[str]:
    title = f"{where[0]} · {where[1]}" if where and where[1] else (where[0] if where else "")
    title = title or v.finding_id
    lines = [f"#### {escape_md(title)}", ""]
    lines.append(f"- **Risk:** {_RISK_TEXT[v.risk]}")
    lines.append(f"- **Cause:** {escape_md(v.cause)}")
    lines.append(
        f"- **Recommended:** {_ACTION_TEXT[v.action]} "
        f"({round(v.confidence * 100)}% confident): {escape_md(v.reason)}"
    )
    if v.monthly_cost_usd is not None:
        sign = "+" if v.monthly_cost_usd > 0 else ""
        lines.append(f"- **Cost:** {sign}{format_usd(v.monthly_cost_usd, cents=True)}/month")
    lines.append(f"- **Finding:** `{v.finding_id}`")
    lines.append("")
    return lines


def analysis_markdown(analysis: Analysis, items: Sequence[DriftItem] = ()) -> str:
    """Markdown for the TUI's analysis pane (summary, cost, notes, then one section per
    verdict in risk order: security, availability, cost, none)."""
    by = f" ({escape_md(analysis.model)})" if analysis.model and analysis.source == "claude" else ""
    lines = [f"### {_label(analysis)} analysis{by}", "", escape_md(analysis.summary), ""]
    if analysis.monthly_cost_usd is not None:
        sign = "+" if analysis.monthly_cost_usd > 0 else ""
        cost = format_usd(analysis.monthly_cost_usd, cents=True)
        lines += [f"**Monthly cost impact:** {sign}{cost}/month", ""]
    for note in analysis.notes:
        lines += [f"> {escape_md(note)}", ""]
    if analysis.input_tokens or analysis.output_tokens:
        lines += [
            f"*{analysis.input_tokens} input / {analysis.output_tokens} output tokens*",
            "",
        ]
    index = _finding_index(items)
    order = {Risk.SECURITY: 0, Risk.AVAILABILITY: 1, Risk.COST: 2, Risk.NONE: 3}
    for v in sorted(analysis.verdicts, key=lambda v: order[v.risk]):
        lines += _verdict_md(v, index.get(v.finding_id))
    if not analysis.verdicts:
        lines += ["No findings to recommend anything for.", ""]
    lines.append("*Recommendations are advice: every action is previewed and confirmed.*")
    return "\n".join(lines).rstrip() + "\n"


def verdict_to_dict(v: Verdict) -> dict[str, JSON]:
    """A verdict as the reports show it (``confidence`` 0..1)."""
    return {
        "finding_id": v.finding_id,
        "cause": v.cause,
        "risk": str(v.risk),
        "action": str(v.action),
        "confidence": round(v.confidence, 3),
        "reason": v.reason,
        "monthly_cost_usd": v.monthly_cost_usd,
    }


def analysis_to_dict(analysis: Analysis) -> dict[str, JSON]:
    """The report's ``analysis`` block."""
    return {
        "source": analysis.source,
        "model": analysis.model,
        "summary": analysis.summary,
        "summary_line": summary_line(analysis),
        "monthly_cost_usd": analysis.monthly_cost_usd,
        "notes": list(analysis.notes),
        "input_tokens": analysis.input_tokens,
        "output_tokens": analysis.output_tokens,
        "verdicts": [verdict_to_dict(v) for v in analysis.verdicts],
    }
