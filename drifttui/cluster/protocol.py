"""The Cluster protocol: the live side. Watches, reads and corrections.

Two implementations: ``KubeCluster`` (``cluster/kube.py``, the official ``kubernetes``
client, one reflector per resource type: paged LIST, WATCH with bookmarks, relist on 410,
inactivity watchdog, jittered backoff) and ``SimulatedCluster`` (``cluster/sim.py``, an
in-process API server for the demo and tests, with a scripted drift timeline).

Objects cross this boundary as plain JSON dicts (never ``kubernetes`` model objects), trimmed
to what the diff needs: ``status`` is reduced to ``observedGeneration`` and managedFields to
manager / operation / time / subresource / fieldsV1.

Threads: ``run_watch`` blocks and is meant for a worker thread; it calls ``sink`` from that
thread for every event and returns when ``stop`` is set. Everything else may be called from
any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from drifttui.core.models import ResourceKey

JSONObject = dict[str, Any]

WATCHED_KINDS: tuple[tuple[str, str, str], ...] = (
    # (apiVersion, kind, plural)
    ("apps/v1", "Deployment", "deployments"),
    ("apps/v1", "StatefulSet", "statefulsets"),
    ("apps/v1", "DaemonSet", "daemonsets"),
    ("v1", "Service", "services"),
    ("v1", "ConfigMap", "configmaps"),
    ("v1", "Secret", "secrets"),
    ("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
)
"""What the reflectors watch by default (the seed's informers plus the diffed types)."""

FIELD_MANAGER = "drifttui"
"""Our field manager: managedFields shows who fixed it."""


class EventType(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    LISTED = "listed"  # initial LIST of a kind complete: absent objects are now missing
    RELISTED = "relisted"  # a relist (after 410 or restart) finished; deletes synthesised
    WATCH_FAILED = "watch-failed"  # the stream broke; ``error`` says why; it will retry
    WATCH_RESTORED = "watch-restored"


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """One change the reflector saw. ``obj`` is the trimmed object (None for markers);
    for DELETED it is the last known state."""

    type: EventType
    kind: str
    obj: JSONObject | None = None
    resource_version: str = ""
    error: str | None = None
    namespace: str | None = None

    @property
    def key(self) -> ResourceKey | None:
        return ResourceKey.of(self.obj) if self.obj else None


@dataclass(frozen=True, slots=True)
class WatchHealth:
    """Per kind: has the first LIST completed, is the stream up, restarts, last event."""

    kind: str
    has_listed: bool = False
    is_connected: bool = False
    restarts: int = 0
    relists: int = 0
    last_event_at: float | None = None  # time.monotonic()
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PatchOp:
    """One RFC 6902 JSON Patch operation against the live object."""

    op: str  # "add" | "replace" | "remove" | "test"
    path: str  # JSON pointer
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op != "remove":
            d["value"] = self.value
        return d


@dataclass(frozen=True, slots=True)
class CorrectionResult:
    """What a correction did (or, dry-run, would do). ``ok`` False carries the API's reason."""

    key: ResourceKey
    ok: bool
    dry_run: bool
    action: str  # "patch" | "create" | "apply" | "none"
    ops: tuple[PatchOp, ...] = ()
    result: JSONObject | None = None  # the object after (or as predicted by dry-run)
    status: int | None = None  # HTTP status on failure (403, 409, 422, ...)
    error: str | None = None


@runtime_checkable
class Cluster(Protocol):
    """A cluster seen through one context (and optionally one namespace)."""

    @property
    def name(self) -> str:
        """Context name, for screens and logs."""
        ...

    def run_watch(
        self,
        kinds: Sequence[tuple[str, str, str]],
        namespace: str | None,
        sink: Callable[[ClusterEvent], None],
        stop: threading.Event,
    ) -> None:
        """List then watch ``kinds`` until ``stop`` is set, calling ``sink`` per event.
        Never raises for stream failures: reports WATCH_FAILED and retries with backoff."""
        ...

    def health(self) -> Mapping[str, WatchHealth]: ...

    def list_objects(
        self, kinds: Sequence[tuple[str, str, str]], namespace: str | None
    ) -> list[JSONObject]:
        """One paged LIST per kind (for ``--once``); raises ClusterError when unreachable."""
        ...

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> JSONObject | None: ...

    def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        ops: Sequence[PatchOp],
        *,
        dry_run: bool = False,
    ) -> CorrectionResult:
        """JSON-patch the object with field manager ``drifttui`` (dryRun=All when asked)."""
        ...

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> CorrectionResult:
        """Server-side apply (create or update) with field manager ``drifttui``, force."""
        ...


@dataclass(slots=True)
class ScriptStep:
    """One step of a simulated drift timeline: after ``at_s`` seconds, ``action``."""

    at_s: float
    description: str
    action: Callable[[Any], None] = field(repr=False)
