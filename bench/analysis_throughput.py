"""Analysis throughput: redaction, the offline analyst, and the Claude analyst's own overhead.

Builds N drift findings of mixed kinds (replicas, images, resources, env vars holding
credentials, ConfigMap data, Secrets) and measures, in this process:

1. ``findings_for_analysis`` (redaction) in findings per second;
2. ``OfflineAnalyst.analyze`` in findings per second;
3. ``ClaudeAnalyst.analyze`` against a local stand-in Messages endpoint (stdlib HTTP server
   answering from the tool schema): calls made, time per call, then the same snapshot again
   (all verdicts cached: zero calls).

Run: /work/venv/bin/python bench/analysis_throughput.py [N]
"""

from __future__ import annotations

import base64
import json
import platform
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drifttui.analysis.claude import ClaudeAnalyst
from drifttui.analysis.offline import OfflineAnalyst
from drifttui.analysis.redact import findings_for_analysis
from drifttui.core.models import (
    MASK,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Sel,
    Severity,
    finding_id,
    stable_hash,
)


def make_items(n_findings: int) -> list[DriftItem]:
    api = Sel((("name", "api"),))
    c = ("spec", "template", "spec", "containers", api)
    items = []
    for i in range(n_findings // 5):
        env = "prod" if i % 3 == 0 else "dev"
        key = ResourceKey("apps", "Deployment", "shop", f"svc-{i}")
        raw = [
            FieldDrift(
                ("spec", "replicas"),
                Change.CHANGED,
                3,
                3 + i % 4,
                Category.REPLICAS,
                Severity.MEDIUM,
            ),
            FieldDrift(
                (*c, "image"),
                Change.CHANGED,
                f"reg.io/svc:{i}.0",
                f"reg.io/svc:{i}.1",
                Category.IMAGE,
                Severity.MEDIUM,
            ),
            FieldDrift(
                (*c, "resources", "requests", "cpu"),
                Change.CHANGED,
                "500m",
                "1",
                Category.RESOURCES,
                Severity.LOW,
            ),
            FieldDrift(
                (*c, "env"),
                Change.CHANGED,
                [{"name": "DB_PASSWORD", "value": f"pw{i}"}],
                [
                    {"name": "DB_PASSWORD", "value": f"pw{i}x"},
                    {"name": "DSN", "value": f"pg://u:p{i}@db/x"},
                ],
                Category.OTHER,
                Severity.MEDIUM,
            ),
            FieldDrift(
                ("metadata", "annotations", "note"),
                Change.CHANGED,
                "a",
                base64.b64encode(f"token-{i}-abcdefghijkl".encode()).decode(),
                Category.LABELS,
                Severity.LOW,
            ),
        ]
        fields = tuple(
            FieldDrift(
                **{
                    **{s: getattr(f, s) for s in FieldDrift.__slots__},
                    "id": (fid := finding_id(env, key, f.path, f.change)),
                    "fingerprint": fid + stable_hash(repr(f.desired), repr(f.live)),
                }
            )
            for f in raw
        )
        items.append(
            DriftItem(
                key,
                "apps/v1",
                ResourceStatus.DRIFTED,
                fields,
                environment=env,
                monthly_cost_usd=11.5 * (i % 4),
            )
        )
    items.append(
        DriftItem(
            ResourceKey("", "Secret", "shop", "db"),
            "v1",
            ResourceStatus.DRIFTED,
            (
                FieldDrift(
                    ("data", "password"),
                    Change.CHANGED,
                    MASK,
                    "czNjcmV0",
                    Category.SECRET,
                    Severity.HIGH,
                    id="DRIFT-SECRET",
                ),
            ),
        )
    )
    return items


def _instance(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _instance(schema["anyOf"][0])
    if schema.get("type") == "object" or "properties" in schema:
        return {k: _instance(v) for k, v in schema.get("properties", {}).items()}
    if schema.get("type") == "array":
        return [_instance(schema.get("items", {}))]
    return 42 if schema.get("type") in ("number", "integer") else "bench"


class Handler(BaseHTTPRequestHandler):
    calls = 0

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        Handler.calls += 1
        req = json.loads(self.rfile.read(int(self.headers["content-length"])))
        tool = req["tools"][0]
        answer = _instance(tool["input_schema"])  # then one verdict per finding id asked
        asked = tool["input_schema"]["properties"]["verdicts"]["items"]["properties"]
        template = answer["verdicts"][0]
        answer["verdicts"] = [{**template, "finding_id": i} for i in asked["finding_id"]["enum"]]
        out = json.dumps(
            {
                "id": "m",
                "type": "message",
                "role": "assistant",
                "model": req["model"],
                "content": [
                    {
                        "type": "tool_use",
                        "id": "t",
                        "name": tool["name"],
                        "input": answer,
                    }
                ],
                "stop_reason": "tool_use",
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    items = make_items(n)
    count = sum(len(i.fields) for i in items)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {count} findings")

    findings, t = timed(lambda: findings_for_analysis(items))
    print(f"redaction: {len(findings)} findings in {t:.3f} s = {len(findings) / t:,.0f}/s")
    text = json.dumps(findings)
    assert "pw1x" not in text
    assert "p1@" not in text

    analysis, t = timed(lambda: OfflineAnalyst().analyze(items))
    print(
        f"offline analyst: {len(analysis.verdicts)} verdicts in {t:.3f} s "
        f"= {len(analysis.verdicts) / t:,.0f}/s"
    )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    small = items[: 1000 // 5]
    n_small = sum(len(i.fields) for i in small)
    analyst = ClaudeAnalyst(
        "sk-bench", "claude-bench", base_url=url, max_retries=0, log=lambda line: None
    )
    _, t_import = timed(lambda: __import__("anthropic"))
    _first, t1 = timed(lambda: analyst.analyze(small))
    calls1 = Handler.calls
    _, t2 = timed(lambda: analyst.analyze(small))
    print(f"import anthropic: {t_import:.2f} s (once per process)")
    print(
        f"claude analyst, {n_small} findings: {calls1} calls in {t1:.3f} s "
        f"({t1 / calls1 * 1000:.0f} ms per call, local endpoint); "
        f"again from cache: {Handler.calls - calls1} calls in {t2 * 1000:.0f} ms"
    )
    server.shutdown()


if __name__ == "__main__":
    main()
