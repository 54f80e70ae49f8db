"""Reflector + store throughput and memory per watched object.

Three measurements, each at 10k and 50k objects (``--objects``):

1. **replay** (the KubeCluster code path without a network): LIST pages and WATCH lines are
   pre-encoded JSON bytes, parsed by the same code KubeCluster uses (``json.loads`` of each
   page, :class:`KubeWatchStream` over a byte stream), then trimmed, stored and delivered to
   a sink by the real :class:`Reflector` / :func:`run_reflectors`. Figures: initial sync
   (objects/s), watch events/s, and retained memory per object (tracemalloc) against the
   untrimmed objects.
2. **simulated**: ``SimulatedCluster.run_watch`` end to end (in-process API server, no JSON).
3. **http** (``--http``): ``KubeCluster.list_objects`` over HTTP against the kmock-based
   emulator used by the tests (the ``--once`` path), 5k objects by default.

Objects are realistic: built by the simulator from the demo's manifests (server defaults,
managedFields of an Apply plus a ``kubectl scale``, status), then cloned with new names.

    /work/venv/bin/python bench/cluster_reflector.py
    /work/venv/bin/python bench/cluster_reflector.py --objects 10000 50000 --events 20000 --http
"""

from __future__ import annotations

import argparse
import copy
import gc
import io
import json
import os
import platform
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator, Mapping
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from drifttui.cluster.kube import KubeWatchStream
from drifttui.cluster.protocol import ClusterEvent, EventType
from drifttui.cluster.reflector import (
    HealthBoard,
    KindRef,
    ListPage,
    Reflector,
    WatchSettings,
    run_reflectors,
)
from drifttui.cluster.sim import SimulatedCluster
from drifttui.cluster.store import ObjectStore
from drifttui.cluster.story import demo_cluster

KINDS: list[KindRef] = [
    ("apps/v1", "Deployment", "deployments"),
    ("v1", "ConfigMap", "configmaps"),
    ("v1", "Service", "services"),
]
MIX = {"Deployment": 0.5, "ConfigMap": 0.3, "Service": 0.2}
SETTINGS = WatchSettings(page_size=500, backoff_initial_s=0.01, queue_size=10_000)


# --------------------------------------------------------------------------- objects


def templates() -> dict[str, dict[str, Any]]:
    """One realistic live object per kind, as the simulated API server makes them."""
    cluster = demo_cluster("bench")
    cluster.scale("Deployment", "bench", "backend-api", 5)
    get = cluster.server.get
    out = {
        "Deployment": get("apps/v1", "Deployment", "bench", "backend-api"),
        "ConfigMap": get("v1", "ConfigMap", "bench", "app-config"),
        "Service": get("v1", "Service", "bench", "backend-api"),
    }
    out["Deployment"]["status"] = {  # type: ignore[index]
        "observedGeneration": 2,
        "replicas": 5,
        "readyReplicas": 5,
        "availableReplicas": 5,
        "updatedReplicas": 5,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }
    out["Deployment"]["metadata"]["annotations"] = {  # type: ignore[index]
        "deployment.kubernetes.io/revision": "3",
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
            {k: v for k, v in out["Deployment"].items() if k != "status"}  # type: ignore[union-attr]
        ),
    }
    return out  # type: ignore[return-value]


def make_objects(n: int, tpl: Mapping[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in MIX}
    rv = 1000
    for kind, share in MIX.items():
        for i in range(int(n * share)):
            obj = copy.deepcopy(tpl[kind])
            meta = obj["metadata"]
            meta["name"] = f"{kind.lower()}-{i:06d}"
            meta["namespace"] = f"team-{i % 40:02d}"
            meta["uid"] = f"00000000-0000-0000-0000-{i:012d}"
            rv += 1
            meta["resourceVersion"] = str(rv)
            out[kind].append(obj)
    return out


# --------------------------------------------------------------------------- replay transport


class _Bytes:
    """Stands in for a urllib3 response: ``read1`` over pre-encoded watch lines."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def read1(self, n: int) -> bytes:
        return self._buf.read1(n)

    def shutdown(self) -> None:
        pass

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class ReplayTransport:
    """LIST pages and one WATCH stream of pre-encoded JSON, parsed as KubeTransport does;
    later watches stay open (silent) until interrupted."""

    def __init__(self, pages: dict[str, list[bytes]], lines: dict[str, bytes]) -> None:
        self.pages = pages
        self.lines = lines
        self.served: set[str] = set()
        self.idle = threading.Event()

    def list_page(
        self, kind: KindRef, namespace: str | None, *, limit: int, continue_token: str | None
    ) -> ListPage:
        index = int(continue_token or 0)
        doc = json.loads(self.pages[kind[1]][index])  # as KubeTransport.call_json does
        meta = doc["metadata"]
        return ListPage(doc["items"], meta["resourceVersion"], meta.get("continue"))

    def open_watch(
        self,
        kind: KindRef,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_s: int,
        inactivity_s: float,
    ) -> Any:
        if kind[1] in self.served:
            return _Silent(self.idle)
        self.served.add(kind[1])
        return KubeWatchStream(_Bytes(self.lines.get(kind[1], b"")), inactivity_s)


class _Silent:
    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        self._stop.wait()
        return iter(())

    def interrupt(self) -> None:
        self._stop.set()

    def close(self) -> None:
        pass


def encode_pages(objs: list[dict[str, Any]], rv: int, page: int) -> list[bytes]:
    pages = []
    for start in range(0, max(len(objs), 1), page):
        items = []
        for o in objs[start : start + page]:
            item = dict(o)
            item.pop("apiVersion")  # list items carry neither
            item.pop("kind")
            items.append(item)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if start + page < len(objs):
            meta["continue"] = str(len(pages) + 1)
        pages.append(json.dumps({"metadata": meta, "items": items}).encode())
    return pages


def encode_events(objs: list[dict[str, Any]], count: int, rv: int) -> bytes:
    lines = []
    for i in range(count):
        obj = copy.deepcopy(objs[i % len(objs)])
        rv += 1
        obj["metadata"]["resourceVersion"] = str(rv)
        lines.append(json.dumps({"type": "MODIFIED", "object": obj}))
    return ("\n".join(lines) + "\n").encode()


def _replay_once(
    pages: dict[str, list[bytes]], lines: dict[str, bytes], total_events: int
) -> tuple[ObjectStore, float, float]:
    """One run of three reflectors over the replay transport: (store, sync s, watch s)."""
    transport = ReplayTransport(pages, lines)
    store = ObjectStore()
    seen = {"listed": 0, "events": 0}
    marks: dict[str, float] = {}
    stop = threading.Event()

    def sink(e: ClusterEvent) -> None:
        if e.type is EventType.LISTED:
            seen["listed"] += 1
            if seen["listed"] == len(KINDS):
                marks["listed"] = time.perf_counter()
                if total_events == 0:
                    stop.set()
        elif e.type is EventType.MODIFIED:
            seen["events"] += 1
            if seen["events"] == total_events:
                marks["done"] = time.perf_counter()
                stop.set()

    def make(kind: KindRef, emit: Any, inner: threading.Event) -> Reflector:
        return Reflector(
            transport, kind, None, store, emit, inner, settings=SETTINGS, health=HealthBoard()
        )

    t0 = time.perf_counter()
    run_reflectors(make, KINDS, sink, stop, queue_size=SETTINGS.queue_size)
    sync_s = marks["listed"] - t0
    watch_s = marks.get("done", marks["listed"]) - marks["listed"]
    return store, sync_s, watch_s


def run_replay(n: int, events: int, tpl: Mapping[str, dict[str, Any]]) -> dict[str, float]:
    objs = make_objects(n, tpl)
    top_rv = 1000 + n
    pages = {k: encode_pages(v, top_rv, SETTINGS.page_size) for k, v in objs.items()}
    per_kind = {k: int(events * share) for k, share in MIX.items()}
    lines = {k: encode_events(objs[k], per_kind[k], top_rv + 10 * events) for k in objs}
    raw_bytes = sum(len(p) for ps in pages.values() for p in ps)
    count = sum(len(v) for v in objs.values())
    sample = [o for v in objs.values() for o in v[: max(1, int(2000 * MIX[v[0]["kind"]]))]]
    del objs
    gc.collect()

    # Throughput (no tracing).
    store, sync_s, watch_s = _replay_once(pages, lines, sum(per_kind.values()))
    assert len(store) == count
    del store
    gc.collect()

    # Memory: what the store retains after the initial sync, and the same mix untrimmed.
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    store, _, _ = _replay_once(pages, {}, 0)
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del store
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    full = [json.loads(json.dumps(o)) for o in sample]
    untrimmed = (tracemalloc.get_traced_memory()[0] - base) / len(full)
    tracemalloc.stop()
    del full
    return {
        "objects": count,
        "sync_s": sync_s,
        "sync_per_s": count / sync_s,
        "events": sum(per_kind.values()),
        "events_per_s": sum(per_kind.values()) / watch_s,
        "bytes_per_object": retained / count,
        "untrimmed_bytes_per_object": untrimmed,
        "json_bytes_per_object": raw_bytes / count,
    }


# --------------------------------------------------------------------------- simulated


def run_simulated(n: int, events: int, tpl: Mapping[str, dict[str, Any]]) -> dict[str, float]:
    cluster = SimulatedCluster("bench", settings=SETTINGS, history=events + 10)
    server = cluster.server
    objs = make_objects(n, tpl)
    # Fill the server directly: n creates through the write path would time the seeding.
    with server._cond:
        for kind, items in objs.items():
            for o in items:
                api = o["apiVersion"]
                group = api.rpartition("/")[0] if "/" in api else ""
                server._objects[
                    (f"{group}/{kind}", o["metadata"]["namespace"], o["metadata"]["name"])
                ] = o
        server._rv = 1000 + n + 1
    flat = [o for items in objs.values() for o in items]
    seen = {"listed": 0, "events": 0}
    listed = threading.Event()
    done = threading.Event()
    stop = threading.Event()
    marks: dict[str, float] = {}

    def sink(e: ClusterEvent) -> None:
        if e.type is EventType.LISTED:
            seen["listed"] += 1
            if seen["listed"] == len(KINDS):
                marks["listed"] = time.perf_counter()
                listed.set()
        elif e.type is EventType.MODIFIED:
            seen["events"] += 1
            if seen["events"] == events:
                marks["done"] = time.perf_counter()
                done.set()
                stop.set()

    runner = threading.Thread(target=cluster.run_watch, args=(KINDS, None, sink, stop))
    t0 = time.perf_counter()
    runner.start()
    listed.wait()
    t_write = time.perf_counter()
    for i in range(events):
        o = flat[i % len(flat)]
        kind = o["kind"]
        api = o["apiVersion"]
        server.update(
            api, kind, o["metadata"]["namespace"], o["metadata"]["name"],
            lambda d, i=i: d["metadata"].setdefault("labels", {}).update(rev=str(i)),
            manager="bench",
        )  # fmt: skip
    t_written = time.perf_counter()
    done.wait(120)
    runner.join(10)
    return {
        "objects": len(flat),
        "sync_s": marks["listed"] - t0,
        "sync_per_s": len(flat) / (marks["listed"] - t0),
        "events": events,
        "write_per_s": events / (t_written - t_write),
        "events_per_s": events / (marks["done"] - t_write),
    }


# --------------------------------------------------------------------------- http


def run_http(n: int, tpl: Mapping[str, dict[str, Any]]) -> dict[str, float]:
    from drifttui.cluster.kube import KubeCluster
    from tests.cluster.apiserver import EmulatorThread

    emu = EmulatorThread()
    try:
        objs = make_objects(n, tpl)

        def fill() -> None:
            for kind, items in objs.items():
                for o in items:
                    res = emu.resource(o["apiVersion"], kind)
                    emu.server._objects[res, o["metadata"]["namespace"], o["metadata"]["name"]] = o

        emu.call(fill)
        cluster = KubeCluster(configuration=emu.configuration(), context="bench", settings=SETTINGS)
        t0 = time.perf_counter()
        got = cluster.list_objects(KINDS, None)
        t1 = time.perf_counter()
        cluster.close()
        assert len(got) == sum(len(v) for v in objs.values())
        return {"objects": len(got), "list_s": t1 - t0, "list_per_s": len(got) / (t1 - t0)}
    finally:
        emu.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--http", action="store_true", help="also list over HTTP (emulator)")
    parser.add_argument("--http-objects", type=int, default=5_000)
    args = parser.parse_args()
    tpl = templates()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print()
    print(
        "| path | objects | initial sync | sync objects/s | watch events | events/s | "
        "memory/object (trimmed) | untrimmed/object | JSON/object |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in args.objects:
        r = run_replay(n, args.events, tpl)
        print(
            f"| replay (KubeCluster parsing) | {r['objects']:,.0f} | {r['sync_s']:.2f} s | "
            f"{r['sync_per_s']:,.0f} | {r['events']:,.0f} | {r['events_per_s']:,.0f} | "
            f"{r['bytes_per_object'] / 1024:.1f} KiB | "
            f"{r['untrimmed_bytes_per_object'] / 1024:.1f} KiB | "
            f"{r['json_bytes_per_object'] / 1024:.1f} KiB |"
        )
        gc.collect()
    for n in args.objects:
        s = run_simulated(n, args.events, tpl)
        print(
            f"| simulated (SimulatedCluster) | {s['objects']:,.0f} | {s['sync_s']:.2f} s | "
            f"{s['sync_per_s']:,.0f} | {s['events']:,.0f} | {s['events_per_s']:,.0f} | | | |"
        )
        gc.collect()
    if args.http:
        h = run_http(args.http_objects, tpl)
        print()
        print(
            f"KubeCluster.list_objects over HTTP (kmock emulator): {h['objects']:,.0f} objects "
            f"in {h['list_s']:.2f} s ({h['list_per_s']:,.0f} objects/s)"
        )


if __name__ == "__main__":
    main()
