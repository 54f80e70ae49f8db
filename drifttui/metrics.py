"""Prometheus metrics for the headless service (prometheus_client, its own registry).

Gauges are read from the engine's store at scrape time, so they can never drift from what
``/drift`` and the TUI show; counters (fixes, watch restarts, hub errors) and the
event-to-drift latency histogram are updated as things happen.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from drifttui.engine import Engine

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        monitored = GaugeMetricFamily(
            "drifttui_resources_monitored",
            "Resources compared (desired and/or live), per environment.",
            labels=["environment"],
        )
        drifted = GaugeMetricFamily(
            "drifttui_drifted_resources",
            "Resources drifted or missing, per environment.",
            labels=["environment"],
        )
        findings = GaugeMetricFamily(
            "drifttui_drift_items",
            "Counted drift findings by environment, category and severity.",
            labels=["environment", "category", "severity"],
        )
        statuses = GaugeMetricFamily(
            "drifttui_resources_by_status",
            "Resources by status (in-sync, drifted, missing, unmanaged, error).",
            labels=["environment", "status"],
        )
        cost = GaugeMetricFamily(
            "drifttui_drift_monthly_cost_usd",
            "Monthly cost impact of replica and resource drift (USD, live minus desired).",
            labels=["environment"],
        )
        for env in self.engine.states:
            items = self.engine.store.items(env)
            monitored.add_metric([env], len(items))
            drifted.add_metric([env], sum(1 for i in items if i.is_drifted))
            tally: Tally[tuple[str, str]] = Tally()
            by_status: Tally[str] = Tally()
            total_cost = 0.0
            for item in items:
                by_status[str(item.status)] += 1
                if item.is_drifted and item.monthly_cost_usd:
                    total_cost += item.monthly_cost_usd
                for f in item.counted:
                    tally[(str(f.category), str(f.severity))] += 1
                if item.status.value == "missing" and not item.counted:
                    tally[("other", "high")] += 1
            for (category, severity), n in sorted(tally.items()):
                findings.add_metric([env, category, severity], n)
            for status, n in sorted(by_status.items()):
                statuses.add_metric([env, status], n)
            cost.add_metric([env], round(total_cost, 2))
        yield from (monitored, drifted, findings, statuses, cost)

        restarts = CounterMetricFamily(
            "drifttui_watch_restarts",
            "Watch streams that failed and were restarted, per environment and kind.",
            labels=["environment", "kind"],
        )
        for (env, kind), n in sorted(self.engine.watch_restarts.items()):
            restarts.add_metric([env, kind], n)
        yield restarts
        hub_errors = CounterMetricFamily("drifttui_hub_errors", "Failed hub requests.")
        hub_errors.add_metric([], self.engine.hub_errors)
        yield hub_errors
        ready = GaugeMetricFamily("drifttui_ready", "1 when every watch has listed.")
        ready.add_metric([], 1 if self.engine.is_ready() else 0)
        yield ready


class Metrics:
    """The service's registry: store gauges plus counters and the latency histogram."""

    def __init__(self, engine: Engine, is_leader: Callable[[], bool] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_StoreCollector(engine))
        self.fixes = Counter(
            "drifttui_fixes_applied",
            "Corrections applied, by environment, action and mode (manual or auto).",
            ["environment", "action", "mode"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "drifttui_event_to_drift_seconds",
            "Time from a watch event to the updated drift item.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        engine.latency_observer = self.latency.observe
        if is_leader is not None:
            leader = Gauge(
                "drifttui_leader",
                "1 when this replica holds the leader Lease (only the leader writes).",
                registry=self.registry,
            )
            leader.set_function(lambda: 1.0 if is_leader() else 0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
