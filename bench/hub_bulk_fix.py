"""Benchmark: bulk fix of 500 units selected by a where-clause, and a 500-unit push-upgrade.

The fix is what ``drifttui fix`` / the TUI's ``b`` does: set ``spec.replicas`` back to the
desired value on every unit a filter selects, as one hub call (one transaction on the
embedded hub; ``POST /function/invoke?where=`` over HTTP). Counts hub calls (protocol
methods) and, over HTTP, requests on the wire; times each on the embedded hub and through
``hub serve`` on 127.0.0.1.

    /work/venv/bin/python bench/hub_bulk_fix.py [--units 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drifttui.hub.http import ConfigHubClient
from drifttui.hub.local import SqliteHub
from drifttui.hub.server import ServerThread, create_app

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        resources:
          requests: {{cpu: 100m, memory: 64Mi}}
"""


class Counting:
    """Counts the Hub protocol calls made through it."""

    def __init__(self, hub: Any) -> None:
        self._hub = hub
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._hub, name)
        if not callable(attr):
            return attr

        def call(*a: Any, **kw: Any) -> Any:
            self.calls += 1
            return attr(*a, **kw)

        return call


def seed(backing: SqliteHub, n: int) -> None:
    backing.create_space("base")
    backing.create_space("prod")
    drifted = [
        (f"app-{i:04d}", DEPLOYMENT.format(name=f"app-{i:04d}", replicas=5), {"drift": "replicas"})
        for i in range(n)
    ]
    clean = [
        (f"ok-{i:04d}", DEPLOYMENT.format(name=f"ok-{i:04d}", replicas=3), {}) for i in range(n)
    ]
    backing.create_units("prod", drifted + clean)
    backing.create_units(
        "base", [(s, DEPLOYMENT.format(name=s, replicas=3), {"up": "1"}) for s, _, _ in drifted]
    )


def measure(
    label: str, fn: Callable[[], Any], repeat: int, reset: Callable[[], None]
) -> list[float]:
    times = []
    for _ in range(repeat):
        reset()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def run(kind: str, n: int, repeat: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    backing = SqliteHub(tmp / "hub.db", author="bench")
    seed(backing, n)
    server = None
    hub: Any = backing
    if kind == "http":
        server = ServerThread(create_app(backing, "bench-token"))
        hub = ConfigHubClient(server.start(), "bench-token", author="bench")
    counted = Counting(hub)
    flip = {"to": 3}

    def reset() -> None:  # put the drift back (directly on the file, not measured)
        flip["to"] = 3
        backing.bulk_set_paths("Labels.drift = 'replicas'", {"spec.replicas": 5}, space="prod")

    def fix() -> None:
        res = counted.bulk_set_paths(
            "Labels.drift = 'replicas'",
            {"spec.replicas": 3},
            space="prod",
            description="bulk fix: replicas back to 3",
        )
        assert res.ok
        assert len(res.results) == n
        assert all(r.revision for r in res.results)

    requests_before = getattr(hub, "request_count", 0)
    counted.calls = 0
    fix_times = measure("fix", fix, 1, reset)  # warm-up and the call count
    calls, requests = counted.calls, getattr(hub, "request_count", 0) - requests_before
    fix_times = measure("fix", fix, repeat, reset)

    # push-upgrade: 500 clones of base units, upstream changed, one bulk call
    for s in [f"app-{i:04d}" for i in range(n)]:
        backing.clone_unit("base", s, "prod", f"clone-{s}")
    base_id = backing.get_space("base").id
    gen = {"r": 10}

    def change_upstream() -> None:
        gen["r"] += 1
        backing.bulk_set_paths("Labels.up = '1'", {"spec.replicas": gen["r"]}, space="base")

    def push() -> None:
        res = counted.bulk_patch(
            f"UpstreamSpaceID = '{base_id}' AND "
            "Unit.UpstreamRevisionNum < UpstreamUnit.HeadRevisionNum",
            space="prod",
            upgrade=True,
            description="push-upgrade",
        )
        assert res.ok
        assert len(res.results) == n

    before = counted.calls
    r0 = getattr(hub, "request_count", 0)
    measure("push", push, 1, change_upstream)
    push_calls = counted.calls - before
    push_requests = getattr(hub, "request_count", 0) - r0
    push_times = measure("push", push, repeat, change_upstream)
    if server is not None:
        hub.close()
        server.stop()
    backing.close()
    return {
        "kind": kind,
        "fix_calls": calls,
        "fix_requests": requests,
        "fix_median_s": statistics.median(fix_times),
        "fix_min_s": min(fix_times),
        "push_calls": push_calls,
        "push_requests": push_requests,
        "push_median_s": statistics.median(push_times),
        "push_min_s": min(push_times),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{len(__import__('os').sched_getaffinity(0))} cores"
    )
    print(f"{args.units} drifted units selected among {2 * args.units} by where-clause")
    for kind in ("embedded", "http"):
        r = run(kind, args.units, args.repeat)
        print(
            f"{kind:8}  bulk fix: {r['fix_calls']} hub call(s), {r['fix_requests']} HTTP "
            f"request(s), median {r['fix_median_s'] * 1000:.0f} ms (min "
            f"{r['fix_min_s'] * 1000:.0f} ms) | push-upgrade: {r['push_calls']} call(s), "
            f"{r['push_requests']} request(s), median {r['push_median_s'] * 1000:.0f} ms"
        )
        assert r["fix_calls"] <= 5
        assert r["push_calls"] <= 5
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
