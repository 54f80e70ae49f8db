"""Benchmark: watch event to drift event latency at 10k objects.

10,000 Deployments (the realistic ones of ``once_http.py``) are desired in an embedded hub
space and live in a SimulatedCluster, watched by the Engine (reflectors, store, drift
store). After the initial sync, M writes change one Deployment each (``kubectl scale`` to a
new value, every write a new drift) at a steady rate from another thread; a subscriber of
the engine notes, per change, the time from just before the write to the DriftEvent for that
resource. Reported: p50 / p95 / p99 / max latency and the rate the events were handled at;
then the same M changes as fast as the writer can go (throughput).

    /work/venv/bin/python bench/watch_latency.py     # 10k objects, 2,000 changes (half at 200/s)
    /work/venv/bin/python bench/watch_latency.py --objects 10000 --changes 3000 --rate 500
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from once_http import NS, SPACE, build_world, seed_hub  # noqa: E402

from drifttui.cluster.protocol import WATCHED_KINDS  # noqa: E402
from drifttui.cluster.sim import SimulatedCluster  # noqa: E402
from drifttui.core.models import Environment, ResourceKey  # noqa: E402
from drifttui.engine import DriftEvent, Engine  # noqa: E402
from drifttui.hub.local import SqliteHub  # noqa: E402


def fill(cluster: SimulatedCluster, live: list[dict[str, Any]]) -> None:
    """Put the objects straight into the simulated server (seeding is not what is timed)."""
    server = cluster.server
    with server._cond:
        for o in live:
            server._rv += 1
            o["metadata"]["resourceVersion"] = str(server._rv)
            server._objects[("apps/Deployment", NS, o["metadata"]["name"])] = o


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(n: int, changes: int, rate: float | None, engine: Engine, cluster: SimulatedCluster,
        names: list[str]) -> dict[str, float]:  # fmt: skip
    arrived: dict[ResourceKey, float] = {}
    pending: set[ResourceKey] = set()
    lock = threading.Lock()
    done = threading.Event()

    def on_event(ev: DriftEvent) -> None:
        now = time.perf_counter()
        with lock:
            if ev.key in pending:
                pending.discard(ev.key)
                arrived[ev.key] = now
                if not pending and len(arrived) == changes:
                    done.set()

    unsubscribe = engine.subscribe(on_event)
    sent: dict[ResourceKey, float] = {}
    step = 1.0 / rate if rate else 0.0
    started = time.perf_counter()
    for i in range(changes):
        name = names[i % len(names)]
        key = ResourceKey("apps", "Deployment", NS, name)
        if step:
            delay = started + i * step - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        with lock:
            pending.add(key)
        sent[key] = time.perf_counter()
        cluster.scale("Deployment", NS, name, 20 + i // len(names), manager="kubectl")
    written = time.perf_counter()
    if not done.wait(120):
        raise SystemExit(f"only {len(arrived)} of {changes} drift events arrived")
    finished = time.perf_counter()
    unsubscribe()
    latencies = [(arrived[k] - sent[k]) * 1000 for k in sent]
    if os.environ.get("BENCH_TRACE"):
        print(" ".join(f"{x:.0f}" for x in latencies), file=sys.stderr)
    return {
        "changes": changes,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "events_per_s": changes / (finished - started),
        "write_per_s": changes / (written - started),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0, help="changes per second")
    args = parser.parse_args()
    assert args.changes <= args.objects, "one change per object"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        file=sys.stderr,
    )
    desired, live, _ = build_world(args.objects, drift_every=0)
    with tempfile.TemporaryDirectory(prefix="drifttui-bench-") as tmp:
        hub_path = Path(tmp) / "hub.db"
        seed_hub(hub_path, desired)
        hub = SqliteHub(hub_path)
        cluster = SimulatedCluster("bench", namespace=NS, history=3 * args.changes + 100)
        fill(cluster, live)
        env = Environment(name="bench", space=SPACE, namespace=NS)
        # Deployments only: the simulated server wakes every watch on every write and an
        # idle kind's stream scans the write log from its last event (the simulator's cost,
        # not the engine's; a real API server does not)
        engine = Engine(
            environments=[env], hub=hub, clusters={"bench": cluster}, kinds=[WATCHED_KINDS[0]]
        )
        t0 = time.perf_counter()
        engine.load_desired("bench")
        t1 = time.perf_counter()
        stop = threading.Event()
        engine.start_watches(stop)
        while not engine.is_ready():
            time.sleep(0.01)
        with engine.state("bench").lock:
            pass  # the watch thread has compared every listed object
        t2 = time.perf_counter()
        drifted = len(engine.store.drifted("bench"))
        print(
            f"  {args.objects} objects: hub read {t1 - t0:.1f} s, initial sync {t2 - t1:.1f} s, "
            f"{len(engine.store)} tracked, {drifted} drifted",
            file=sys.stderr,
        )
        names = [m["metadata"]["name"] for m in desired]
        half = args.changes // 2
        steady = run(args.objects, half, args.rate, engine, cluster, names[:half])
        burst = run(args.objects, args.changes - half, None, engine, cluster, names[half:])
        stop.set()
        hub.close()
    print("| mode | objects | changes | p50 | p95 | p99 | max | handled/s |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in ((f"steady {args.rate:g}/s", steady), ("burst", burst)):
        print(
            f"| {label} | {args.objects:,} | {r['changes']:,.0f} | {r['p50_ms']:.1f} ms | "
            f"{r['p95_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['max_ms']:.0f} ms | "
            f"{r['events_per_s']:,.0f} |"
        )


if __name__ == "__main__":
    main()
