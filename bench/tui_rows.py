"""The TUI with 10,000 drift rows: time to first paint, filter keystroke to updated table,
and a burst of 10,000 watch events.

The demo world (embedded hub, simulated clusters, fixed clock) gets N synthetic drifted
Deployments in prod, put into the engine's store as the engine itself would (``store.put``:
one DriftItem per resource, one replicas finding each, a third of them also an image
finding, severities and costs varied). The app is the real one (``make_app``, watches
running on the simulated clusters), headless at 120x40. Drift records are off (10,000 hub
writes in a background thread would measure the hub, see ``bench/hub_bulk_fix.py``).

1. **first paint**: from entering ``app.run_test()`` to the first repaint of the drift list
   holding every row (targets: under 2 s).
2. **filter keystroke**: ``/`` then ``app-0424`` typed one key at a time, then eight
   backspaces (the list narrows to a few rows and widens back to all of them); per key,
   the time from sending the key to the repaint of the list with the new rows (target:
   under 100 ms). Keys go through Pilot (the same path as a terminal's key events).
3. **burst**: N more events (every item's live replicas changes) put from a thread; the
   time until the list shows the last one, and how many batches and pulse repaints it took.

    /work/venv/bin/python bench/tui_rows.py              # 10,000 rows
    /work/venv/bin/python bench/tui_rows.py --rows 50000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drifttui.core.models import (  # noqa: E402
    Attribution,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Severity,
    finding_id,
)
from drifttui.demo import build_demo  # noqa: E402
from drifttui.tui.app import make_app  # noqa: E402
from drifttui.tui.widgets.pulse import Pulse  # noqa: E402

FIXED_NOW = 1_764_000_000.0
SEVERITIES = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


def synthetic_items(n: int, bump: int = 0) -> list[DriftItem]:
    who = Attribution("kubectl", "Update", None, "scale", True)
    out = []
    for i in range(n):
        key = ResourceKey("apps", "Deployment", "drift-test", f"app-{i:05d}")
        path = ("spec", "replicas")
        fields = [
            FieldDrift(
                path=path,
                change=Change.CHANGED,
                desired=3,
                live=4 + (i + bump) % 7,
                category=Category.REPLICAS,
                severity=SEVERITIES[i % 4],
                attribution=who,
                id=finding_id("prod", key, path, Change.CHANGED),
            )
        ]
        if i % 3 == 0:
            ipath = ("spec", "template", "spec", "containers", "image")
            fields.append(
                FieldDrift(
                    path=ipath,
                    change=Change.CHANGED,
                    desired=f"ghcr.io/acme/app-{i}:1.0",
                    live=f"ghcr.io/acme/app-{i}:1.1-rc",
                    category=Category.IMAGE,
                    severity=Severity.HIGH,
                    attribution=replace(who, subresource=None, time="2025-11-24T15:55:00Z"),
                    id=finding_id("prod", key, ipath, Change.CHANGED),
                )
            )
        out.append(
            DriftItem(
                key=key,
                api_version="apps/v1",
                status=ResourceStatus.DRIFTED,
                fields=tuple(fields),
                environment="prod",
                unit=key.name,
                space="demo-prod",
                monthly_cost_usd=float(i % 50),
            )
        )
    return out


async def run(rows: int) -> dict[str, object]:
    world = build_demo(clock=lambda: FIXED_NOW)
    try:
        store = world.engine.store
        items = synthetic_items(rows)
        for item in items:
            store.put("prod", item.key, item, FIXED_NOW, "bench")
        expected = sum(len(i.fields) for i in items)
        app = make_app(world.runtime, clock=lambda: FIXED_NOW + 300, live=True, auto_analyze=False)
        app.services.records = None
        started = time.perf_counter()
        async with app.run_test(size=(120, 40)) as pilot:
            main = app.main
            table = main.table
            # polling a counter the app updates while painting: no event to wait on
            while table.painted_rows < expected:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            first_paint = table.painted_at - started
            while not main.is_ready:
                await pilot.pause(0.05)
            await pilot.pause(0.3)

            # filter keystrokes
            await pilot.press("slash")
            latencies: list[tuple[str, int, float]] = []
            for key in [*"app-0424", *["backspace"] * 8]:
                sent = time.perf_counter()
                await pilot.press(key)
                deadline = sent + 5
                while table.painted_at < sent and time.perf_counter() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
                assert table.painted_rows == table.row_count  # the paint showed the new rows
                latencies.append((key, table.row_count, table.painted_at - sent))
            await pilot.press("escape")
            await pilot.pause(0.2)

            # burst of watch events
            batches = main.batches
            repaints = app.main.query_one(Pulse).repaints
            changed = synthetic_items(rows, bump=3)
            last = changed[-1]
            want = str(last.fields[0].live)

            def burst() -> None:
                for item in changed:
                    store.put("prod", item.key, item, FIXED_NOW, "bench")

            burst_started = time.perf_counter()
            writer = threading.Thread(target=burst)
            writer.start()
            while not any(r.key == last.key and r.live == want for r in table.rows):  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            burst_s = time.perf_counter() - burst_started
            writer.join()
            burst_batches = main.batches - batches
            burst_repaints = app.main.query_one(Pulse).repaints - repaints
        return {
            "rows": expected,
            "items": rows,
            "first_paint_s": first_paint,
            "latencies": latencies,
            "burst_s": burst_s,
            "burst_events": rows,
            "burst_batches": burst_batches,
            "burst_pulse_repaints": burst_repaints,
        }
    finally:
        world.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="drifted resources")
    args = parser.parse_args()
    r = asyncio.run(run(args.rows))
    lat = [ms for _, _, ms in r["latencies"]]  # type: ignore[attr-defined]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{r['items']:,} drifted resources -> {r['rows']:,} drift rows")
    print(f"first paint with every row: {r['first_paint_s']:.2f} s (target < 2 s)")
    print("filter keystrokes (key, rows after, key -> repaint):")
    for key, n, s in r["latencies"]:  # type: ignore[attr-defined]
        print(f"  {key:<10} {n:>6,} rows  {s * 1000:6.1f} ms")
    print(
        f"  median {statistics.median(lat) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms "
        "(target < 100 ms)"
    )
    print(
        f"burst: {r['burst_events']:,} events applied in {r['burst_s']:.2f} s, "
        f"{r['burst_batches']} batches, {r['burst_pulse_repaints']} pulse repaints"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
