"""The headless service over HTTP on the demo world: /health, /ready, /drift, /metrics, the
seed's log lines, drift records, and auto-fix (never in production)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest

from drifttui.demo import DemoWorld, build_demo
from drifttui.hub.server import ServerThread
from drifttui.runtime import auto_fix_selector
from drifttui.service import Service, ServiceOptions
from tests.engine.conftest import FIXED_NOW, wait_until

SCHEMA = json.loads((Path(__file__).parents[2] / "drifttui/schemas/report.schema.json").read_text())


@pytest.fixture
def running(caplog: pytest.LogCaptureFixture) -> Iterator[tuple[DemoWorld, Service, str]]:
    caplog.set_level(logging.INFO)
    world = build_demo(clock=lambda: FIXED_NOW, auto_fix=True)
    service = Service(
        world.engine,
        world.runtime.remediator,
        records=world.runtime.records,
        analyst=None,
        options=ServiceOptions(auto_fix=True, analyze=False),
        auto_fix_filter=auto_fix_selector(world.runtime),
    )
    service.start()
    server = ServerThread(service.app())
    base = server.start().removesuffix("/api")
    wait_until(world.engine.is_ready, what="watches listed")
    yield world, service, base
    service.stop()
    server.stop()
    world.close()


def test_endpoints_answer_and_drift_shows_in_metrics(
    running: tuple[DemoWorld, Service, str], caplog: pytest.LogCaptureFixture
) -> None:
    world, service, base = running
    assert httpx.get(f"{base}/health").status_code == 200
    assert httpx.get(f"{base}/ready").json() == {"ready": True}
    world.advance_to_end()
    wait_until(lambda: len(world.engine.store.drifted("prod")) >= 6, what="prod drift")
    wait_until(service.quiesce, what="queues drained")
    metrics = httpx.get(f"{base}/metrics").text
    line = next(
        ln
        for ln in metrics.splitlines()
        if ln.startswith('drifttui_drift_items{category="replicas",environment="prod"')
    )
    assert float(line.rsplit(" ", 1)[1]) == 2.0
    report = httpx.get(f"{base}/drift").json()
    jsonschema.validate(report, SCHEMA)
    names = {r["name"] for e in report["environments"] for r in e["resources"] if r["findings"]}
    assert {"backend-api", "frontend-web", "api-credentials"} <= names
    assert "DRIFT DETECTED: backend-api has 5 replicas, expected 3 (prod)" in caplog.text
    assert "rotated-by-hand" not in caplog.text


def test_auto_fix_corrects_dev_but_never_prod(running: tuple[DemoWorld, Service, str]) -> None:
    world, service, base = running
    world.advance_to_end()  # dev: frontend-web 2 -> 3 and a label; prod: the seed's story
    wait_until(
        lambda: (
            world.clusters["dev"].get("apps/v1", "Deployment", "drift-test", "frontend-web")[
                "spec"
            ]["replicas"]
            == 2
        ),
        what="dev auto-fixed",
    )
    wait_until(service.quiesce, what="queues drained")
    prod = world.clusters["prod"].get("apps/v1", "Deployment", "drift-test", "backend-api")
    assert prod["spec"]["replicas"] == 5  # production is never auto-fixed
    metrics = httpx.get(f"{base}/metrics").text
    assert 'drifttui_fixes_applied_total{action="patch-live",environment="dev",mode="auto"}' in (
        metrics
    )
    records = world.runtime.records
    assert records is not None
    statuses = {(r.environment, r.name): r.status for r in records.list()}
    assert statuses[("prod", "backend-api")] == "open"


def test_only_the_leader_writes_records(running: tuple[DemoWorld, Service, str]) -> None:
    world, service, _ = running
    leader = threading.Event()
    service.is_leader = leader.is_set
    service.options.auto_fix = False
    world.advance_to_end()
    wait_until(lambda: len(world.engine.store.drifted("prod")) >= 6, what="prod drift")
    wait_until(service.quiesce, what="queues drained")
    records = world.runtime.records
    assert records is not None
    assert [r.name for r in records.list() if r.environment == "prod"] == []


def test_queues_are_idle_only_when_every_item_put_was_handled() -> None:
    """quiesce (what `demo --once` and the tests wait on) must never say "drained" while an
    item is still queued: puts race the end of a batch and the drain's idle wait."""
    import queue
    import time

    from drifttui.core.models import ResourceKey
    from drifttui.service import _Drain

    class DescheduledQueue(queue.Queue[tuple[str, ResourceKey]]):
        """A producer thread paused by the OS just before its item lands in the queue."""

        def put(self, item: tuple[str, ResourceKey], *args: object, **kw: object) -> None:
            time.sleep(0.002)
            super().put(item)

    handled: set[int] = set()
    premature: list[int] = []
    stop = threading.Event()
    drain = _Drain("t", lambda _env, key: handled.add(int(key.name)), stop)
    drain.q = DescheduledQueue()
    drain.start()

    def producer(base: int) -> None:
        for i in range(base, base + 100):
            drain.put("dev", ResourceKey("", "ConfigMap", "ns", str(i)))
            if drain.idle.is_set() and i not in handled:
                premature.append(i)

    threads = [threading.Thread(target=producer, args=(n * 1000,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert drain.idle.wait(10)
    stop.set()
    assert premature == []
    assert len(handled) == 400
