"""How an analysis reads: the seed's log line, the TUI pane's Markdown, the report block."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from drifttui.analysis import analysis_markdown, analysis_to_dict, summary_line
from drifttui.analysis.claude import parse_answer
from drifttui.analysis.offline import OfflineAnalyst
from drifttui.analysis.protocol import Action, Analysis, Risk, Verdict
from drifttui.analysis.render import escape_md
from tests.analysis.builders import replicas, secret_item
from tests.support import ROOT


def verdict(fid: str, risk: Risk = Risk.COST, **kw: object) -> Verdict:
    base: dict = dict(
        finding_id=fid,
        cause="over-scaling",
        risk=risk,
        action=Action.PATCH_LIVE,
        confidence=0.8,
        reason="scale back",
    )
    base.update(kw)
    return Verdict(**base)


@pytest.mark.parametrize(
    ("analysis", "line"),
    [
        (
            Analysis("Over-scaling detected. Details.", (), "claude", monthly_cost_usd=26.13),
            "Claude analysis: Over-scaling detected, monthly cost impact $26/month",
        ),
        (
            Analysis("Over-scaling detected; 2 findings", (), "offline", monthly_cost_usd=180.4),
            "Offline analysis: Over-scaling detected, monthly cost impact $180/month",
        ),
        (
            Analysis("Under-scaling detected.", (), "claude", monthly_cost_usd=-13.2),
            "Claude analysis: Under-scaling detected, monthly cost impact -$13/month",
        ),
        (
            Analysis("Secret changed.", (), "offline", monthly_cost_usd=0.3),
            "Offline analysis: Secret changed, monthly cost impact $0.30/month",
        ),
        (
            Analysis("Image changed.", (), "offline", notes=("Claude unavailable (500)", "x")),
            "Offline analysis: Image changed (Claude unavailable (500) (+1 more))",
        ),
        (
            Analysis("Version 2.4.1 is out. More.", (), "claude"),
            "Claude analysis: Version 2.4.1 is out",
        ),
    ],
)
def test_summary_line(analysis: Analysis, line: str) -> None:
    assert summary_line(analysis) == line


def test_summary_line_of_the_offline_seed_case() -> None:
    analysis = OfflineAnalyst().analyze([replicas("backend-api", 3, 5, cost=26.13)])
    assert summary_line(analysis) == (
        "Offline analysis: Over-scaling detected, monthly cost impact $26/month"
    )


def test_markdown_pane_shows_summary_cost_notes_and_each_verdict_by_risk() -> None:
    items = [replicas("backend-api", 3, 5), secret_item("db", "***", "***")]
    rep, sec = items[0].fields[0].id, items[1].fields[0].id
    analysis = Analysis(
        summary="Over-scaling detected.",
        verdicts=(
            verdict(rep, monthly_cost_usd=26.13),
            verdict(sec, Risk.SECURITY, action=Action.INVESTIGATE, confidence=0.6),
        ),
        source="claude",
        model="claude-test-1",
        notes=("dropped 1 verdict for unknown finding 'x'",),
        input_tokens=100,
        output_tokens=20,
        monthly_cost_usd=26.13,
    )
    md = analysis_markdown(analysis, items)
    assert md.startswith("### Claude analysis (claude-test-1)\n\nOver-scaling detected.\n")
    assert "**Monthly cost impact:** +$26.13/month" in md
    assert "> dropped 1 verdict for unknown finding 'x'" in md
    assert "*100 input / 20 output tokens*" in md
    # security first, then cost
    assert md.index("#### Secret/shop/db · data.password") < md.index(
        "#### Deployment/shop/backend-api · spec.replicas"
    )
    assert "- **Recommended:** investigate (60% confident): scale back" in md
    assert "- **Cost:** +$26.13/month" in md
    assert md.rstrip().endswith("every action is previewed and confirmed.*")


def test_markdown_escapes_model_text() -> None:
    analysis = Analysis(
        summary="# Pwned [click](http://evil.example) <script>",
        verdicts=(verdict("DRIFT-X", cause="*bold* `code` | pipe"),),
        source="claude",
    )
    md = analysis_markdown(analysis, [])
    assert "\\# Pwned \\[click\\](http://evil.example) \\<script\\>" in md
    assert "\\*bold\\* \\`code\\` \\| pipe" in md
    assert "#### DRIFT-X" in md
    assert escape_md("12. item") == "12\\. item"


def test_report_block_is_json_and_complete() -> None:
    analysis = OfflineAnalyst().analyze([replicas("backend-api", 3, 5, cost=26.13)])
    block = json.loads(json.dumps(analysis_to_dict(analysis)))
    assert block["source"] == "offline"
    assert block["summary_line"] == summary_line(analysis)
    assert block["monthly_cost_usd"] == 26.13
    (v,) = block["verdicts"]
    assert v["risk"] == "cost"
    assert v["action"] == "patch-live"
    assert v["confidence"] == 0.8
    assert v["monthly_cost_usd"] == 26.13


@pytest.mark.parametrize(
    ("answer", "kept", "notes"),
    [
        (
            {
                "summary": "ok",
                "verdicts": [
                    {
                        "finding_id": "A",
                        "cause": "c",
                        "risk": "Cost",
                        "action": "patch_live",
                        "confidence_percent": 100,
                        "reason": "r",
                        "monthly_cost_usd": float("nan"),
                    }
                ],
            },
            {"A": (Risk.COST, Action.PATCH_LIVE, 1.0, None)},
            [],
        ),
        (
            {
                "summary": "ok",
                "verdicts": [
                    {
                        "finding_id": "A",
                        "cause": "c",
                        "risk": "none",
                        "action": "investigate",
                        "confidence_percent": 101,
                        "reason": "r",
                    },
                    {
                        "finding_id": "B",
                        "cause": " ",
                        "risk": "none",
                        "action": "investigate",
                        "confidence_percent": 5,
                        "reason": "r",
                    },
                    "junk",
                ],
            },
            {},
            ["dropped 3 malformed verdicts (missing or invalid fields)"],
        ),
        (
            {
                "summary": "ok",
                "verdicts": [
                    {
                        "finding_id": "A",
                        "cause": "c",
                        "risk": "cost",
                        "action": "add-ignore-rule",
                        "confidence": 0.25,
                        "reason": "r",
                        "monthly_cost_usd": 12.345,
                    },
                    {
                        "finding_id": "A",
                        "cause": "again",
                        "risk": "cost",
                        "action": "investigate",
                        "confidence": 0.5,
                        "reason": "r",
                    },
                ],
            },
            {"A": (Risk.COST, Action.ADD_IGNORE_RULE, 0.25, 12.35)},
            ["dropped 1 repeated verdict"],
        ),
        ({"summary": "only a summary"}, {}, ["Claude's answer has no list of verdicts"]),
    ],
    ids=["normalised", "invalid-dropped", "duplicate-dropped", "summary-only"],
)
def test_answer_validation(answer: dict, kept: dict, notes: list[str]) -> None:
    parsed = parse_answer(answer, ["A", "B"])
    got = {
        fid: (v.risk, v.action, v.confidence, v.monthly_cost_usd)
        for fid, v in parsed.verdicts.items()
    }
    assert got == kept
    assert parsed.notes == notes
    assert parsed.is_usable


def test_importing_the_analysis_package_does_not_import_the_sdk() -> None:
    code = "import sys, drifttui.analysis; print('anthropic' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"
