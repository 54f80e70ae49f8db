"""The TUI watching: thread workers run the simulated clusters' watches, drift appears as
the cluster changes, a lost watch shows in the pulse and recovers by itself, and a burst of
events is applied in a few batches."""

from __future__ import annotations

import threading

from drifttui.demo import DemoWorld, build_demo
from drifttui.tui.widgets.pulse import Pulse
from tests.tui.conftest import BACKEND, FIXED_NOW, NS, tui, wait_for


def prod_health(app: object) -> str:
    pulse = app.main.query_one(Pulse)  # type: ignore[attr-defined]
    return next(line.health for line in pulse.lines if line.environment == "prod")  # type: ignore[no-any-return]


async def test_drift_appears_when_the_cluster_changes(fresh_world: DemoWorld) -> None:
    app = tui(fresh_world, live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.is_ready, "every watch to list")
        await wait_for(pilot, lambda: prod_health(app) == "watching", "the pulse")
        assert app.main.table.row_count == 0
        fresh_world.clusters["prod"].scale("Deployment", NS, "backend-api", 7, manager="kubectl")
        await wait_for(
            pilot,
            lambda: any(r.key == BACKEND and r.live == "7" for r in app.main.table.rows),
            "the backend-api row",
        )
        row = next(r for r in app.main.table.rows if r.key == BACKEND)
        assert (row.environment, row.field, row.desired, row.who) == (
            "prod",
            "spec.replicas",
            "3",
            "kubectl (scale)",
        )
        fresh_world.clusters["prod"].scale("Deployment", NS, "backend-api", 3, manager="kubectl")
        await wait_for(pilot, lambda: app.main.table.row_count == 0, "the row to clear")


async def test_the_demo_story_starts_when_the_watches_are_ready() -> None:
    world = build_demo(clock=lambda: FIXED_NOW, speed=200.0)  # the 45 s story in 0.2 s
    try:
        app = tui(world, live=True, on_ready=world.start_story)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.main.table.row_count == 10, "the whole story")
            names = {(r.environment, r.key.name) for r in app.main.table.rows}
            assert ("prod", "backend-api") in names
            assert ("dev", "checkout-worker") in names
            assert len(world.story_log) == 11
    finally:
        world.close()


async def test_a_lost_watch_shows_in_the_pulse_and_recovers(fresh_world: DemoWorld) -> None:
    app = tui(fresh_world, live=True)
    app.services.health_interval_s = 0.05
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: prod_health(app) == "watching", "the watches")
        server = fresh_world.clusters["prod"].server
        server.inject_failure("watch", 500, "apiserver restarting", times=14)
        server.inject_failure("list", 500, "apiserver restarting", times=14)
        server.drop_watches()
        await wait_for(
            pilot, lambda: prod_health(app).startswith("reconnecting"), "the pulse to say so"
        )
        assert prod_health(app) != "watching"
        await wait_for(pilot, lambda: prod_health(app) == "watching", "the watch to recover")
        # and it still sees changes
        fresh_world.clusters["prod"].scale("Deployment", NS, "backend-api", 4, manager="kubectl")
        await wait_for(
            pilot,
            lambda: any(r.key == BACKEND and r.live == "4" for r in app.main.table.rows),
            "drift after the recovery",
        )


async def test_a_burst_of_events_is_applied_in_a_few_batches(fresh_world: DemoWorld) -> None:
    app = tui(fresh_world, live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.main.is_ready, "every watch to list")
        await wait_for(pilot, lambda: len(app.main.inbox) == 0, "the initial batch")
        received = app.main.inbox.received
        batches = app.main.batches
        cluster = fresh_world.clusters["prod"]

        def burst() -> None:
            for n in range(400):
                cluster.scale("Deployment", NS, "backend-api", 4 + n % 2, manager="kubectl")
            cluster.scale("Deployment", NS, "backend-api", 9, manager="kubectl")

        writer = threading.Thread(target=burst)
        writer.start()
        writer.join()
        await wait_for(
            pilot,
            lambda: any(r.key == BACKEND and r.live == "9" for r in app.main.table.rows),
            "the last value",
            timeout_s=30,
        )
        events = app.main.inbox.received - received
        applied = app.main.batches - batches
        assert events >= 400
        assert applied * 10 <= events  # hundreds of events, a handful of repaints
