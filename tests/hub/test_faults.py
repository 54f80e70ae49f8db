"""Faults between the client and ``hub serve``: 429 with Retry-After, 5xx (some after the
hub applied the write), dropped connections (before and after the server applied the
request) and slow answers on ~20 % of requests. Every operation completes or reports a clear
error, and no drift record is lost or duplicated (each has exactly the revisions its
operations should have made)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import yaml

from drifttui.core.models import (
    DriftItem,
)
from drifttui.errors import HubError
from drifttui.hub import documents as docs
from drifttui.hub.chain import init_chain
from drifttui.hub.http import ConfigHubClient
from drifttui.hub.local import SqliteHub
from drifttui.hub.records import DriftRecords, record_slug
from drifttui.hub.server import ServerThread, create_app
from tests.hub.conftest import TOKEN, replicas_drift
from tests.hub.faults import DroppingProxy, FaultInjector

T = TypeVar("T")


def item(i: int, live: int) -> DriftItem:
    return replicas_drift(f"web-{i}", live, environment="prod")


BASE = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "shop", "namespace": "shop"},
        "data": {"a": "1"},
    },
]


class Faulty:
    def __init__(self, tmp: Path, seed: int, timeout_s: float = 0.1) -> None:
        self.backing = SqliteHub(tmp / "hub.db", author="server")
        self.injector = FaultInjector(create_app(self.backing, TOKEN), seed=seed, slow_s=0.2)
        self.server = ServerThread(self.injector)
        self.server.start()
        self.proxy = DroppingProxy(self.server.port, seed=seed, drop_rate=0.1)
        self.waits: list[float] = []
        self.client = ConfigHubClient(
            self.proxy.url,
            TOKEN,
            author="watcher",
            timeout_s=timeout_s,
            connect_timeout_s=2.0,
            max_attempts=10,
            sleep=self.waits.append,
        )
        self.errors: list[HubError] = []

    def op(self, fn: Callable[[], T]) -> T:
        """What a caller does: retry an operation that reported a clear error."""
        for _ in range(4):
            try:
                return fn()
            except HubError as exc:
                line = str(exc)
                assert "\n" not in line
                assert TOKEN not in line
                assert line
                self.errors.append(exc)
        raise AssertionError(f"operation kept failing: {self.errors[-1]}")

    def close(self) -> None:
        self.client.close()
        self.proxy.close()
        self.server.stop()
        self.backing.close()


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[Faulty]:
    f = Faulty(tmp_path, seed=20260914)
    yield f
    f.close()


def test_every_operation_completes_and_no_record_is_lost_or_duplicated(faulty: Faulty) -> None:
    client = faulty.client
    faulty.op(lambda: init_chain(client, "flt", ["dev", "prod"], base_objects=BASE))
    records = DriftRecords(client, "flt-drift-records")
    n = 8
    for i in range(n):
        faulty.op(lambda i=i: records.open_or_update("prod", item(i, 5)))
    for i in range(n):
        faulty.op(lambda i=i: records.open_or_update("prod", item(i, 6), f"scaled by hand ({i})"))
    for i in range(n):
        faulty.op(
            lambda i=i: records.close("prod", item(i, 6).key, "corrected", "patched back to 3")
        )

    # the faults really happened, and Retry-After was honoured
    counts = faulty.injector.counts + faulty.proxy.counts
    for kind in (
        "429",
        "503",
        "500-after-apply",
        "slow-before",
        "slow-after",
        "drop-before",
        "drop-after",
    ):
        assert counts[kind] > 0, (kind, counts)
    assert 1.0 in faulty.waits

    # the truth, read directly from the served file: exactly what the operations made
    hub = faulty.backing
    units = hub.list_units("flt-drift-records", with_data=True)
    assert sorted(u.slug for u in units) == sorted(
        record_slug("prod", item(i, 6).key) for i in range(n)
    )
    corrected_label = docs.set_label("corrected-drifts", "flt-drift-records")
    replica_label = docs.set_label("replica-drifts", "flt-drift-records")
    for u in units:
        revs = hub.list_revisions("flt-drift-records", u.slug)
        assert [r.num for r in revs] == [1, 2, 3], (u.slug, [r.description for r in revs])
        spec = yaml.safe_load(u.data)["spec"]
        assert spec["status"] == "corrected"
        assert [a["action"] for a in spec["actions"]] == ["corrected"]
        assert spec["fields"][0]["live"] == 6
        assert spec["analysis"].startswith("scaled by hand")
        assert u.labels["status"] == "corrected"
        assert u.labels[corrected_label[0]] == corrected_label[1]
        assert replica_label[0] not in u.labels
    # the chain was made once: no duplicate units anywhere
    for space in ("flt-base", "flt-dev", "flt-prod"):
        slugs = [u.slug for u in hub.list_units(space)]
        assert len(slugs) == len(set(slugs)) == len(BASE)
    assert [s.slug for s in hub.list_spaces()] == [
        "flt-base",
        "flt-dev",
        "flt-drift-records",
        "flt-filters",
        "flt-prod",
    ]


def test_without_faults_each_operation_is_few_requests(tmp_path: Path) -> None:
    f = Faulty(tmp_path, seed=1, timeout_s=10.0)  # no fault: a slow moment is no timeout
    try:
        f.injector.enabled = False
        f.proxy.drop_rate = 0.0
        init_chain(f.client, "q", ["dev"])
        records = DriftRecords(f.client, "q-drift-records")
        records.open_or_update("prod", item(1, 5))
        before = f.client.request_count
        records.open_or_update("prod", item(1, 5))  # unchanged: reads only
        assert f.client.request_count - before <= 3
        assert f.waits == []
        assert f.errors == []
    finally:
        f.close()
