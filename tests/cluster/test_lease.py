"""Leader election over real KubeCluster transports to the emulated API server: one leader
at a time, a dead or partitioned leader replaced within the lease duration (and never
before it has stopped acting), races settled by 409 Conflict, a clean stop handing over at
once.

Most tests drive rounds by hand on one shared fake clock (all replicas' clocks run at the
same rate, as on real machines; the election never compares one machine's timestamps with
another's), so the bounds are exact. One test runs the real threads on the real clock with
a renewal hanging behind a dead network link.
"""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s_client

from drifttui.cluster.kube import KubeCluster
from drifttui.cluster.lease import LeaderElector, LeaseSettings, LeaseTransport
from drifttui.cluster.reflector import WatchSettings
from drifttui.errors import ConfigError
from tests.cluster.apiserver import EmulatorThread
from tests.cluster.conftest import wait_until
from tests.cluster.partition import PartitionProxy

NS = "drift-detector"
LEASES = ("coordination.k8s.io/v1", "Lease")
SETTINGS = dict(lease_duration_s=15, renew_deadline_s=10.0, retry_period_s=2.0)
NET = WatchSettings(connect_timeout_s=1.0, request_timeout_s=2.0)


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def skewed(self, offset_s: float) -> Any:
        """This clock as read on a machine whose clock is ``offset_s`` ahead."""
        return lambda: self.now + offset_s


class Replicas:
    """Electors for one Lease, each over its own KubeCluster (its own connection pool)."""

    def __init__(self, emulator: EmulatorThread) -> None:
        self.emulator = emulator
        self.name = f"lease-{uuid.uuid4().hex[:8]}"
        self.clusters: list[KubeCluster] = []
        self.proxies: list[PartitionProxy] = []

    def elector(
        self,
        identity: str,
        clock: Any,
        *,
        through: PartitionProxy | None = None,
        timeout_s: float | None = None,
        **settings: Any,
    ) -> LeaderElector:
        url = through.url if through is not None else self.emulator.url
        cluster = KubeCluster(configuration=k8s_client.Configuration(host=url), settings=NET)
        self.clusters.append(cluster)
        transport = LeaseTransport(cluster.transport, NS, self.name, timeout_s=timeout_s)
        return LeaderElector(
            transport,
            identity,
            LeaseSettings(name=self.name, namespace=NS, **(settings or SETTINGS)),
            clock=clock,
        )

    def leader_and_follower(self, clock: FakeClock) -> tuple[LeaderElector, LeaderElector]:
        """Electors "a" and "b" on ``clock``: a took the lease, b tried a second later and
        failed, and one more second has passed."""
        a, b = self.elector("a", clock), self.elector("b", clock)
        assert a.try_acquire_or_renew()
        clock.advance(1.0)
        assert not b.try_acquire_or_renew()
        clock.advance(1.0)
        return a, b

    def proxy(self) -> PartitionProxy:
        port = int(self.emulator.url.rsplit(":", 1)[1])
        p = PartitionProxy(("127.0.0.1", port))
        self.proxies.append(p)
        return p

    def lease(self) -> dict[str, Any] | None:
        return self.emulator.get(*LEASES, NS, self.name)

    def holder(self) -> str | None:
        lease = self.lease()
        return ((lease or {}).get("spec") or {}).get("holderIdentity")

    def requests(self, method: str) -> list[Any]:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
        return self.emulator.requests(
            lambda r: r.method.value == method and r.url.path.startswith(path)
        )

    def close(self) -> None:
        for p in self.proxies:
            p.close()
        for c in self.clusters:
            c.close()


@pytest.fixture
def replicas(emulator: EmulatorThread) -> Iterator[Replicas]:
    r = Replicas(emulator)
    try:
        yield r
    finally:
        r.close()


def leaders(electors: list[LeaderElector]) -> list[str]:
    return [e.identity for e in electors if e.is_leader()]


# --------------------------------------------------------------------------- the emulator


def test_a_put_with_a_stale_resource_version_is_refused_with_409(replicas: Replicas) -> None:
    clock = FakeClock()
    a = replicas.elector("a", clock)
    t = a.transport
    assert t.get() == (404, None)
    assert t.replace({"metadata": {"name": replicas.name}, "spec": {}})[0] == 404
    assert a.try_acquire_or_renew()
    _, first = t.get()
    assert first is not None
    assert t.replace({**first, "spec": {**first["spec"], "holderIdentity": "b"}})[0] == 200
    status, _ = t.replace({**first, "spec": {**first["spec"], "holderIdentity": "c"}})
    assert status == 409  # written against the version before b's write
    assert replicas.holder() == "b"


# --------------------------------------------------------------------------- one leader


def test_exactly_one_of_three_replicas_leads_over_many_rounds_whatever_their_clocks_say(
    replicas: Replicas,
) -> None:
    clock = FakeClock()
    offsets = {"a": 0.0, "b": 40.0, "c": -25.0}  # machines disagreeing by a minute
    electors = [replicas.elector(n, clock.skewed(offsets[n])) for n in ("a", "b", "c")]
    rng = random.Random(7)
    paused: dict[str, float] = {}  # a crashed replica does no round until then
    seen_leaders: list[str] = []
    for step in range(240):
        clock.advance(rng.uniform(0.0, 2.0))
        assert len(leaders(electors)) <= 1, f"step {step}: {leaders(electors)}"
        e = rng.choice(electors)
        if paused.get(e.identity, 0.0) > clock():
            continue
        e.try_acquire_or_renew()
        now_leading = leaders(electors)
        assert len(now_leading) <= 1, f"step {step}: {now_leading}"
        if now_leading:
            assert replicas.holder() == now_leading[0]
            if not seen_leaders or seen_leaders[-1] != now_leading[0]:
                seen_leaders.append(now_leading[0])
            if rng.random() < 0.05:  # the leader crashes for a while, without releasing
                paused[now_leading[0]] = clock() + rng.uniform(5.0, 40.0)
    assert len(seen_leaders) >= 4, seen_leaders  # leadership really moved around
    spec = (replicas.lease() or {})["spec"]
    assert spec["leaseTransitions"] == sum(e.transitions for e in electors) - 1


def test_a_stopped_leader_is_replaced_within_the_lease_duration(replicas: Replicas) -> None:
    clock = FakeClock()
    a, b, c = (replicas.elector(n, clock) for n in ("a", "b", "c"))
    assert a.try_acquire_or_renew()
    acquired = (replicas.lease() or {})["spec"]["acquireTime"]
    last_renewal = clock()
    # a renews every 2 s; b and c check every 2 s, one second apart from each other
    for _ in range(10):
        clock.advance(1.0)
        assert not b.try_acquire_or_renew()
        clock.advance(1.0)
        assert not c.try_acquire_or_renew()
        assert a.try_acquire_or_renew()
        last_renewal = clock()
    assert (replicas.lease() or {})["spec"]["acquireTime"] == acquired
    # a dies without a word
    taken_at = None
    for _ in range(40):
        clock.advance(1.0)
        follower = b if int(clock()) % 2 else c
        if follower.try_acquire_or_renew():
            taken_at = clock()
            break
        assert not a.is_leader() or clock() - last_renewal <= 10.0
    assert taken_at is not None
    assert last_renewal + 15 <= taken_at <= last_renewal + 15 + 2 * 2.0
    assert leaders([a, b, c]) == [replicas.holder()]
    spec = (replicas.lease() or {})["spec"]
    assert spec["leaseTransitions"] == 1
    assert spec["acquireTime"] != acquired


def test_a_renewal_answered_late_does_not_stretch_leadership(replicas: Replicas) -> None:
    clock = FakeClock()
    a, b = replicas.leader_and_follower(clock)
    started = clock()
    server = replicas.emulator.server

    async def commit_then_stall(request: Any) -> Any:
        answer = await server._serve_replace(request)  # renewed at `started`...
        clock.advance(12.0)  # ...but the answer takes 12 s to come back
        return answer

    res = replicas.emulator.resource(*LEASES)
    replicas.emulator.script(lambda s: s["put", res][:1] << commit_then_stall)
    a.try_acquire_or_renew()
    assert not a.is_leader()  # its renew deadline counts from `started`, not the answer
    for _ in range(20):
        clock.advance(1.0)
        b.try_acquire_or_renew()
        assert len(leaders([a, b])) <= 1, (clock() - started, leaders([a, b]))
        if int(clock() - started) % 2 == 0:
            a.try_acquire_or_renew()
            assert len(leaders([a, b])) <= 1, (clock() - started, leaders([a, b]))
    assert leaders([a, b]) == ["a"]  # it renewed again in time: nobody took over


def test_a_released_lease_is_taken_at_the_next_round(replicas: Replicas) -> None:
    clock = FakeClock()
    a, b = replicas.leader_and_follower(clock)
    assert a.release()
    assert not a.is_leader()
    assert replicas.holder() is None
    clock.advance(1.0)  # b's next round, long before a's lease could have run out
    assert b.try_acquire_or_renew()
    assert leaders([a, b]) == ["b"]


def test_a_clean_stop_of_the_election_thread_hands_over_at_once(replicas: Replicas) -> None:
    fast = dict(lease_duration_s=30, renew_deadline_s=20.0, retry_period_s=0.05)
    a = replicas.elector("a", FakeClock(), **fast)
    b = replicas.elector("b", FakeClock(), **fast)  # its clock never moves: no expiry
    stop_a, stop_b = threading.Event(), threading.Event()
    ta = threading.Thread(target=a.run, args=(stop_a,), daemon=True)
    ta.start()
    wait_until(a.is_leader, what="a leads")
    tb = threading.Thread(target=b.run, args=(stop_b,), daemon=True)
    tb.start()
    wait_until(lambda: b.rounds >= 2, what="b follows")
    assert not b.is_leader()
    stop_a.set()
    ta.join(timeout=5)
    assert not a.is_leader()
    rounds_at_stop = b.rounds
    wait_until(b.is_leader, what="b takes over")
    assert b.rounds - rounds_at_stop <= 2  # its next round, not after the 30 s lease
    stop_b.set()
    tb.join(timeout=5)
    assert replicas.holder() is None  # b released too


# --------------------------------------------------------------------------- partitions


def test_a_partitioned_leader_stops_leading_before_its_lease_can_be_taken(
    replicas: Replicas,
) -> None:
    clock = FakeClock()
    link = replicas.proxy()
    a = replicas.elector("a", clock, through=link)
    b, c = replicas.elector("b", clock), replicas.elector("c", clock)
    assert a.try_acquire_or_renew()
    clock.advance(1.0)
    assert not b.try_acquire_or_renew()
    assert not c.try_acquire_or_renew()
    clock.advance(1.0)
    assert a.try_acquire_or_renew()
    last_renewal = clock()
    link.cut()
    stepped_down_at = taken_at = None
    for _ in range(30):
        clock.advance(1.0)
        for e in (a, b, c):
            e.try_acquire_or_renew()
            assert len(leaders([a, b, c])) <= 1, leaders([a, b, c])
        if stepped_down_at is None and not a.is_leader():
            stepped_down_at = clock()
        if taken_at is None and (b.is_leader() or c.is_leader()):
            taken_at = clock()
    assert stepped_down_at is not None
    assert taken_at is not None
    assert stepped_down_at <= last_renewal + 10.0 + 1.0  # its renew deadline (1 s steps)
    assert stepped_down_at < taken_at <= last_renewal + 15 + 2 * 2.0
    new_leader = replicas.holder()
    link.heal()  # a is back: it finds the Lease held and stays a follower
    for _ in range(5):
        clock.advance(2.0)
        assert not a.try_acquire_or_renew()
        for e in (b, c):
            e.try_acquire_or_renew()
        assert leaders([a, b, c]) == [new_leader]


def test_a_renewal_hanging_on_a_dead_link_never_overlaps_the_next_leader(
    replicas: Replicas,
) -> None:
    fast = dict(lease_duration_s=1, renew_deadline_s=0.6, retry_period_s=0.05)
    link = replicas.proxy()
    a = replicas.elector("a", _monotonic, through=link, timeout_s=3.0, **fast)
    b = replicas.elector("b", _monotonic, **fast)
    stop = threading.Event()
    overlaps: list[tuple[bool, bool]] = []
    samples = 0

    def watch_both() -> None:
        nonlocal samples
        while not stop.is_set():
            both = (a.is_leader(), b.is_leader())
            samples += 1
            if all(both):
                overlaps.append(both)

    threads = [
        threading.Thread(target=a.run, args=(stop,), daemon=True),
        threading.Thread(target=watch_both, daemon=True),
    ]
    for t in threads:
        t.start()
    wait_until(a.is_leader, what="a leads")
    tb = threading.Thread(target=b.run, args=(stop,), daemon=True)
    tb.start()
    wait_until(lambda: b.rounds >= 3, what="b follows")
    link.blackhole()  # a's next renewal hangs for its 3 s timeout
    wait_until(b.is_leader, what="b takes over")
    assert not a.is_leader()
    stop.set()
    link.cut()  # ends a's hanging request
    for t in [*threads, tb]:
        t.join(timeout=5)
    assert samples > 100
    assert overlaps == []


def _monotonic() -> float:
    import time

    return time.monotonic()


# --------------------------------------------------------------------------- races


def _hold_until(emulator: EmulatorThread, method: str, name: str, parties: int) -> None:
    """The next ``parties`` requests of ``method`` on leases wait for each other at the
    server, then go on together: every candidate read the same version before any wrote."""
    barrier: asyncio.Barrier | None = None

    async def hold() -> None:
        nonlocal barrier
        if barrier is None:
            barrier = asyncio.Barrier(parties)
        await barrier.wait()

    res = emulator.resource(*LEASES)
    emulator.script(lambda s: s[method, res][:parties] << hold)


def _race(electors: list[LeaderElector]) -> list[bool]:
    results: dict[str, bool] = {}

    def one(e: LeaderElector) -> None:
        results[e.identity] = e.try_acquire_or_renew()

    threads = [threading.Thread(target=one, args=(e,)) for e in electors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    return [results[e.identity] for e in electors]


def test_candidates_creating_the_lease_at_once_leave_one_leader(replicas: Replicas) -> None:
    clock = FakeClock()
    electors = [replicas.elector(n, clock) for n in ("a", "b", "c")]
    _hold_until(replicas.emulator, "post", replicas.name, 3)
    won = _race(electors)
    assert sorted(won) == [False, False, True]
    assert len(replicas.requests("POST")) == 3  # two were refused (409 AlreadyExists)
    assert leaders(electors) == [replicas.holder()]


def test_candidates_taking_an_expired_lease_at_once_leave_one_leader(
    replicas: Replicas,
) -> None:
    clock = FakeClock()
    gone = replicas.elector("gone", clock)
    assert gone.try_acquire_or_renew()
    electors = [replicas.elector(n, clock) for n in ("a", "b", "c")]
    for e in electors:
        assert not e.try_acquire_or_renew()  # each notes the record, on its own clock
    clock.advance(16.0)
    assert not gone.is_leader()
    version = (replicas.lease() or {})["metadata"]["resourceVersion"]
    _hold_until(replicas.emulator, "put", replicas.name, 3)
    won = _race(electors)
    assert sorted(won) == [False, False, True]
    assert len(replicas.requests("PUT")) == 3  # two were refused (409 Conflict)
    lease = replicas.lease() or {}
    assert int(lease["metadata"]["resourceVersion"]) == int(version) + 1
    assert lease["spec"]["leaseTransitions"] == 1
    assert leaders([gone, *electors]) == [lease["spec"]["holderIdentity"]]


# --------------------------------------------------------------------------- settings


def test_durations_in_the_wrong_order_are_one_clear_error() -> None:
    with pytest.raises(ConfigError) as info:
        LeaseSettings(lease_duration_s=5, renew_deadline_s=10.0, retry_period_s=2.0)
    assert "lease duration > renew deadline > retry period" in str(info.value)
    assert "\n" not in str(info.value)
