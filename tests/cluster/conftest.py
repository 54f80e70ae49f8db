"""Fixtures for the cluster tests: one harness per Cluster implementation.

A harness pairs the Cluster under test with the server behind it, so a test can change
objects "as kubectl would" and compare what the cluster reports with what the server holds:

- ``sim``: SimulatedCluster over its in-process SimApiServer;
- ``kube``: KubeCluster (the official client) over HTTP to the kmock-based emulator.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from drifttui.cluster.kube import KubeCluster
from drifttui.cluster.protocol import Cluster, ClusterEvent, EventType
from drifttui.cluster.reflector import WatchSettings
from drifttui.cluster.sim import SimulatedCluster
from drifttui.core.models import ResourceKey
from tests.cluster.apiserver import EmulatorThread

Obj = dict[str, Any]

FAST = WatchSettings(
    page_size=2,
    server_timeout_s=30,
    inactivity_timeout_s=1.5,
    connect_timeout_s=2.0,
    request_timeout_s=2.0,
    backoff_initial_s=0.01,
    backoff_max_s=0.1,
)
"""Small pages and quick retries so the paths under test run in milliseconds."""

NS = "shop"


def deployment(
    name: str,
    replicas: int = 2,
    image: str = "registry.example/web:1.0",
    *,
    container: str = "app",
    **container_fields: Any,
) -> Obj:
    """A Deployment in ``NS`` with one container (``container_fields`` added to it)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": container, "image": image, **container_fields}]},
            },
        },
    }


def configmap(name: str, **data: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": dict(data),
    }


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` (bounded); fail with ``what`` if it never holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.005)


class Harness(Protocol):
    name: str
    cluster: Cluster

    def create(self, obj: Obj, manager: str = "confighub") -> Obj: ...

    def modify(
        self,
        api: str,
        kind: str,
        namespace: str,
        name: str,
        change: Callable[[Obj], None],
        manager: str = "kubectl-edit",
    ) -> Obj: ...

    def delete(self, api: str, kind: str, namespace: str, name: str) -> Obj: ...

    def server_get(self, api: str, kind: str, namespace: str, name: str) -> Obj | None: ...

    def server_objects(self, api: str, kind: str, namespace: str | None = None) -> list[Obj]: ...

    def gap(self) -> contextlib.AbstractContextManager[None]:
        """Watches see nothing inside; on exit history is compacted (watchers get 410)."""
        ...

    def drop_watches(self) -> None: ...

    def count(self, verb: str) -> int:
        """Requests served so far: "list" (whole LISTs, not pages) or "watch"."""
        ...


class SimHarness:
    name = "sim"

    def __init__(self) -> None:
        self.sim = SimulatedCluster(
            "sim-test", namespace=NS, settings=FAST, bookmark_interval_s=0.1
        )
        self.cluster: Cluster = self.sim

    def create(self, obj: Obj, manager: str = "confighub") -> Obj:
        return self.sim.server.create(obj, manager=manager)

    def modify(
        self,
        api: str,
        kind: str,
        namespace: str,
        name: str,
        change: Callable[[Obj], None],
        manager: str = "kubectl-edit",
    ) -> Obj:
        return self.sim.server.update(api, kind, namespace, name, change, manager=manager)

    def delete(self, api: str, kind: str, namespace: str, name: str) -> Obj:
        return self.sim.server.delete(api, kind, namespace, name)

    def server_get(self, api: str, kind: str, namespace: str, name: str) -> Obj | None:
        return self.sim.server.get(api, kind, namespace, name)

    def server_objects(self, api: str, kind: str, namespace: str | None = None) -> list[Obj]:
        return [
            copy.deepcopy(o)
            for o in self.sim.server.objects()
            if (o["apiVersion"], o["kind"]) == (api, kind)
            and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]

    @contextlib.contextmanager
    def gap(self) -> Iterator[None]:
        with self.sim.server.hold_watches():
            yield
            self.sim.server.compact()

    def drop_watches(self) -> None:
        self.sim.server.drop_watches()

    def count(self, verb: str) -> int:
        return self.sim.server.requests[verb]

    def close(self) -> None:
        pass


class KubeHarness:
    name = "kube"

    def __init__(self) -> None:
        self.emu = EmulatorThread()
        self.kube = KubeCluster(
            configuration=self.emu.configuration(), context="emulated", namespace=NS, settings=FAST
        )
        self.cluster: Cluster = self.kube

    def create(self, obj: Obj, manager: str = "confighub") -> Obj:
        return self.emu.create(obj, manager=manager)

    def modify(
        self,
        api: str,
        kind: str,
        namespace: str,
        name: str,
        change: Callable[[Obj], None],
        manager: str = "kubectl-edit",
    ) -> Obj:
        return self.emu.modify(api, kind, namespace, name, change, manager=manager)

    def delete(self, api: str, kind: str, namespace: str, name: str) -> Obj:
        return self.emu.delete(api, kind, namespace, name)

    def server_get(self, api: str, kind: str, namespace: str, name: str) -> Obj | None:
        return self.emu.get(api, kind, namespace, name)

    def server_objects(self, api: str, kind: str, namespace: str | None = None) -> list[Obj]:
        return self.emu.objects(api, kind, namespace)

    @contextlib.contextmanager
    def gap(self) -> Iterator[None]:
        self.emu.set_paused(True)
        try:
            yield
            self.emu.compact()
        finally:
            self.emu.set_paused(False)

    def drop_watches(self) -> None:
        self.emu.drop_watches()

    def count(self, verb: str) -> int:
        import kmock

        if verb == "watch":
            return self.emu.watches_started()  # streams that began, not requests received
        action = {"list": kmock.action.LIST}[verb]
        return len(self.emu.requests(lambda r: r.action == action and "continue" not in r.params))

    def close(self) -> None:
        self.kube.close()
        self.emu.close()


@pytest.fixture(params=["sim", "kube"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    h: SimHarness | KubeHarness = SimHarness() if request.param == "sim" else KubeHarness()
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread()
    try:
        yield emu
    finally:
        emu.close()


class Watcher:
    """Runs ``cluster.run_watch`` in a thread and keeps what a consumer would: the events,
    the thread each came from, and the live state they add up to."""

    def __init__(self, cluster: Cluster, kinds: Any, namespace: str | None = NS) -> None:
        self.cluster = cluster
        self.events: list[ClusterEvent] = []
        self.sink_threads: set[int] = set()
        self.state: dict[ResourceKey, Obj] = {}
        self._lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=cluster.run_watch,
            args=(kinds, namespace, self._sink, self.stop_event),
            name="watcher",
            daemon=True,
        )

    def _sink(self, event: ClusterEvent) -> None:
        with self._lock:
            self.sink_threads.add(threading.get_ident())
            self.events.append(event)
            key = event.key
            if key is None or event.obj is None:
                return
            if event.type is EventType.DELETED:
                self.state.pop(key, None)
            elif event.type in (EventType.ADDED, EventType.MODIFIED):
                self.state[key] = event.obj

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "run_watch did not return after stop"

    def of(self, *types: EventType, kind: str | None = None) -> list[ClusterEvent]:
        with self._lock:
            return [e for e in self.events if e.type in types and (kind is None or e.kind == kind)]

    def wait_for(
        self, predicate: Callable[[Watcher], bool], what: str, timeout: float = 10.0
    ) -> None:
        wait_until(lambda: predicate(self), timeout, what)

    def wait_listed(self, *kinds: str) -> None:
        self.wait_for(
            lambda w: all(w.of(EventType.LISTED, kind=k) for k in kinds), f"LISTED of {kinds}"
        )

    def versions(self, kind: str) -> dict[str, str]:
        """name -> resourceVersion of the consumer's state for ``kind``."""
        with self._lock:
            return {
                k.name: str(o["metadata"].get("resourceVersion"))
                for k, o in self.state.items()
                if k.kind == kind
            }


def server_versions(objs: list[Obj]) -> dict[str, str]:
    return {o["metadata"]["name"]: str(o["metadata"]["resourceVersion"]) for o in objs}
