"""Lease-based leader election (coordination.k8s.io/v1), client-go's leaderelection pattern.

Several replicas of ``drifttui watch --headless`` run for availability; all of them watch
and serve /health and /metrics, but only the holder of the Lease writes (auto-fix, drift
records). The holder renews every ``retry_period_s``; a candidate takes the Lease over only
when ``renewTime + leaseDurationSeconds`` has passed, with an optimistic-concurrency update
(resourceVersion), so two candidates can never both win: the loser gets 409 and stays a
follower. A leader that cannot renew for ``renew_deadline_s`` steps down before its lease
can expire, so no fix is applied twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _format(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime(_FMT)


def _parse(text: str | None) -> float | None:
    if not text:
        return None
    for fmt in (_FMT, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC).timestamp()
        except ValueError:
            continue
    return None


@dataclass
class LeaseSettings:
    name: str = "drifttui-leader"
    namespace: str = "drift-detector"
    lease_duration_s: int = 15
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0


class LeaseTransport:
    """GET/POST/PUT of one Lease object through a cluster's :class:`KubeTransport`.

    Each call returns ``(status, object)``: 200/201 with the Lease, or the API's error
    status (404 absent, 409 lost a race) with None; 0 when the API could not be reached.
    """

    def __init__(self, transport: Any, namespace: str, name: str) -> None:
        self.transport = transport
        self.base = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self.name = name
        self.namespace = namespace

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any] | None]:
        from drifttui.cluster.reflector import ApiError, TransportError

        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"body": body, "content_type": "application/json"}
        try:
            status, obj = self.transport.call_json(method, path, **kwargs)
        except ApiError as exc:
            return exc.status, None
        except TransportError:
            return 0, None
        return (200 if status in (200, 201) else status), obj

    def get(self) -> tuple[int, dict[str, Any] | None]:
        return self._call("GET", f"{self.base}/{self.name}")

    def create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        return self._call("POST", self.base, body)

    def replace(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        return self._call("PUT", f"{self.base}/{self.name}", body)


class LeaderElector:
    """Try to acquire and keep the Lease; ``is_leader()`` is safe from any thread."""

    def __init__(
        self,
        transport: LeaseTransport,
        identity: str,
        settings: LeaseSettings | None = None,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.transport = transport
        self.identity = identity
        self.settings = settings or LeaseSettings()
        self.clock = clock
        self.on_change = on_change
        self._leader = False
        self._last_renew = 0.0
        self._lock = threading.Lock()
        self.transitions = 0

    def is_leader(self) -> bool:
        with self._lock:
            if self._leader and self.clock() - self._last_renew > self.settings.renew_deadline_s:
                return False  # could not renew in time: act as a follower at once
            return self._leader

    def _set(self, leader: bool) -> None:
        with self._lock:
            changed = leader != self._leader
            self._leader = leader
            if leader:
                self._last_renew = self.clock()
        if changed:
            log.info(
                "leader election: %s %s the lease %s/%s",
                self.identity,
                "acquired" if leader else "lost",
                self.settings.namespace,
                self.settings.name,
            )
            if self.on_change is not None:
                self.on_change(leader)

    def _spec(self, acquire_time: str, transitions: int) -> dict[str, Any]:
        now = _format(self.clock())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.settings.lease_duration_s,
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def try_acquire_or_renew(self) -> bool:
        """One round; True when we hold the lease afterwards."""
        status, lease = self.transport.get()
        now = self.clock()
        if status == 404:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.settings.name, "namespace": self.settings.namespace},
                "spec": self._spec("", 0),
            }
            created, _ = self.transport.create(body)
            self._set(created == 200)
            return created == 200
        if status != 200 or lease is None:
            self._set(False)
            return False
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        renew = _parse(spec.get("renewTime")) or 0.0
        duration = float(spec.get("leaseDurationSeconds") or self.settings.lease_duration_s)
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder and holder != self.identity and now < renew + duration:
            self._set(False)
            return False
        if holder == self.identity:
            new_spec = self._spec(str(spec.get("acquireTime") or ""), transitions)
        else:
            new_spec = self._spec("", transitions + 1)
            self.transitions += 1
        lease["spec"] = new_spec
        updated, _ = self.transport.replace(lease)  # carries resourceVersion: 409 if raced
        self._set(updated == 200)
        return updated == 200

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.try_acquire_or_renew()
            except Exception as exc:  # network trouble: follower until the next round
                log.warning("leader election: %s", type(exc).__name__)
                self._set(False)
            stop.wait(self.settings.retry_period_s)
        if self._leader:
            self._release()

    def _release(self) -> None:
        status, lease = self.transport.get()
        if (
            status == 200
            and lease
            and (lease.get("spec") or {}).get("holderIdentity") == self.identity
        ):
            lease["spec"]["holderIdentity"] = None
            lease["spec"]["renewTime"] = _format(0)
            self.transport.replace(lease)
        self._set(False)
