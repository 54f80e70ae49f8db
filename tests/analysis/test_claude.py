"""The Claude analyst through the real anthropic SDK against a local Messages endpoint."""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.analysis import build_analyst, summary_line
from drifttui.analysis.claude import TOOL_NAME, ClaudeAnalyst
from drifttui.analysis.protocol import Action, Analyst, Risk
from drifttui.config import load_settings
from drifttui.core.models import MASK, Category, Sel
from tests.analysis.builders import container, fd, item, replicas, secret_item
from tests.analysis.conftest import API_KEY
from tests.analysis.messages_api import (
    MARKER,
    MessagesAPI,
    good_answer,
    raw_body,
    schema_echo,
    slow,
    status,
    text_answer,
    tool_answer,
)

Make = Callable[..., ClaudeAnalyst]


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def snapshot() -> list:
    """The acceptance check's case: a replica drift and a Secret drift."""
    return [
        replicas("backend-api", 3, 5, cost=26.13),
        secret_item("db-credentials", MASK, MASK),
    ]


# --------------------------------------------------------------------------- answers


def test_verdicts_come_from_claude_through_a_forced_tool(
    messages_api: MessagesAPI, claude: Make, log_lines: list[str]
) -> None:
    items = snapshot()
    analysis = claude(log=log_lines.append).analyze(items)

    (req,) = messages_api.requests
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == API_KEY
    assert "authorization" not in req.headers
    assert req.headers.get("anthropic-version")
    assert req.body["model"] == "claude-test-1"
    assert req.body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert req.finding_ids == [f.id for i in items for f in i.fields]
    assert [f["id"] for f in req.findings] == req.finding_ids

    assert analysis.source == "claude"
    assert analysis.model == "claude-test-1"
    assert analysis.summary.startswith("Over-scaling detected")
    assert [v.cause for v in analysis.verdicts] == [
        f"{MARKER} cause of {i}" for i in req.finding_ids
    ]
    assert {(v.risk, v.action, v.confidence) for v in analysis.verdicts} == {
        (Risk.COST, Action.PATCH_LIVE, 0.8)
    }
    # the cost model's figure wins over Claude's 99 where it has one
    assert [v.monthly_cost_usd for v in analysis.verdicts] == [26.13, 99.0]
    assert analysis.monthly_cost_usd == 26.13
    assert (analysis.input_tokens, analysis.output_tokens) == (120, 30)
    assert analysis.notes == ()
    assert log_lines == [
        "Claude analysis: 1 call, 2 findings sent (0 cached), 120 input / 30 output tokens "
        "(claude-test-1)"
    ]
    assert summary_line(analysis) == (
        f"Claude analysis: Over-scaling detected, {MARKER} summary, monthly cost impact $26/month"
    )


def test_schema_built_answer_keeps_the_summary_and_valid_verdicts(
    messages_api: MessagesAPI, claude: Make
) -> None:
    # what the acceptance check's stand-in answers: enum[0], 42, marker strings, one verdict
    messages_api.script(schema_echo)
    items = snapshot()
    analysis = claude().analyze(items)
    assert analysis.source == "claude"
    assert MARKER in analysis.summary
    first, second = analysis.verdicts
    assert (first.finding_id, first.risk, first.action, first.confidence) == (
        items[0].fields[0].id,
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        0.42,
    )
    assert MARKER not in second.cause  # the offline verdict fills the gap
    assert analysis.notes == (
        "Claude gave no verdict for 1 finding; offline verdicts shown for them",
    )


def test_verdict_for_an_unknown_finding_is_dropped_with_a_note(
    messages_api: MessagesAPI, claude: Make
) -> None:
    def answer(ids: list[str]) -> dict:
        return {
            "summary": "Two drifts.",
            "verdicts": [
                {
                    "finding_id": "DRIFT-NOT-ASKED",
                    "cause": "c",
                    "risk": "cost",
                    "action": "patch-live",
                    "confidence_percent": 50,
                    "reason": "r",
                    "monthly_cost_usd": None,
                },
                {
                    "finding_id": ids[1],
                    "cause": "valid cause",
                    "risk": "SECURITY",
                    "action": "investigate",
                    "confidence_percent": 70,
                    "reason": "valid reason",
                    "monthly_cost_usd": None,
                },
                {"finding_id": ids[0], "cause": "bad", "risk": "huge", "action": "x"},
            ],
        }

    messages_api.script(tool_answer(answer))
    items = snapshot()
    analysis = claude().analyze(items)
    assert analysis.summary == "Two drifts."
    assert analysis.verdicts[1].cause == "valid cause"
    assert analysis.verdicts[1].risk is Risk.SECURITY
    assert analysis.verdicts[0].cause == "over-scaling: 5 replicas instead of 3"  # offline
    assert analysis.notes == (
        "dropped 1 verdict for unknown finding 'DRIFT-NOT-ASKED'",
        "dropped 1 malformed verdict (missing or invalid fields)",
        "Claude gave no verdict for 1 finding; offline verdicts shown for them",
    )


def test_summary_is_kept_when_every_verdict_is_dropped(
    messages_api: MessagesAPI, claude: Make
) -> None:
    messages_api.script(
        tool_answer(
            lambda ids: {
                "summary": "Over-scaling detected, cost up.",
                "verdicts": [{"finding_id": "made-up", "cause": "c"}],
            }
        )
    )
    analysis = claude().analyze(snapshot())
    assert analysis.source == "claude"
    assert analysis.summary == "Over-scaling detected, cost up."
    assert [v.cause for v in analysis.verdicts] == [
        "over-scaling: 5 replicas instead of 3",
        "Secret changed outside ConfigHub (rotated or edited by hand?)",
    ]
    assert analysis.notes == (
        "dropped 1 verdict for unknown finding 'made-up'",
        "Claude gave no verdict for 2 findings; offline verdicts shown for them",
    )


@pytest.mark.parametrize(
    ("responder", "cause"),
    [
        (tool_answer(lambda ids: {"summary": 5, "verdicts": "none"}), "no usable summary"),
        (tool_answer(lambda ids: {"verdicts": [{"finding_id": ids[0]}]}), "no usable summary"),
        (text_answer("I think you should scale down."), "without the analysis tool"),
        (tool_answer(lambda ids: ["not", "an", "object"]), "not an object"),
    ],
    ids=["wrong-types", "missing-fields", "text-instead-of-tool", "not-an-object"],
)
def test_malformed_answer_falls_back_to_offline(
    messages_api: MessagesAPI, claude: Make, responder: Callable, cause: str
) -> None:
    messages_api.script(responder)
    analysis = claude().analyze(snapshot())
    assert analysis.source == "offline"
    assert analysis.summary.startswith("Secret changed, over-scaling detected")
    assert len(analysis.verdicts) == 2
    assert analysis.notes[0].startswith("Claude's answer unusable (")
    assert cause in analysis.notes[0]
    assert analysis.notes[0].endswith("; offline analysis shown")
    assert (analysis.input_tokens, analysis.output_tokens) == (120, 30)


# --------------------------------------------------------------------------- failures


def test_429_with_retry_after_then_success(messages_api: MessagesAPI, claude: Make) -> None:
    messages_api.script(status(429, {"retry-after": "0.01"}), good_answer())
    analysis = claude(max_retries=2).analyze(snapshot())
    assert len(messages_api.requests) == 2
    assert analysis.source == "claude"
    assert analysis.notes == ()


def test_429_every_time_falls_back_with_the_cause(messages_api: MessagesAPI, claude: Make) -> None:
    messages_api.script(status(429, {"retry-after-ms": "1"}))
    analysis = claude(max_retries=2).analyze(snapshot())
    assert len(messages_api.requests) == 3
    assert analysis.source == "offline"
    assert analysis.notes == (
        "Claude unavailable (429 rate limited after 3 attempts); offline analysis shown",
    )
    assert summary_line(analysis).endswith(
        "(Claude unavailable (429 rate limited after 3 attempts); offline analysis shown)"
    )


def test_500_every_time_falls_back(messages_api: MessagesAPI, claude: Make) -> None:
    messages_api.script(status(500, {"retry-after-ms": "1"}))
    analysis = claude(max_retries=1).analyze(snapshot())
    assert len(messages_api.requests) == 2
    assert analysis.source == "offline"
    assert analysis.notes == (
        "Claude unavailable (500 server error after 2 attempts); offline analysis shown",
    )
    assert [v.risk for v in analysis.verdicts] == [Risk.COST, Risk.SECURITY]


def test_timeout_falls_back(messages_api: MessagesAPI, claude: Make) -> None:
    messages_api.script(slow(30))
    analysis = claude(timeout_s=0.2, max_retries=1).analyze(snapshot())
    assert len(messages_api.requests) == 2  # one retry after the first timeout
    assert analysis.source == "offline"
    assert analysis.notes == (
        "Claude unavailable (timed out after 0.2s after 2 attempts); offline analysis shown",
    )


def test_rejected_key_is_not_retried(messages_api: MessagesAPI, claude: Make) -> None:
    messages_api.script(status(401))
    analysis = claude(max_retries=3).analyze(snapshot())
    assert len(messages_api.requests) == 1
    assert analysis.notes == ("Claude unavailable (401 key rejected); offline analysis shown",)


@pytest.mark.parametrize(
    ("responder", "note"),
    [
        (raw_body(b"<html>gateway</html>"), "unexpected response (JSONDecodeError)"),
        (raw_body(b'{"unexpected": true}'), "answer unusable (Claude answered without the"),
    ],
    ids=["not-json", "not-a-message"],
)
def test_garbage_response_falls_back(
    messages_api: MessagesAPI, claude: Make, responder: Callable, note: str
) -> None:
    messages_api.script(responder)
    analysis = claude(max_retries=0).analyze(snapshot())
    assert analysis.source == "offline"
    assert note in analysis.notes[0]


def test_unreachable_endpoint_falls_back(claude: Make) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    analysis = claude(base_url=f"http://127.0.0.1:{port}", max_retries=0).analyze(snapshot())
    assert analysis.source == "offline"
    assert analysis.notes == ("Claude unavailable (cannot connect); offline analysis shown",)


# --------------------------------------------------------------------------- secrets


def test_no_secret_or_token_reaches_any_request(
    messages_api: MessagesAPI, claude: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hub_token = "cub-token-must-not-leak"
    leaky = [
        replicas("backend-api", 3, 5, cost=26.13),
        secret_item("db", "s3cret-value-A", b64("s3cret-value-B")),
        item(
            "Deployment",
            "api",
            [
                fd(container("env", Sel((("name", "DB_PASSWORD"),)), "value"), "pw-1", "pw-22"),
                fd(container("env"), [], [{"name": "DATABASE_URL", "value": "pg://u:pw333@db/x"}]),
                fd(container("args"), [], [f"--hub-token={hub_token}"]),
            ],
        ),
        item("ConfigMap", "cfg", [fd(("data", "api.key"), "k-1", "k-22", Category.CONFIG_DATA)]),
    ]
    messages_api.script(status(500, {"retry-after-ms": "1"}), good_answer())
    analyst = claude(known_secrets=[hub_token], max_retries=1)
    analysis = analyst.analyze(leaky)
    assert len(messages_api.requests) == 2
    assert analysis.source == "claude"
    secrets = ["s3cret-value-A", "s3cret-value-B", "pw-1", "pw-22", "pw333", "k-22", hub_token]
    for body in messages_api.bodies:
        for s in secrets:
            assert s not in body
            assert b64(s) not in body
        assert API_KEY not in body
    shown = json.dumps([caplog.text, repr(analyst), str(analysis), summary_line(analysis)])
    assert API_KEY not in shown
    for s in secrets:
        assert s not in shown


# --------------------------------------------------------------------------- cache, batching


def test_same_drift_same_verdict_no_second_call(messages_api: MessagesAPI, claude: Make) -> None:
    analyst = claude()
    items = snapshot()
    first = analyst.analyze(items)
    second = analyst.analyze(items)
    assert len(messages_api.requests) == 1
    assert second.verdicts == first.verdicts
    assert second.summary == first.summary
    assert (second.input_tokens, second.output_tokens) == (0, 0)


def test_disk_cache_serves_a_new_process_and_keys_on_the_model(
    messages_api: MessagesAPI, claude: Make, cache_dir: Path, log_lines: list[str]
) -> None:
    items = snapshot()
    first = claude(cache_dir=cache_dir).analyze(items)
    assert (cache_dir / "analysis-cache.json").stat().st_mode & 0o777 == 0o600
    again = claude(cache_dir=cache_dir, log=log_lines.append).analyze(items)
    assert len(messages_api.requests) == 1
    assert (again.summary, again.verdicts) == (first.summary, first.verdicts)
    assert log_lines == ["Claude analysis: 2 findings, all from cache, no call (claude-test-1)"]
    claude(cache_dir=cache_dir, model="claude-test-2").analyze(items)
    assert len(messages_api.requests) == 2


def test_only_uncached_findings_are_sent(messages_api: MessagesAPI, claude: Make) -> None:
    analyst = claude()
    items = snapshot()
    analyst.analyze(items)
    new = replicas("frontend-web", 2, 1)
    analysis = analyst.analyze([*items, new])
    assert len(messages_api.requests) == 2
    second = messages_api.requests[1]
    assert second.finding_ids == [new.fields[0].id]
    body = json.loads(second.user_text[second.user_text.index("{") :])
    assert [a["id"] for a in body["already_analysed"]] == [f.id for i in items for f in i.fields]
    assert len(analysis.verdicts) == 3


def test_changed_drift_is_asked_again(messages_api: MessagesAPI, claude: Make) -> None:
    analyst = claude()
    analyst.analyze([replicas("web", 3, 5)])
    analyst.analyze([replicas("web", 3, 7)])  # same finding id, other values
    assert len(messages_api.requests) == 2


def test_failures_are_not_cached(messages_api: MessagesAPI, claude: Make) -> None:
    messages_api.script(status(500, {"retry-after-ms": "1"}), status(500), good_answer())
    analyst = claude(max_retries=1)
    assert analyst.analyze(snapshot()).source == "offline"
    assert analyst.analyze(snapshot()).source == "claude"
    assert len(messages_api.requests) == 3


def test_corrupt_disk_cache_is_ignored(
    messages_api: MessagesAPI, claude: Make, cache_dir: Path, log_lines: list[str]
) -> None:
    cache_dir.mkdir()
    (cache_dir / "analysis-cache.json").write_text("{not json")
    analysis = claude(cache_dir=cache_dir, log=log_lines.append).analyze(snapshot())
    assert analysis.source == "claude"
    assert any("analysis cache" in line and "ignored" in line for line in log_lines)
    assert json.loads((cache_dir / "analysis-cache.json").read_text())["version"] == 1


def test_one_call_per_snapshot_chunked_when_large(messages_api: MessagesAPI, claude: Make) -> None:
    items = [replicas(f"web-{n}", 2, 3 + n) for n in range(5)]
    one = claude().analyze(items)
    assert len(messages_api.requests) == 1
    assert len(one.verdicts) == 5
    chunked = claude(max_findings_per_call=2).analyze(
        [replicas(f"api-{n}", 2, 3 + n) for n in range(5)]
    )
    assert [len(r.finding_ids) for r in messages_api.requests[1:]] == [2, 2, 1]
    assert {v.cause.startswith(MARKER) for v in chunked.verdicts} == {True}


def test_no_drift_makes_no_call(messages_api: MessagesAPI, claude: Make) -> None:
    analysis = claude().analyze([])
    assert messages_api.requests == []
    assert analysis.verdicts == ()


# --------------------------------------------------------------------------- wiring


def test_base_url_comes_from_anthropic_base_url(
    messages_api: MessagesAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", messages_api.url)
    analysis = build_analyst(API_KEY, "claude-test-1", max_retries=0).analyze(snapshot())
    assert len(messages_api.requests) == 1
    assert analysis.source == "claude"


@pytest.mark.parametrize("variable", ["CLAUDE_API_KEY", "ANTHROPIC_API_KEY"])
def test_key_from_the_environment_via_settings(
    messages_api: MessagesAPI, variable: str, tmp_path: Path
) -> None:
    settings = load_settings(env={variable: "sk-from-env-1234", "HOME": str(tmp_path)})
    assert settings.claude_api_key is not None
    analyst = build_analyst(
        settings.claude_api_key.reveal(), settings.claude_model, base_url=messages_api.url
    )
    assert isinstance(analyst, ClaudeAnalyst)
    assert isinstance(analyst, Analyst)
    analyst.analyze(snapshot())
    assert messages_api.requests[0].headers["x-api-key"] == "sk-from-env-1234"
    assert "sk-from-env" not in repr(analyst)


def test_without_a_key_the_offline_analyst_answers(messages_api: MessagesAPI) -> None:
    analyst = build_analyst(None, "claude-test-1", base_url=messages_api.url)
    assert analyst.name == "offline"
    analysis = analyst.analyze(snapshot())
    assert analysis.source == "offline"
    assert analysis.notes == ()
    assert messages_api.requests == []


def test_any_answer_any_drift_never_raises_nor_leaks() -> None:
    api = MessagesAPI().start()
    responders = [
        schema_echo,
        good_answer(),
        status(500, {"retry-after-ms": "1"}),
        raw_body(b"garbage"),
        tool_answer(lambda ids: {"summary": None, "verdicts": [{"finding_id": ids[-1]}]}),
        text_answer('{"verdicts": [], "summary": "text json"}'),
    ]
    secret_text = st.text(alphabet="abcdefXYZ0189", min_size=6, max_size=12).map(
        lambda s: "S3cr3t-" + s
    )

    @settings(max_examples=30, deadline=None)
    @given(
        secret=secret_text,
        answer=st.integers(0, len(responders) - 1),
        n=st.integers(1, 4),
        live=st.integers(0, 9),
    )
    def run(secret: str, answer: int, n: int, live: int) -> None:
        api.script(responders[answer])
        items = [replicas(f"w{k}", 3, live) for k in range(n)]
        items.append(secret_item("db", secret, b64(secret)))
        items.append(
            item("Deployment", "api", [fd(container("args"), [], [f"--password={secret}"])])
        )
        before = len(api.requests)
        analyst = ClaudeAnalyst(API_KEY, "m", base_url=api.url, max_retries=0, timeout_s=5)
        analysis = analyst.analyze(items)
        assert [v.finding_id for v in analysis.verdicts] == [f.id for i in items for f in i.counted]
        assert analysis.summary
        for body in api.bodies[before:]:
            assert secret not in body
            assert b64(secret) not in body

    try:
        run()
    finally:
        api.stop()
