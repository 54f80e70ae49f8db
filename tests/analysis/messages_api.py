"""A local stand-in for the Anthropic Messages API (POST /v1/messages) on 127.0.0.1.

The real ``anthropic`` SDK is pointed at it. Answers are scripted per request (a queue; the
last answer repeats), every request is recorded (path, headers, parsed body) so tests can
count calls and inspect what left the process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = "LOCAL-MESSAGES-MARKER"


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str

    @property
    def tool_schema(self) -> dict[str, Any]:
        return dict(self.body["tools"][0]["input_schema"])

    @property
    def finding_ids(self) -> list[str]:
        """Finding ids offered in this request's tool schema."""
        verdict = self.tool_schema["properties"]["verdicts"]["items"]
        return list(verdict["properties"]["finding_id"]["enum"])

    @property
    def user_text(self) -> str:
        return str(self.body["messages"][0]["content"])

    @property
    def findings(self) -> list[dict[str, Any]]:
        text = self.user_text
        return list(json.loads(text[text.index("{") :])["findings"])


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded, or sent as is when bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # waits (interruptibly) before answering


Responder = Callable[[dict[str, Any]], Reply]


def message(content: list[dict[str, Any]], req: dict[str, Any], stop: str = "end_turn") -> Reply:
    return Reply(
        body={
            "id": "msg_local",
            "type": "message",
            "role": "assistant",
            "model": req.get("model", "x"),
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 120, "output_tokens": 30},
        }
    )


def tool_answer(build: Callable[[list[str]], dict[str, Any]]) -> Responder:
    """Answer with the forced tool, its input built from the finding ids asked about."""

    def respond(req: dict[str, Any]) -> Reply:
        tool = req["tools"][0]
        verdict = tool["input_schema"]["properties"]["verdicts"]["items"]
        ids = verdict["properties"]["finding_id"]["enum"]
        block = {"type": "tool_use", "id": "toolu_1", "name": tool["name"], "input": build(ids)}
        return message([block], req, stop="tool_use")

    return respond


def good_answer(
    risk: str = "cost", action: str = "patch-live", cost: float | None = 99.0
) -> Responder:
    """A valid answer: one verdict per finding asked."""
    return tool_answer(
        lambda ids: {
            "summary": f"Over-scaling detected, {MARKER} summary. More detail here.",
            "verdicts": [
                {
                    "finding_id": i,
                    "cause": f"{MARKER} cause of {i}",
                    "risk": risk,
                    "action": action,
                    "confidence_percent": 80,
                    "reason": f"{MARKER} reason",
                    "monthly_cost_usd": cost,
                }
                for i in ids
            ],
        }
    )


def _instance(schema: dict[str, Any]) -> Any:
    """What the acceptance check's stand-in returns: enum[0], 42, a marker, one element."""
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _instance(schema["anyOf"][0])
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        return {k: _instance(v) for k, v in schema.get("properties", {}).items()}
    if t == "array":
        return [_instance(schema.get("items", {"type": "string"}))]
    if t in ("number", "integer"):
        return 42
    if t == "boolean":
        return False
    return f"{MARKER} text"


def schema_echo(req: dict[str, Any]) -> Reply:
    tool = req["tools"][0]
    block = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": tool["name"],
        "input": _instance(tool["input_schema"]),
    }
    return message([block], req, stop="tool_use")


def text_answer(text: str) -> Responder:
    return lambda req: message([{"type": "text", "text": text}], req)


def status(code: int, headers: dict[str, str] | None = None) -> Responder:
    kinds = {429: "rate_limit_error", 401: "authentication_error", 500: "api_error"}
    body = {"type": "error", "error": {"type": kinds.get(code, "api_error"), "message": "no"}}
    return lambda req: Reply(status=code, body=body, headers=dict(headers or {}))


def raw_body(body: bytes) -> Responder:
    return lambda req: Reply(body=body)


def slow(delay_s: float) -> Responder:
    return lambda req: Reply(delay_s=delay_s, body=None)


class MessagesAPI:
    """The server. ``script(*responders)`` sets the answers; ``requests`` records the calls."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: list[Responder] = [good_answer()]
        self._lock = threading.Lock()
        self.release = threading.Event()  # ends any delayed answer at teardown
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                req = json.loads(raw or "{}")
                with api._lock:
                    api.requests.append(
                        Recorded(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, req, raw
                        )
                    )
                    responder = api._script.pop(0) if len(api._script) > 1 else api._script[0]
                reply = responder(req)
                if reply.delay_s:
                    api.release.wait(reply.delay_s)
                    if reply.body is None:
                        self.close_connection = True
                        return
                body = reply.body
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *responders: Responder) -> None:
        with self._lock:
            self._script = list(responders)

    def start(self) -> MessagesAPI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def bodies(self) -> list[str]:
        return [r.raw for r in self.requests]
