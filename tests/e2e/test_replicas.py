"""Two replicas of the headless service, one hub file, one emulated cluster: both serve
/health and /metrics, only the Lease holder writes drift records and applies auto-fix, each
drift is fixed exactly once, and when the leader dies the other takes over within the lease
duration and fixes the next drift.

The replicas run in-process (``Service`` + ``LeaderElector`` + uvicorn), each with its own
hub handle and its own KubeCluster reaching the emulator through its own network link, so
killing one is cutting its link and stopping its service: no release, no goodbye. In-process
rather than ``watch --headless --leader-elect`` subprocesses because the lease durations
must be tiny for a test and the CLI keeps client-go's 15/10/2 s (its wiring has its own
subprocess test below, on the clean-stop path).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client as k8s_client

from drifttui.cluster.kube import KubeCluster
from drifttui.cluster.lease import LeaderElector, LeaseSettings, LeaseTransport
from drifttui.cluster.reflector import WatchSettings
from drifttui.config import Settings
from drifttui.core.models import Environment
from drifttui.hub.chain import init_chain
from drifttui.hub.local import SqliteHub
from drifttui.hub.server import ServerThread
from drifttui.runtime import auto_fix_selector, build_runtime
from drifttui.service import Service, ServiceOptions
from tests.cluster.apiserver import EmulatorThread
from tests.cluster.conftest import deployment
from tests.cluster.partition import PartitionProxy
from tests.engine.conftest import wait_until
from tests.support import ROOT, cli_env

NS = "shop"
LEASE_NS = "drift-detector"
LEASE = LeaseSettings(
    name="drifttui-leader", namespace=LEASE_NS, lease_duration_s=2, renew_deadline_s=1.2,
    retry_period_s=0.1,
)  # fmt: skip
NET = WatchSettings(
    connect_timeout_s=1.0, request_timeout_s=2.0, inactivity_timeout_s=5.0, server_timeout_s=4,
    backoff_initial_s=0.05, backoff_max_s=0.2,
)  # fmt: skip
APPS = ("web", "api", "worker")


class Replica:
    """One ``watch --headless --auto-fix --leader-elect`` process, in-process."""

    def __init__(self, name: str, hub_path: Path, emulator: EmulatorThread) -> None:
        self.name = name
        self.link = PartitionProxy(("127.0.0.1", int(emulator.url.rsplit(":", 1)[1])))
        self.hub = SqliteHub(hub_path, author=f"replica-{name}")
        self.cluster = KubeCluster(
            configuration=k8s_client.Configuration(host=self.link.url),
            namespace=NS,
            settings=NET,
            name="emu",
        )
        env = Environment(name="dev", space="shop-dev", namespace=NS, auto_fix=True)
        settings = Settings(environments=(env,), hub_path=hub_path, auto_fix=True)
        self.runtime = build_runtime(
            settings, hub=self.hub, clusters={"dev": self.cluster}, environments=[env]
        )
        self.elector = LeaderElector(
            LeaseTransport(self.cluster.transport, LEASE_NS, LEASE.name, timeout_s=0.5),
            f"replica-{name}",
            LEASE,
        )
        self.service = Service(
            self.runtime.engine,
            self.runtime.remediator,
            records=self.runtime.records,
            analyst=None,
            options=ServiceOptions(auto_fix=True, analyze=False, leader_check_s=0.05),
            is_leader=self.elector.is_leader,
            auto_fix_filter=auto_fix_selector(self.runtime),
        )
        self.stop_election = threading.Event()
        self.election = threading.Thread(
            target=self.elector.run, args=(self.stop_election,), daemon=True
        )
        self.http = ServerThread(self.service.app())
        self.alive = False

    def start(self) -> None:
        self.election.start()
        self.service.start()
        self.base = self.http.start().removesuffix("/api")
        self.alive = True

    def kill(self) -> None:
        """The pod dies: its network goes first, then everything stops, no Lease release."""
        self.link.cut()
        self.service.stop()
        self.stop_election.set()
        self.election.join(timeout=5)
        self.http.stop()
        self.alive = False

    def close(self) -> None:
        if self.alive:
            self.kill()
        self.link.close()
        self.runtime.close()

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", timeout=5)

    def metric(self, name: str) -> float | None:
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def in_sync(self, app: str) -> bool:
        items = [i for i in self.runtime.engine.store.items("dev") if i.key.name == app]
        return bool(items) and not items[0].is_drifted


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[EmulatorThread, Path, list[Replica]]]:
    emulator = EmulatorThread()
    hub_path = tmp_path / "hub.db"
    hub = SqliteHub(hub_path, author="operator")
    init_chain(hub, "shop", ["dev", "prod"], base_objects=[])
    for name in APPS:
        doc = deployment(name, image=f"registry.example/{name}:1.0", container=name)
        hub.create_unit("shop-dev", name, yaml.safe_dump(doc, sort_keys=False))
        emulator.create(doc, manager="confighub")
    hub.close()
    replicas = [Replica(n, hub_path, emulator) for n in ("a", "b")]
    try:
        yield emulator, hub_path, replicas
    finally:
        for r in replicas:
            r.close()
        emulator.close()


def drifttui_patches(emulator: EmulatorThread, name: str) -> int:
    return len(
        emulator.requests(
            lambda r: (
                r.method.value == "PATCH"
                and r.url.path.endswith(f"/deployments/{name}")
                and r.params.get("fieldManager") == "drifttui"
            )
        )
    )


def record_writers(hub: SqliteHub) -> set[str]:
    """Who wrote drift records (the chain's sets are the operator's, from init)."""
    return {
        a.author
        for a in hub.list_audit("shop-drift-records", limit=1000)
        if any(u.startswith("shop-drift-records/drift-") for u in a.units)
    }


def scale(emulator: EmulatorThread, name: str, replicas: int) -> None:
    def change(obj: dict[str, Any]) -> None:
        obj["spec"]["replicas"] = replicas

    emulator.modify("apps/v1", "Deployment", NS, name, change, manager="kubectl")


def live_replicas(emulator: EmulatorThread, name: str) -> int:
    return int((emulator.get("apps/v1", "Deployment", NS, name) or {})["spec"]["replicas"])


def test_one_writer_each_drift_fixed_once_and_a_dead_leader_replaced(
    fleet: tuple[EmulatorThread, Path, list[Replica]],
) -> None:
    emulator, hub_path, replicas = fleet
    for r in replicas:
        r.start()
    wait_until(lambda: sum(r.elector.is_leader() for r in replicas) == 1, what="a leader")
    wait_until(lambda: all(r.runtime.engine.is_ready() for r in replicas), what="both listed")
    (leader,) = [r for r in replicas if r.elector.is_leader()]
    (follower,) = [r for r in replicas if r is not leader]

    for r in replicas:  # every replica serves, whoever leads
        assert r.get("/health").json() == {"status": "ok", "leader": r is leader}
        assert r.get("/ready").status_code == 200
        assert r.metric("drifttui_leader") == (1.0 if r is leader else 0.0)
        assert r.metric('drifttui_resources_monitored{environment="dev"}') == len(APPS)

    # drift 1: both replicas see it, the leader alone fixes it and records it
    scale(emulator, "web", 5)
    wait_until(lambda: live_replicas(emulator, "web") == 2, what="web fixed")
    wait_until(lambda: all(r.in_sync("web") for r in replicas), what="both see it fixed")
    for r in replicas:
        wait_until(r.service.quiesce, what="queues drained")
    assert drifttui_patches(emulator, "web") == 1
    assert leader.metric("drifttui_fixes_applied_total") == 1.0
    assert follower.metric("drifttui_fixes_applied_total") is None
    hub = SqliteHub(hub_path, author="auditor")
    assert record_writers(hub) == {f"replica-{leader.name}"}
    records = {(r.name, r.status) for r in leader.runtime.records.list()}  # type: ignore[union-attr]
    assert records == {("web", "corrected")}

    # the leader dies without releasing the Lease; the follower takes over in time
    rounds_before = follower.elector.rounds
    leader.kill()
    wait_until(follower.elector.is_leader, what="the follower takes over")
    rounds = follower.elector.rounds - rounds_before
    assert rounds <= LEASE.lease_duration_s / LEASE.retry_period_s + 3
    assert follower.get("/health").json()["leader"] is True

    # drift 2 is fixed by the new leader, once
    scale(emulator, "api", 7)
    wait_until(lambda: live_replicas(emulator, "api") == 2, what="api fixed")
    wait_until(lambda: follower.in_sync("api"), what="api in sync")
    wait_until(follower.service.quiesce, what="queues drained")
    assert drifttui_patches(emulator, "api") == 1
    assert drifttui_patches(emulator, "web") == 1
    assert follower.metric("drifttui_fixes_applied_total") == 1.0
    statuses = {(r.name, r.status) for r in follower.runtime.records.list()}  # type: ignore[union-attr]
    assert statuses == {("web", "corrected"), ("api", "corrected")}
    assert record_writers(hub) == {"replica-a", "replica-b"}
    hub.close()


def test_drift_seen_by_a_follower_is_fixed_once_it_leads(
    fleet: tuple[EmulatorThread, Path, list[Replica]],
) -> None:
    emulator, _, replicas = fleet
    leader, follower = replicas
    leader.start()
    wait_until(leader.elector.is_leader, what="a leads")
    follower.start()
    wait_until(lambda: all(r.runtime.engine.is_ready() for r in replicas), what="both listed")
    leader.link.blackhole()  # the leader is cut off before it sees the drift...
    leader.service.stop()  # ...and dies
    scale(emulator, "worker", 4)
    wait_until(lambda: follower.runtime.engine.store.drifted("dev") != [], what="drift seen")
    wait_until(follower.elector.is_leader, what="the follower takes over")
    wait_until(lambda: live_replicas(emulator, "worker") == 2, what="fixed after takeover")
    wait_until(lambda: follower.in_sync("worker"), what="worker in sync")  # seen by watch
    wait_until(follower.service.quiesce, what="queues drained")
    assert drifttui_patches(emulator, "worker") == 1
    statuses = {(r.name, r.status) for r in follower.runtime.records.list()}  # type: ignore[union-attr]
    assert statuses == {("worker", "corrected")}


# --------------------------------------------------------------------------- the CLI


def test_watch_leader_elect_takes_the_lease_and_hands_it_back_on_sigterm(
    tmp_path: Path,
) -> None:
    emulator = EmulatorThread()
    try:
        kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        hub = SqliteHub(tmp_path / "hub.db")
        init_chain(hub, "shop", ["dev", "prod"], base_objects=[])
        hub.close()
        port = _free_port()
        lease_name = f"l-{uuid.uuid4().hex[:6]}"
        env = cli_env(
            tmp_path,
            {
                "KUBECONFIG": str(kubeconfig),
                "DRIFTTUI_HUB": str(tmp_path / "hub.db"),
                "POD_NAME": "drift-detector-7f9c",
            },
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "drifttui", "watch", "--headless", "--leader-elect",
             "--lease-namespace", LEASE_NS, "--lease-name", lease_name, "--port", str(port),
             "--env", "dev", "--no-analysis"],
            env=env, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_until(
                lambda: _health(port).get("leader") is True or proc.poll() is not None,
                timeout=30,
                what="the service leads",
            )
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            lease = emulator.get("coordination.k8s.io/v1", "Lease", LEASE_NS, lease_name)
            holder = (lease or {})["spec"]["holderIdentity"]
            assert holder.startswith("drift-detector-7f9c_")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        lease = emulator.get("coordination.k8s.io/v1", "Lease", LEASE_NS, lease_name)
        assert (lease or {})["spec"]["holderIdentity"] is None  # the next replica need not wait
    finally:
        emulator.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(port: int) -> dict[str, Any]:
    try:
        return dict(httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json())
    except httpx.HTTPError:  # not listening yet: the poll loop tries again
        return {}
