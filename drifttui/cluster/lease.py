"""Lease-based leader election (coordination.k8s.io/v1), client-go's leaderelection pattern.

Several replicas of ``drifttui watch --headless`` run for availability; all of them watch
and serve /health and /metrics, but only the holder of the Lease writes (auto-fix, drift
records).

How it stays safe (client-go's rules, kept here):

- Every write of the Lease is an optimistic-concurrency update (the ``resourceVersion`` of
  the object just read): of two candidates racing for it, one gets 409 Conflict and stays a
  follower.
- A follower never trusts the ``renewTime`` written by another machine's clock. It notes,
  on its own clock, when it last saw the Lease *change*; it takes the Lease over only when
  the record has not changed for ``leaseDurationSeconds`` since (or when the holder released
  it: an empty ``holderIdentity``).
- The leader counts its ``renew_deadline_s`` from the *start* of its last successful round
  (before the GET), and ``is_leader()`` answers False as soon as that deadline has passed,
  even while a renewal is still hanging on the network. A follower can take over no earlier
  than ``lease_duration_s`` after it saw that renewal, which is later than the start of the
  round; since ``renew_deadline_s < lease_duration_s``, the old leader has stopped acting
  before anyone else can start.
- A failed renewal (network trouble, a 5xx, a lost race) does not end leadership at once:
  the leader retries every ``retry_period_s`` until its renew deadline passes, then steps
  down. If the Lease turns out to be held by someone else, it steps down at once.
- On a clean stop the leader steps down first, then releases the Lease (empty holder, one
  second duration), so the next replica takes over at its next round instead of waiting for
  the lease to run out.

Bounds: a dead or partitioned leader is replaced at most ``lease_duration_s + 2 *
retry_period_s`` after its last successful renewal (a follower sees that renewal within one
retry period, and checks again within another one after the lease duration).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drifttui.errors import ConfigError

log = logging.getLogger(__name__)

_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"
API_VERSION = "coordination.k8s.io/v1"


def _format(t: float) -> str:
    """A MicroTime as the API server writes it."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime(_FMT)


@dataclass(frozen=True)
class LeaseSettings:
    """Name of the Lease and client-go's three durations (defaults: 15 s, 10 s, 2 s)."""

    name: str = "drifttui-leader"
    namespace: str = "drift-detector"
    lease_duration_s: int = 15
    """How long a follower waits, after it last saw the Lease change, before taking it."""
    renew_deadline_s: float = 10.0
    """How long the leader keeps acting without a successful renewal."""
    retry_period_s: float = 2.0
    """Time between two rounds (renewals of the leader, checks of the followers)."""

    def __post_init__(self) -> None:
        if not self.lease_duration_s > self.renew_deadline_s > self.retry_period_s > 0:
            raise ConfigError(
                "leader election needs lease duration > renew deadline > retry period > 0 "
                f"(got {self.lease_duration_s}, {self.renew_deadline_s:g}, "
                f"{self.retry_period_s:g} s)",
                f"Lease {self.namespace}/{self.name}",
            )


class LeaseTransport:
    """GET/POST/PUT of one Lease object through a cluster's :class:`KubeTransport`.

    Each call returns ``(status, object)``: 200 with the Lease (201 on create is reported as
    200), or the API's error status (404 absent, 409 lost a race) with None; 0 when the API
    could not be reached. ``timeout_s`` is the read timeout of each request (default: the
    transport's), keep it below the renew deadline.
    """

    def __init__(
        self, transport: Any, namespace: str, name: str, *, timeout_s: float | None = None
    ) -> None:
        self.transport = transport
        self.base = f"/apis/{API_VERSION}/namespaces/{namespace}/leases"
        self.name = name
        self.namespace = namespace
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any] | None]:
        from drifttui.cluster.reflector import ApiError, TransportError

        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"body": body, "content_type": "application/json"}
        if self.timeout_s is not None:
            kwargs["read_timeout_s"] = self.timeout_s
        try:
            status, obj = self.transport.call_json(method, path, **kwargs)
        except ApiError as exc:
            return exc.status, None
        except TransportError:
            return 0, None
        if not isinstance(obj, dict):
            return 0, None
        return (200 if status in (200, 201) else status), obj

    def get(self) -> tuple[int, dict[str, Any] | None]:
        return self._call("GET", f"{self.base}/{self.name}")

    def create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        return self._call("POST", self.base, body)

    def replace(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        return self._call("PUT", f"{self.base}/{self.name}", body)


def _version(lease: dict[str, Any]) -> str:
    meta = lease.get("metadata") or {}
    return str(meta.get("resourceVersion") or "") + repr(lease.get("spec"))


class LeaderElector:
    """Acquire and keep the Lease; ``is_leader()`` is cheap and safe from any thread.

    ``run(stop)`` loops in its own thread; ``try_acquire_or_renew()`` is one round (tests
    drive rounds by hand with an injected ``clock``). ``on_change(is_leader)`` is called from
    the election thread when leadership is gained or lost.
    """

    def __init__(
        self,
        transport: LeaseTransport,
        identity: str,
        settings: LeaseSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not identity:
            raise ConfigError("leader election needs a non-empty identity")
        self.transport = transport
        self.identity = identity
        self.settings = settings or LeaseSettings(
            name=transport.name, namespace=transport.namespace
        )
        self.clock = clock
        self.wall_clock = wall_clock
        self.on_change = on_change
        self._lock = threading.Lock()
        self._leader = False
        self._renewed_at = 0.0
        self._observed: str | None = None
        self._observed_at = 0.0
        self.transitions = 0
        """How many times this replica took the Lease from another holder (or created it)."""
        self.rounds = 0

    # ----------------------------------------------------------------- state

    def is_leader(self) -> bool:
        with self._lock:
            return self._leader and self._within_deadline()

    def _within_deadline(self) -> bool:
        return self.clock() - self._renewed_at <= self.settings.renew_deadline_s

    def _renewed(self, started: float, lease: dict[str, Any]) -> None:
        with self._lock:
            changed = not self._leader
            self._leader = True
            self._renewed_at = started
            self._observed, self._observed_at = _version(lease), self.clock()
        if changed:
            self._announce(True, "is the leader now")

    def _step_down(self, why: str) -> None:
        with self._lock:
            changed = self._leader
            self._leader = False
        if changed:
            self._announce(False, why)

    def _announce(self, leader: bool, what: str) -> None:
        log.log(
            logging.INFO if leader or what.startswith("released") else logging.WARNING,
            "leader election: %s %s (Lease %s/%s)",
            self.identity,
            what,
            self.settings.namespace,
            self.settings.name,
        )
        if self.on_change is not None:
            try:
                self.on_change(leader)
            except Exception:
                log.exception("leader election: on_change failed")

    def _observe(self, lease: dict[str, Any]) -> float:
        """When (our clock) the record was first seen as it is now."""
        version = _version(lease)
        with self._lock:
            if version != self._observed:
                self._observed, self._observed_at = version, self.clock()
            return self._observed_at

    def _failed(self, why: str) -> bool:
        """A round that did not renew: keep leading until the renew deadline, no longer."""
        with self._lock:
            leading = self._leader
            expired = leading and not self._within_deadline()
        if expired:
            deadline = self.settings.renew_deadline_s
            self._step_down(f"stepped down: no renewal for {deadline:g} s ({why})")
        elif leading:
            log.warning("leader election: renewal failed (%s), retrying", why)
        return False

    def _spec(self, acquire_time: str, transitions: int) -> dict[str, Any]:
        now = _format(self.wall_clock())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.settings.lease_duration_s),
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    # ----------------------------------------------------------------- one round

    def try_acquire_or_renew(self) -> bool:
        """One round; True when this replica holds the Lease afterwards."""
        self.rounds += 1
        started = self.clock()
        status, lease = self.transport.get()
        if status == 404:
            body = {
                "apiVersion": API_VERSION,
                "kind": "Lease",
                "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
                "spec": self._spec("", 0),
            }
            created, obj = self.transport.create(body)
            if created == 200 and obj is not None:
                self.transitions += 1
                self._renewed(started, obj)
                return True
            return self._failed(f"create answered {created or 'nothing'}")
        if status != 200 or lease is None:
            return self._failed(f"read answered {status or 'nothing'}")
        observed_at = self._observe(lease)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.settings.lease_duration_s)
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder and holder != self.identity:
            if self.clock() < observed_at + duration:
                self._step_down(f"stepped down: the Lease is held by {holder}")
                return False
            log.info("leader election: %s did not renew for %g s", holder, duration)
        if holder == self.identity:
            new_spec = self._spec(str(spec.get("acquireTime") or ""), transitions)
        else:
            new_spec = self._spec("", transitions + 1)
        updated, obj = self.transport.replace({**lease, "spec": new_spec})  # 409 if raced
        if updated == 200 and obj is not None:
            if holder != self.identity:
                self.transitions += 1
            self._renewed(started, obj)
            return True
        if updated == 409 and holder != self.identity:
            self._step_down("lost the race for the Lease")
        return self._failed(f"update answered {updated or 'nothing'}")

    # ----------------------------------------------------------------- loop

    def run(self, stop: threading.Event) -> None:
        """Rounds every ``retry_period_s`` until ``stop``; then release the Lease if held."""
        while not stop.is_set():
            try:
                self.try_acquire_or_renew()
            except Exception as exc:  # never let the election thread die
                log.warning("leader election: %s", type(exc).__name__)
                self._failed(type(exc).__name__)
            stop.wait(self.settings.retry_period_s)
        self.release()

    def release(self) -> bool:
        """Step down, then hand the Lease back (empty holder) if we still hold it. True when
        the Lease was released."""
        with self._lock:
            was_leader = self._leader
        if not was_leader:
            return False
        self._step_down("released the Lease")  # no write of ours may follow the release
        status, lease = self.transport.get()
        if status != 200 or lease is None:
            return False
        spec = lease.get("spec") or {}
        if spec.get("holderIdentity") != self.identity:
            return False
        now = _format(self.wall_clock())
        released = {
            **spec,
            "holderIdentity": None,
            "leaseDurationSeconds": 1,
            "acquireTime": now,
            "renewTime": now,
        }
        updated, _ = self.transport.replace({**lease, "spec": released})
        return updated == 200
