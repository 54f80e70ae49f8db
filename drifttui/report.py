"""Drift reports: one model, six renderers (table, json, yaml, markdown, sarif, junit).

A :class:`Report` holds one :class:`EnvironmentReport` per environment (``drifttui diff``
uses one, named ``local``; ``--once`` one per configured environment), the rules version,
the tool version, when it was made (passed in, never read from the clock here) and an
optional analysis. Its :attr:`Report.summary` counts like driftctl does.

The JSON form (:func:`report_to_dict`) is versioned (``schemaVersion``
``drifttui.report/v1``) and described by the JSON Schema shipped at
``drifttui/schemas/report.schema.json`` (docs/report-schema.md explains it). Secret values
never reach a report: the diff already replaced them with ``***``.

Exit codes (:attr:`Report.exit_code`): 0 clean, 1 drift (drifted or missing objects),
2 error (an environment or object could not be read: never shown as clean).

This module imports only the standard library and the core at load time; PyYAML is
imported when YAML is rendered.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from drifttui import __version__
from drifttui.core.defaults import RULES_VERSION
from drifttui.core.models import (
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Severity,
)
from drifttui.errors import ConfigError, InputError

if TYPE_CHECKING:
    from drifttui.analysis.protocol import Analysis, Verdict

SCHEMA_VERSION = "drifttui.report/v1"
FORMATS = ("table", "json", "yaml", "markdown", "sarif", "junit")
_ALIASES = {"md": "markdown", "yml": "yaml", "xml": "junit", "text": "table"}
SCHEMA_PATH = Path(__file__).with_name("schemas") / "report.schema.json"
INFORMATION_URI = "https://example.invalid/drifttui"


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class EnvironmentReport:
    """One environment's items. ``error`` set means the environment could not be read:
    an error state, never rendered as clean. ``sources`` maps keys to the file that
    declared them (SARIF locations when no ConfigHub unit is known)."""

    name: str
    space: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    items: tuple[DriftItem, ...] = ()
    error: str | None = None
    sources: Mapping[ResourceKey, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts over resources and findings (driftctl-like).

    ``total`` resources compared; ``in_sync``/``drifted``/``missing``/``unmanaged``/
    ``errors`` by status (``errors`` also counts environments that could not be read);
    ``findings`` counted drift findings (not ignored, not operational); ``ignored`` and
    ``operational`` findings shown but not counted; ``coverage_pct`` the share of
    resources declared in desired (100 when every live object seen is managed).
    """

    total: int = 0
    in_sync: int = 0
    drifted: int = 0
    missing: int = 0
    unmanaged: int = 0
    errors: int = 0
    findings: int = 0
    ignored: int = 0
    operational: int = 0
    coverage_pct: float = 100.0
    by_category: Mapping[str, int] = field(default_factory=dict)
    by_severity: Mapping[str, int] = field(default_factory=dict)
    monthly_cost_usd: float = 0.0

    @classmethod
    def of(cls, envs: Iterable[EnvironmentReport]) -> Summary:
        statuses: Counter[ResourceStatus] = Counter()
        cats: Counter[str] = Counter()
        sevs: Counter[str] = Counter()
        ignored = operational = env_errors = 0
        cost = 0.0
        for env in envs:
            if env.error:
                env_errors += 1
            for item in env.items:
                statuses[item.status] += 1
                for f in item.fields:
                    if f.ignored_by is not None:
                        ignored += 1
                    elif f.category is Category.OPERATIONAL:
                        operational += 1
                    else:
                        cats[str(f.category)] += 1
                        sevs[str(f.severity)] += 1
                if item.is_drifted and item.monthly_cost_usd:
                    cost += item.monthly_cost_usd
        total = sum(statuses.values())
        unmanaged = statuses[ResourceStatus.UNMANAGED]
        coverage = 100.0 if total == 0 else round(100.0 * (total - unmanaged) / total, 1)
        return cls(
            total=total,
            in_sync=statuses[ResourceStatus.IN_SYNC],
            drifted=statuses[ResourceStatus.DRIFTED],
            missing=statuses[ResourceStatus.MISSING],
            unmanaged=unmanaged,
            errors=statuses[ResourceStatus.ERROR] + env_errors,
            findings=sum(cats.values()),
            ignored=ignored,
            operational=operational,
            coverage_pct=coverage,
            by_category={c.value: cats[c.value] for c in Category if cats[c.value]},
            by_severity={s.value: sevs[s.value] for s in Severity if sevs[s.value]},
            monthly_cost_usd=round(cost, 2),
        )

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if self.drifted or self.missing else 0


@dataclass(frozen=True, slots=True)
class Report:
    """A snapshot report over one or more environments."""

    generated_at: str
    environments: tuple[EnvironmentReport, ...]
    analysis: Analysis | None = None
    tool_version: str = __version__
    rules_version: str = RULES_VERSION
    schema_version: str = SCHEMA_VERSION

    @property
    def summary(self) -> Summary:
        return Summary.of(self.environments)

    @property
    def exit_code(self) -> int:
        """0 clean, 1 drift, 2 error."""
        return self.summary.exit_code


# --------------------------------------------------------------------------- helpers


def _verdict(analysis: Analysis | None, finding: FieldDrift) -> Verdict | None:
    if analysis is None or not finding.id:
        return None
    return analysis.verdict_for(finding.id)


def _value(value: Any, limit: int | None = 48) -> str:
    if value is None:
        return "-"
    text = (
        value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    )
    text = " ".join(text.split()) if "\n" in text else text
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _items(n: int) -> str:
    return f"{n} item{'' if n == 1 else 's'}"


def _shown_values(f: FieldDrift, limit: int) -> tuple[str, str]:
    """Desired and live as a cell shows them; for a changed list, what was added/removed."""
    d, lv = f.desired, f.live
    if f.change is Change.CHANGED and isinstance(d, list) and isinstance(lv, list):
        gone = [x for x in d if x not in lv]
        new = [x for x in lv if x not in d]
        d_text = _items(len(d)) + (f", -{_value(gone, None)}" if gone and not new else "")
        l_text = _items(len(lv))
        if new:
            l_text += f", +{_value(new, None)}"
        if gone and new:
            l_text += f", -{_value(gone, None)}"
        if not gone and not new:
            l_text += ", reordered"
        return _value(d_text, limit), _value(l_text, limit)
    return _value(d, limit), _value(lv, limit)


def _who(f: FieldDrift) -> str:
    return f.attribution.describe() if f.attribution else "-"


def _markers(item: DriftItem) -> list[str]:
    out: list[str] = []
    if item.owner:
        out.append(f"owner {item.owner}")
    if item.unit:
        out.append(f"unit {item.space + '/' if item.space else ''}{item.unit}")
    if item.rolling_out:
        out.append("rolling out")
    if item.autoscaler is not None:
        a = item.autoscaler
        out.append(f"HPA {a.name} {a.min_replicas}-{a.max_replicas}")
    if item.monthly_cost_usd:
        out.append(f"cost {_money(item.monthly_cost_usd)}/month")
    if item.error:
        out.append(f"error: {item.error}")
    return out


def _money(usd: float) -> str:
    sign = "+" if usd >= 0 else "-"
    return f"{sign}${abs(usd):,.2f}"


def _shown(item: DriftItem) -> bool:
    """Resources a table or markdown lists: anything but quietly in-sync or unmanaged."""
    return item.status not in (ResourceStatus.IN_SYNC, ResourceStatus.UNMANAGED) or bool(
        item.fields
    )


def _finding_label(f: FieldDrift) -> str:
    if f.ignored_by is not None:
        return f"ignored ({f.ignored_by})"
    if f.category is Category.OPERATIONAL:
        return "operational"
    return str(f.severity)


# --------------------------------------------------------------------------- JSON


def _attribution_dict(f: FieldDrift) -> dict[str, Any] | None:
    a = f.attribution
    if a is None:
        return None
    return {
        "manager": a.manager,
        "operation": a.operation,
        "time": a.time,
        "subresource": a.subresource,
        "human": a.is_human,
    }


def _verdict_dict(v: Verdict) -> dict[str, Any]:
    return {
        "cause": v.cause,
        "risk": str(v.risk),
        "action": str(v.action),
        "confidence": v.confidence,
        "reason": v.reason,
        "monthlyCostUsd": v.monthly_cost_usd,
    }


def _finding_dict(f: FieldDrift, analysis: Analysis | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f.id,
        "fingerprint": f.fingerprint,
        "path": f.path_str,
        "pointer": f.pointer or None,
        "change": str(f.change),
        "desired": f.desired,
        "live": f.live,
        "category": str(f.category),
        "severity": str(f.severity),
        "counts": f.counts,
        "safeToAutofix": f.safe_to_autofix,
        "ignoredBy": f.ignored_by,
        "note": f.note,
        "attribution": _attribution_dict(f),
    }
    v = _verdict(analysis, f)
    if v is not None:
        out["verdict"] = _verdict_dict(v)
    return out


def _item_dict(
    item: DriftItem, env: EnvironmentReport, analysis: Analysis | None
) -> dict[str, Any]:
    asc = item.autoscaler
    return {
        "apiVersion": item.api_version,
        "kind": item.key.kind,
        "group": item.key.group,
        "namespace": item.key.namespace,
        "name": item.key.name,
        "status": str(item.status),
        "severity": str(item.severity),
        "owner": item.owner,
        "rollingOut": item.rolling_out,
        "unit": item.unit,
        "space": item.space,
        "source": env.sources.get(item.key),
        "error": item.error,
        "autoscaler": None
        if asc is None
        else {"name": asc.name, "minReplicas": asc.min_replicas, "maxReplicas": asc.max_replicas},
        "monthlyCostUsd": item.monthly_cost_usd,
        "findings": [_finding_dict(f, analysis) for f in item.fields],
    }


def _summary_dict(s: Summary) -> dict[str, Any]:
    return {
        "total": s.total,
        "inSync": s.in_sync,
        "drifted": s.drifted,
        "missing": s.missing,
        "unmanaged": s.unmanaged,
        "errors": s.errors,
        "findings": s.findings,
        "ignored": s.ignored,
        "operational": s.operational,
        "coveragePercent": s.coverage_pct,
        "byCategory": dict(s.by_category),
        "bySeverity": dict(s.by_severity),
        "monthlyCostUsd": s.monthly_cost_usd,
    }


def _analysis_dict(a: Analysis) -> dict[str, Any]:
    return {
        "source": a.source,
        "model": a.model,
        "summary": a.summary,
        "notes": list(a.notes),
        "monthlyCostUsd": a.monthly_cost_usd,
        "inputTokens": a.input_tokens,
        "outputTokens": a.output_tokens,
        "verdicts": len(a.verdicts),
    }


def report_to_dict(report: Report, analysis: Analysis | None = None) -> dict[str, Any]:
    """The JSON shape of a report (schema ``drifttui.report/v1``)."""
    analysis = analysis if analysis is not None else report.analysis
    summary = report.summary
    out: dict[str, Any] = {
        "schemaVersion": report.schema_version,
        "rulesVersion": report.rules_version,
        "tool": {"name": "drifttui", "version": report.tool_version},
        "generatedAt": report.generated_at,
        "exitCode": summary.exit_code,
        "summary": _summary_dict(summary),
    }
    if analysis is not None:
        out["analysis"] = _analysis_dict(analysis)
    out["environments"] = [
        {
            "name": env.name,
            "space": env.space,
            "cluster": env.cluster,
            "namespace": env.namespace,
            "error": env.error,
            "summary": _summary_dict(Summary.of([env])),
            "resources": [_item_dict(i, env, analysis) for i in env.items],
        }
        for env in report.environments
    ]
    return out


PRETTY_JSON_LIMIT = 200
"""JSON reports of up to this many resources are indented; larger ones are compact (the
same content; compact output is several times faster to write)."""


def _render_json(report: Report, analysis: Analysis | None) -> str:
    data = report_to_dict(report, analysis)
    if sum(len(e.items) for e in report.environments) <= PRETTY_JSON_LIMIT:
        return json.dumps(data, indent=2, default=str) + "\n"
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"


def _render_yaml(report: Report, analysis: Analysis | None) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", None) or yaml.SafeDumper
    data = json.loads(json.dumps(report_to_dict(report, analysis), default=str))
    return str(yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120))


# --------------------------------------------------------------------------- table

_ANSI = {
    "critical": "\x1b[1;31m",
    "high": "\x1b[31m",
    "medium": "\x1b[33m",
    "low": "\x1b[36m",
    "info": "\x1b[2m",
    "missing": "\x1b[1;31m",
    "error": "\x1b[1;31m",
    "drifted": "\x1b[33m",
    "in-sync": "\x1b[32m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"


def _paint(text: str, style: str | None, color: bool) -> str:
    if not color or not style or style not in _ANSI:
        return text
    return f"{_ANSI[style]}{text}{_RESET}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _summary_line(s: Summary) -> str:
    parts = [
        _plural(s.total, "resource"),
        f"{s.in_sync} in sync",
        f"{s.drifted} drifted",
        f"{s.missing} missing",
        f"{s.unmanaged} unmanaged",
        _plural(s.errors, "error"),
    ]
    text = " · ".join(parts)
    text += f"; {_plural(s.findings, 'finding')}"
    extra = []
    if s.ignored:
        extra.append(f"{s.ignored} ignored")
    if s.operational:
        extra.append(f"{s.operational} operational")
    if extra:
        text += f" ({', '.join(extra)})"
    text += f"; coverage {s.coverage_pct:g}%"
    if s.monthly_cost_usd:
        text += f"; cost {_money(s.monthly_cost_usd)}/month"
    return text


def _render_table(report: Report, analysis: Analysis | None, color: bool) -> str:
    lines: list[str] = [
        f"drifttui {report.tool_version} · rules {report.rules_version} · {report.generated_at}"
    ]
    header = ("SEVERITY", "RESOURCE", "FIELD", "CHANGE", "DESIRED", "LIVE", "WHO")
    for env in report.environments:
        lines.append("")
        where = [
            f"space {env.space}" if env.space else "",
            f"cluster {env.cluster}" if env.cluster else "",
        ]
        where.append(f"namespace {env.namespace}" if env.namespace else "")
        detail = ", ".join(w for w in where if w)
        lines.append(_paint(f"{env.name}" + (f" ({detail})" if detail else ""), "bold", color))
        if env.error:
            lines.append(_paint(f"  ERROR: {env.error}", "error", color))
        rows: list[tuple[tuple[str, ...], str, list[str]]] = []
        for item in env.items:
            if not _shown(item):
                continue
            resource = str(item.key)
            extra = _markers(item)
            if item.status is ResourceStatus.ERROR:
                notes = [" · ".join(extra)] if extra else []
                rows.append((("error", resource, "-", "error", "-", "-", "-"), "error", notes))
                continue
            for i, f in enumerate(item.fields):
                label = _finding_label(f)
                style = "dim" if not f.counts else str(f.severity)
                cells: tuple[str, ...] = (
                    label,
                    resource,
                    f.path_str or "(object)",
                    str(f.change),
                    *_shown_values(f, 40),
                    _who(f),
                )
                last = i == len(item.fields) - 1
                notes = [" · ".join(extra)] if last and extra else []
                v = _verdict(analysis, f)
                if f.note and f.change is not Change.MISSING:
                    notes = [f"note: {f.note}", *notes]
                if v is not None:
                    notes = [_verdict_text(v), *notes]
                rows.append((cells, style, notes))
        if not rows:
            if not env.error:
                lines.append(_paint("  no drift", "in-sync", color))
        else:
            widths = [len(h) for h in header]
            for cells, _, _ in rows:
                widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]
            head = "  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))
            lines.append(("  " + head).rstrip())
            indent = " " * (2 + widths[0] + 2)
            for cells, style, notes in rows:
                first = _paint(cells[0].ljust(widths[0]), style, color)
                rest = "  ".join(c.ljust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
                lines.append(f"  {first}  {rest}".rstrip())
                for note in notes:
                    lines.append(_paint(f"{indent}↳ {note}", "dim", color))
        if len(report.environments) > 1:
            lines.append("  " + _summary_line(Summary.of([env])))
    if analysis is not None:
        lines.append("")
        lines.append(_paint(_analysis_title(analysis), "bold", color))
        lines.append(f"  {analysis.summary}")
        for note in analysis.notes:
            lines.append(_paint(f"  note: {note}", "dim", color))
    lines.append("")
    lines.append("Summary: " + _summary_line(report.summary))
    return "\n".join(lines) + "\n"


def _analysis_title(a: Analysis) -> str:
    title = f"Analysis ({a.source}{', ' + a.model if a.model else ''})"
    if a.monthly_cost_usd:
        title += f" · cost {_money(a.monthly_cost_usd)}/month"
    return title


def _verdict_text(v: Verdict) -> str:
    text = (
        f"{v.action}: {v.cause} (risk {v.risk}, confidence {v.confidence:.0%}"
        + (f", {_money(v.monthly_cost_usd)}/month" if v.monthly_cost_usd else "")
        + ")"
    )
    return text


# --------------------------------------------------------------------------- markdown

_MD_SEVERITY = {
    "critical": "🟥 critical",
    "high": "🔴 high",
    "medium": "🟠 medium",
    "low": "🟡 low",
    "info": "⚪ info",
}


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_code(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return f"`{text.replace('`', 'ˋ')}`" if text not in ("", "-") else "-"


def _render_markdown(report: Report, analysis: Analysis | None) -> str:
    s = report.summary
    out: list[str] = ["## drifttui drift report", ""]
    state = "✅ no drift" if s.exit_code == 0 else ("❌ errors" if s.exit_code == 2 else "⚠️ drift")
    out.append(f"**{state}** · {_md(_summary_line(s))}")
    out.append("")
    out.append(
        f"Rules `{report.rules_version}` · drifttui {report.tool_version} · {report.generated_at}"
    )
    if analysis is not None:
        out += ["", f"### {_md(_analysis_title(analysis))}", "", _md(analysis.summary)]
        for note in analysis.notes:
            out.append(f"- _{_md(note)}_")
    for env in report.environments:
        out += ["", f"### {_md(env.name)}"]
        meta = [
            f"space `{env.space}`" if env.space else "",
            f"cluster `{env.cluster}`" if env.cluster else "",
            f"namespace `{env.namespace}`" if env.namespace else "",
        ]
        if any(meta):
            out.append(" · ".join(m for m in meta if m))
        if env.error:
            out += ["", f"**Error:** {_md(env.error)}"]
        shown = [i for i in env.items if _shown(i)]
        out += ["", _md(_summary_line(Summary.of([env])))]
        if not shown:
            continue
        out += [
            "",
            "| Severity | Resource | Field | Change | Desired | Live | Who |",
            "|---|---|---|---|---|---|---|",
        ]
        notes: list[str] = []
        for item in shown:
            if item.status is ResourceStatus.ERROR:
                out.append(f"| ❗ error | `{item.key}` | - | error | - | - | - |")
            for f in item.fields:
                sev = _MD_SEVERITY.get(str(f.severity), str(f.severity))
                label = sev if f.counts else _md(_finding_label(f))
                shown_d, shown_l = _shown_values(f, 60)
                if isinstance(f.desired, list) and isinstance(f.live, list):
                    cell_d, cell_l = _md(shown_d), _md(shown_l)
                else:
                    cell_d, cell_l = _md_code(shown_d), _md_code(shown_l)
                out.append(
                    f"| {label} | `{item.key}` | {_md_code(f.path_str or '(object)')} "
                    f"| {f.change} | {cell_d} | {cell_l} | {_md(_who(f))} |"
                )
                v = _verdict(analysis, f)
                if v is not None:
                    where = _md_code(f.path_str or "(object)")
                    notes.append(f"- `{item.key}` {where}: {_md(_verdict_text(v))}")
                if f.note and f.change is not Change.MISSING:
                    notes.append(
                        f"- `{item.key}` {_md_code(f.path_str or '(object)')}: {_md(f.note)}"
                    )
            marks = _markers(item)
            if marks:
                notes.append(f"- `{item.key}`: {_md(' · '.join(marks))}")
        if notes:
            out += ["", *notes]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- SARIF

_SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_CATEGORY_TEXT = {
    Category.REPLICAS: "Replica count differs from the desired configuration",
    Category.IMAGE: "Container image differs from the desired configuration",
    Category.RESOURCES: "Resource requests or limits differ from the desired configuration",
    Category.PORTS: "Ports differ from the desired configuration",
    Category.CONFIG_DATA: "Configuration data or environment differs from desired",
    Category.SECRET: "Secret content differs from the desired configuration (values masked)",
    Category.LABELS: "Labels or annotations differ from the desired configuration",
    Category.SECURITY: "A security-relevant field differs from the desired configuration",
    Category.OPERATIONAL: "Operational change (for example a rollout restart): shown, not drift",
    Category.OTHER: "A field differs from the desired configuration",
}
_RULE_LEVEL = {
    Category.SECRET: "error",
    Category.SECURITY: "error",
    Category.IMAGE: "error",
    Category.OPERATIONAL: "note",
    Category.LABELS: "note",
    Category.OTHER: "note",
}
MISSING_RULE = "K8S-DRIFT-MISSING"


def rule_id(category: Category | str) -> str:
    """SARIF rule id of a category: ``K8S-DRIFT-REPLICAS``, ``K8S-DRIFT-CONFIG-DATA``."""
    return "K8S-DRIFT-" + str(category).upper()


def _sarif_rules() -> list[dict[str, Any]]:
    rules = []
    for c in Category:
        rules.append(
            {
                "id": rule_id(c),
                "name": "".join(p.capitalize() for p in c.value.split("-")) + "Drift",
                "shortDescription": {"text": _CATEGORY_TEXT[c]},
                "fullDescription": {
                    "text": f"{_CATEGORY_TEXT[c]}. Category '{c.value}' of the drifttui rules."
                },
                "defaultConfiguration": {"level": _RULE_LEVEL.get(c, "warning")},
                "properties": {"category": c.value},
            }
        )
    rules.append(
        {
            "id": MISSING_RULE,
            "name": "MissingObject",
            "shortDescription": {"text": "A desired object is absent from the cluster"},
            "fullDescription": {
                "text": "An object declared in the desired configuration was not found live."
            },
            "defaultConfiguration": {"level": "error"},
            "properties": {"category": "missing"},
        }
    )
    return rules


def _file_uri(path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(p.as_posix())


def _location_uri(item: DriftItem, env: EnvironmentReport, pointer: str) -> str:
    space = item.space or env.space
    if item.unit and space:
        base = f"confighub://{quote(space)}/{quote(item.unit)}"
    else:
        src = env.sources.get(item.key)
        if src:
            return _file_uri(src)
        key = item.key
        ns = f"{quote(key.namespace)}/" if key.namespace else ""
        base = f"kubernetes:///{ns}{quote(key.kind)}/{quote(key.name)}"
    return base + (f"#{quote(pointer, safe='/~')}" if pointer else "")


def _sarif_message(item: DriftItem, f: FieldDrift) -> str:
    if f.change is Change.MISSING:
        return f"{item.key} is missing from the cluster"
    text = f"{item.key}: {f.path_str} {f.change}"
    if f.change is Change.CHANGED:
        text += f" (desired {_value(f.desired, 80)}, live {_value(f.live, 80)})"
    elif f.change is Change.ADDED:
        text += f" (live {_value(f.live, 80)})"
    else:
        text += f" (desired {_value(f.desired, 80)})"
    if f.attribution is not None:
        text += f" by {f.attribution.describe()}"
    if f.note:
        text += f"; {f.note}"
    return text


def report_to_sarif(report: Report, analysis: Analysis | None = None) -> dict[str, Any]:
    """SARIF 2.1.0 log: one rule per category (plus missing objects), one result per
    finding; ignored findings carry a suppression, operational ones level ``none``."""
    analysis = analysis if analysis is not None else report.analysis
    rules = _sarif_rules()
    index = {r["id"]: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for env in report.environments:
        if env.error:
            notifications.append(
                {"level": "error", "message": {"text": f"environment {env.name}: {env.error}"}}
            )
        for item in env.items:
            if item.status is ResourceStatus.ERROR:
                notifications.append(
                    {
                        "level": "error",
                        "message": {"text": f"{env.name}: {item.key}: {item.error or 'error'}"},
                    }
                )
                continue
            for f in item.fields:
                rid = MISSING_RULE if f.change is Change.MISSING else rule_id(f.category)
                level = "none" if f.category is Category.OPERATIONAL else _SARIF_LEVEL[f.severity]
                result: dict[str, Any] = {
                    "ruleId": rid,
                    "ruleIndex": index[rid],
                    "level": level,
                    "kind": "informational" if level == "none" else "fail",
                    "message": {"text": _sarif_message(item, f)},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": _location_uri(item, env, f.pointer)}
                            },
                            "logicalLocations": [
                                {
                                    "name": f.path_str or str(item.key),
                                    "fullyQualifiedName": f"{item.key}#{f.pointer}"
                                    if f.pointer
                                    else str(item.key),
                                    "kind": "member" if f.path else "object",
                                }
                            ],
                        }
                    ],
                    "partialFingerprints": {"driftFingerprint/v1": f.fingerprint or f.id},
                    "properties": {
                        "id": f.id,
                        "environment": env.name,
                        "resource": str(item.key),
                        "apiVersion": item.api_version,
                        "path": f.path_str,
                        "jsonPointer": f.pointer,
                        "change": str(f.change),
                        "category": str(f.category),
                        "severity": str(f.severity),
                        "safeToAutofix": f.safe_to_autofix,
                        "attribution": f.attribution.describe() if f.attribution else None,
                        "owner": item.owner,
                        "rollingOut": item.rolling_out,
                    },
                }
                if f.ignored_by is not None:
                    result["suppressions"] = [
                        {"kind": "external", "justification": f"ignore rule {f.ignored_by}"}
                    ]
                v = _verdict(analysis, f)
                if v is not None:
                    result["properties"]["verdict"] = _verdict_dict(v)
                results.append(result)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "drifttui",
                "version": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [
            {
                "executionSuccessful": not notifications,
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
        "properties": {
            "schemaVersion": report.schema_version,
            "rulesVersion": report.rules_version,
            "generatedAt": report.generated_at,
        },
    }
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    }


def _render_sarif(report: Report, analysis: Analysis | None) -> str:
    sarif = report_to_sarif(report, analysis)
    if len(sarif["runs"][0]["results"]) <= PRETTY_JSON_LIMIT:
        return json.dumps(sarif, indent=2, default=str) + "\n"
    return json.dumps(sarif, separators=(",", ":"), default=str) + "\n"


# --------------------------------------------------------------------------- JUnit


def _render_junit(report: Report, analysis: Analysis | None) -> str:
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="drifttui")
    totals = Counter[str]()
    for env in report.environments:
        suite = ET.SubElement(root, "testsuite", name=env.name)
        props = ET.SubElement(suite, "properties")
        for k, v in (
            ("rulesVersion", report.rules_version),
            ("space", env.space),
            ("cluster", env.cluster),
            ("namespace", env.namespace),
        ):
            if v:
                ET.SubElement(props, "property", name=k, value=v)
        counts = Counter[str]()
        if env.error:
            case = ET.SubElement(suite, "testcase", classname=f"{env.name}", name="environment")
            err = ET.SubElement(case, "error", type="error", message=env.error)
            err.text = env.error
            counts["tests"] += 1
            counts["errors"] += 1
        for item in env.items:
            if item.status is ResourceStatus.UNMANAGED:
                continue
            key = item.key
            name = f"{key.namespace}/{key.name}" if key.namespace else key.name
            case = ET.SubElement(suite, "testcase", classname=f"{env.name}.{key.kind}", name=name)
            counts["tests"] += 1
            if item.status is ResourceStatus.ERROR:
                err = ET.SubElement(case, "error", type="error", message=item.error or "error")
                err.text = item.error or "error"
                counts["errors"] += 1
                continue
            if item.is_drifted:
                counted = item.counted
                if item.status is ResourceStatus.MISSING:
                    message = "missing from the cluster"
                else:
                    message = f"{len(counted)} field{'s' if len(counted) != 1 else ''} drifted"
                fail = ET.SubElement(
                    case, "failure", type=str(item.status), message=f"{key}: {message}"
                )
                lines = []
                for f in counted:
                    line = (
                        f"{f.severity} {f.path_str or '(object)'} {f.change}: "
                        f"desired {_value(f.desired, 120)}, live {_value(f.live, 120)}; "
                        f"who {_who(f)}"
                    )
                    if f.note:
                        line += f"; {f.note}"
                    verdict = _verdict(analysis, f)
                    if verdict is not None:
                        line += f"; {_verdict_text(verdict)}"
                    lines.append(line)
                lines.extend(_markers(item))
                fail.text = "\n".join(lines)
                counts["failures"] += 1
            else:
                quiet = [f for f in item.fields if not f.counts]
                if quiet:
                    out = ET.SubElement(case, "system-out")
                    out.text = "\n".join(
                        f"{_finding_label(f)} {f.path_str} {f.change}" for f in quiet
                    )
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", "0")
        totals.update(counts)
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --------------------------------------------------------------------------- entry points


def render(
    report: Report, fmt: str, *, analysis: Analysis | None = None, color: bool = False
) -> str:
    """The report in ``fmt`` (table|json|yaml|markdown|sarif|junit). ``analysis`` defaults
    to the report's own; ``color`` adds ANSI colours to the table only."""
    fmt = _ALIASES.get(fmt, fmt)
    analysis = analysis if analysis is not None else report.analysis
    if fmt == "table":
        return _render_table(report, analysis, color)
    if fmt == "json":
        return _render_json(report, analysis)
    if fmt == "yaml":
        return _render_yaml(report, analysis)
    if fmt == "markdown":
        return _render_markdown(report, analysis)
    if fmt == "sarif":
        return _render_sarif(report, analysis)
    if fmt == "junit":
        return _render_junit(report, analysis)
    raise ConfigError(f"unknown output format {fmt!r}", "-o", f"use one of {', '.join(FORMATS)}")


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """One ``-o FORMAT[=PATH]``: ``path`` None means stdout."""

    fmt: str
    path: str | None = None


_SUFFIX = {"markdown": "md", "junit": "xml", "table": "txt"}


def parse_outputs(values: Sequence[str] | None, default: str = "table") -> list[OutputSpec]:
    """``-o`` values (``table``, ``json=out.json``) as specs; ConfigError on a bad one."""
    if not values:
        return [OutputSpec(default)]
    out: list[OutputSpec] = []
    for raw in values:
        fmt, sep, path = raw.partition("=")
        fmt = _ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
        if fmt not in FORMATS:
            raise ConfigError(
                f"unknown output format {raw.partition('=')[0]!r}",
                "-o",
                f"use one of {', '.join(FORMATS)}, optionally FORMAT=PATH",
            )
        if sep and not path.strip():
            raise ConfigError(f"-o {raw}: no file after =", "-o", "write FORMAT=PATH")
        spec = OutputSpec(fmt, path.strip() if sep else None)
        clash = next((o for o in out if o.path == spec.path), None)
        if clash is not None and spec.path is None:
            raise ConfigError(
                f"-o {clash.fmt} and -o {fmt} would both go to standard output, mixed",
                "-o",
                f"send all but one to a file, e.g. -o {fmt}=drift.{_SUFFIX.get(fmt, fmt)}",
            )
        if clash is not None:
            raise ConfigError(
                f"-o {clash.fmt}= and -o {fmt}= name the same file", spec.path, "name two files"
            )
        out.append(spec)
    return out


def use_color(stream: IO[str], environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal and never when NO_COLOR is set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env:
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and env.get("TERM") != "dumb"


def write_outputs(
    report: Report,
    outputs: Sequence[OutputSpec],
    stdout: IO[str],
    *,
    analysis: Analysis | None = None,
    color: bool = False,
) -> None:
    """Render every requested output. Files first, each written whole (a temporary file
    renamed over the path: a reader or an interrupted run never sees half a report); the
    first file that cannot be written stops the run before anything is printed. The rest go
    to ``stdout``."""
    for spec in outputs:
        if spec.path is not None:
            text = render(report, spec.fmt, analysis=analysis, color=False)
            try:
                _write_whole(Path(spec.path), text)
            except OSError as exc:
                raise InputError(
                    f"cannot write the {spec.fmt} report ({exc.strerror or exc})",
                    spec.path,
                    "check the path after -o FORMAT=",
                ) from None
    printed = False
    for spec in outputs:
        if spec.path is None:
            if printed:
                stdout.write("\n")
            stdout.write(render(report, spec.fmt, analysis=analysis, color=color))
            printed = True
    stdout.flush()


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to a new file beside ``path`` and rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
