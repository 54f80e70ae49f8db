"""A reflector per kind: LIST, then WATCH from the list's resourceVersion, forever.

Mirrors client-go's Reflector and kopf's watcher, without the official Python client's holes
(drift-rules.md 4.4):

- paged LIST (``limit``/``continue``; an expired continue token restarts the list once),
  then WATCH from the list's resourceVersion with ``allowWatchBookmarks``;
- the resourceVersion is taken from every event, bookmarks included, so a re-watch resumes
  where the last one stopped;
- 410 Gone (HTTP status or ERROR event) means a re-LIST that synthesises DELETED events for
  objects that vanished in the gap, then a watch from the new list's version (never the
  stale one: no 410 loop);
- the server ends each watch after ``server_timeout_s``, below the client's inactivity
  timeout (``inactivity_timeout_s``, 70 s): a stream silent for longer is dead and restarted;
- every failure is reported (WATCH_FAILED) and retried after a jittered exponential backoff;
- a ``threading.Event`` stops it; ``interrupt()`` unblocks a read in progress.

The HTTP (or in-process) part is a :class:`WatchTransport`, so the same reflector serves
``KubeCluster`` (the official client's ApiClient) and ``SimulatedCluster``; both are a
:class:`ReflectorCluster`, which holds the watch and health half of the ``Cluster`` protocol.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from drifttui.cluster.protocol import ClusterEvent, EventType, JSONObject, WatchHealth
from drifttui.cluster.store import ObjectStore, gc_paused, kind_id, trim_object

log = logging.getLogger(__name__)

KindRef = tuple[str, str, str]
"""(apiVersion, kind, plural), as in ``protocol.WATCHED_KINDS``."""


# --------------------------------------------------------------------------- transport


class ApiError(Exception):
    """The API answered with an error status (or an ERROR event carried one)."""

    def __init__(self, status: int, reason: str = "", message: str = "") -> None:
        self.status = status
        # The HTTP phrase ("Not Found"), whatever CamelCase reason the Status carried.
        self.reason = _REASONS.get(status) or reason or "Error"
        self.message = message
        super().__init__(f"{status} {self.reason}" + (f": {message}" if message else ""))


class TransportError(Exception):
    """The API could not be reached, or the connection broke or went silent."""


class WatchInactiveError(TransportError):
    """No event (not even a bookmark) for longer than the inactivity timeout."""


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[JSONObject]
    resource_version: str
    continue_token: str | None = None


class WatchStream(Protocol):
    """Raw watch events ``{"type": ..., "object": ...}`` until the server ends the stream.

    Raises TransportError when the connection breaks or stays silent past the inactivity
    timeout. ``interrupt()`` may be called from another thread to end it early.
    """

    def __iter__(self) -> Iterator[Mapping[str, Any]]: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class WatchTransport(Protocol):
    def list_page(
        self,
        kind: KindRef,
        namespace: str | None,
        *,
        limit: int,
        continue_token: str | None,
    ) -> ListPage:
        """One page of a LIST; raises ApiError or TransportError."""
        ...

    def open_watch(
        self,
        kind: KindRef,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_s: int,
        inactivity_s: float,
    ) -> WatchStream:
        """Start a WATCH (bookmarks on); raises ApiError (410 included) or TransportError."""
        ...


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """Timeouts and backoff of the reflectors (kopf's reasoning: 60 s bookmarks, 70 s
    inactivity). Tests shrink them; production keeps the defaults."""

    page_size: int = 500
    server_timeout_s: int = 60
    """``timeoutSeconds`` of each WATCH: the server ends it cleanly, below the inactivity
    timeout, so a healthy quiet stream is never mistaken for a dead one."""
    inactivity_timeout_s: float = 70.0
    """A stream with no event and no bookmark for this long is dead: restart it."""
    connect_timeout_s: float = 10.0
    request_timeout_s: float = 30.0
    """Read timeout of LIST, GET and PATCH requests."""
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    queue_size: int = 10_000
    """Events buffered between the reflector threads and the sink (back-pressure beyond)."""


# --------------------------------------------------------------------------- health


class HealthBoard:
    """WatchHealth per kind, updated by the reflectors, read by anyone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_kind: dict[str, WatchHealth] = {}

    def update(self, kind: str, **changes: Any) -> None:
        with self._lock:
            current = self._by_kind.get(kind) or WatchHealth(kind=kind)
            self._by_kind[kind] = replace(current, **changes)

    def bump(self, kind: str, field: str, **changes: Any) -> None:
        with self._lock:
            current = self._by_kind.get(kind) or WatchHealth(kind=kind)
            changes[field] = getattr(current, field) + 1
            self._by_kind[kind] = replace(current, **changes)

    def snapshot(self) -> dict[str, WatchHealth]:
        with self._lock:
            return dict(self._by_kind)


# --------------------------------------------------------------------------- reflector


class _GoneError(Exception):
    """410: the resourceVersion we watch from is too old; relist."""


class _StoppedError(Exception):
    pass


def where_text(namespace: str | None) -> str:
    return f'in "{namespace}"' if namespace else "in all namespaces"


def backoff_delay(
    failures: int, settings: WatchSettings, rng: random.Random | None = None
) -> float:
    """Jittered exponential backoff ("equal jitter"): half fixed, half random."""
    base = min(settings.backoff_max_s, settings.backoff_initial_s * (2.0 ** max(0, failures - 1)))
    jitter: float = (rng or random).uniform(0, base / 2)
    return base / 2 + jitter


class Reflector:
    """Keeps ``store`` equal to the server's objects of one kind and reports each change.

    ``emit`` receives ClusterEvents (from this reflector's thread). ``describe_error`` turns
    an error into the one line shown to people (who is watching what, where).
    """

    def __init__(
        self,
        transport: WatchTransport,
        kind: KindRef,
        namespace: str | None,
        store: ObjectStore,
        emit: Callable[[ClusterEvent], None],
        stop: threading.Event,
        *,
        settings: WatchSettings,
        health: HealthBoard,
        describe_error: Callable[[str, KindRef, str | None, Exception], str] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.kind = kind
        self.api_version, self.kind_name, self.plural = kind
        self.kid = kind_id(self.api_version, self.kind_name)
        self.namespace = namespace
        self.store = store
        self.emit = emit
        self.stop = stop
        self.settings = settings
        self.health = health
        self.describe_error = describe_error or _default_describe
        self.rng = rng or random.Random()
        self.clock = clock
        self.resource_version = ""
        """The newest version seen: from the last LIST, then from every watch event."""
        self._has_listed = False
        self._has_failed = False
        self._stream: WatchStream | None = None
        self._stream_lock = threading.Lock()
        self.lists = 0
        self.watches = 0

    # ----------------------------------------------------------------- control

    def interrupt(self) -> None:
        """End a blocked read (call after setting ``stop``)."""
        with self._stream_lock:
            stream = self._stream
        if stream is not None:
            try:
                stream.interrupt()
            except Exception:  # pragma: no cover - best effort from another thread
                log.debug("interrupting the %s watch failed", self.kind_name, exc_info=True)

    def run(self) -> None:
        """List then watch until ``stop`` is set. Never raises for API or network errors."""
        self.health.update(self.kind_name)
        need_list = True
        failures = 0
        gone_streak = 0
        while not self.stop.is_set():
            try:
                if need_list:
                    self.resource_version = self._list()
                    need_list = False
                started = self.clock()
                had_events = self._watch()
                if had_events:
                    failures = 0
                    gone_streak = 0
                elif self.clock() - started < 1.0 and not self.stop.is_set():
                    # A stream that ended at once with nothing in it: do not spin. (A quiet
                    # stream the server ended at its timeout is simply renewed.)
                    failures += 1
                    if self._sleep(backoff_delay(failures, self.settings, self.rng)):
                        break
            except _StoppedError:
                break
            except _GoneError:
                need_list = True
                gone_streak += 1
                log.debug("%s %s: 410 Gone, relisting", self.kind_name, where_text(self.namespace))
                if gone_streak > 1 and self._sleep(  # 410 again right after a relist: back off
                    backoff_delay(gone_streak - 1, self.settings, self.rng)
                ):
                    break
            except (ApiError, TransportError) as exc:
                if self.stop.is_set():
                    break
                failures += 1
                self._failed(exc, "watch" if not need_list else "list")
                if self._sleep(backoff_delay(failures, self.settings, self.rng)):
                    break
            except Exception as exc:  # a bug or a malformed response: report, never die
                if self.stop.is_set():
                    break
                failures += 1
                log.warning(
                    "%s %s: unexpected %s",
                    self.kind_name,
                    where_text(self.namespace),
                    type(exc).__name__,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                self._failed(exc, "watch")
                need_list = True
                if self._sleep(backoff_delay(failures, self.settings, self.rng)):
                    break
        self.health.update(self.kind_name, is_connected=False)

    # ----------------------------------------------------------------- steps

    def _sleep(self, seconds: float) -> bool:
        """Wait; True when ``stop`` was set meanwhile."""
        return self.stop.wait(seconds)

    def _failed(self, exc: Exception, verb: str) -> None:
        message = self.describe_error(verb, self.kind, self.namespace, exc)
        log.warning("%s", message)
        self._has_failed = True
        self.health.bump(self.kind_name, "restarts", is_connected=False, last_error=message)
        self.emit(
            ClusterEvent(
                EventType.WATCH_FAILED, self.kind_name, error=message, namespace=self.namespace
            )
        )

    def _list(self) -> str:
        with gc_paused():
            return self._list_pages()

    def _list_pages(self) -> str:
        items: list[JSONObject] = []
        token: str | None = None
        restarted = False
        while True:
            if self.stop.is_set():
                raise _StoppedError
            try:
                page = self.transport.list_page(
                    self.kind, self.namespace, limit=self.settings.page_size, continue_token=token
                )
            except ApiError as exc:
                if exc.status == 410 and token and not restarted:
                    # The continue token expired mid-list: start the list over, once.
                    items, token, restarted = [], None, True
                    continue
                raise
            for raw in page.items:
                items.append(trim_object(raw, self.api_version, self.kind_name))
            token = page.continue_token
            if not token:
                break
        self.lists += 1
        changes = self.store.replace(self.kid, items, self.namespace)
        for change in changes:
            self.emit(
                ClusterEvent(
                    change.type,
                    self.kind_name,
                    change.obj,
                    _rv(change.obj),
                    namespace=self.namespace,
                )
            )
        marker = EventType.RELISTED if self._has_listed else EventType.LISTED
        if self._has_listed:
            self.health.bump(self.kind_name, "relists", has_listed=True, last_event_at=self.clock())
        else:
            self.health.update(self.kind_name, has_listed=True, last_event_at=self.clock())
        self._has_listed = True
        self.emit(
            ClusterEvent(
                marker, self.kind_name, None, page.resource_version, namespace=self.namespace
            )
        )
        return page.resource_version

    def _watch(self) -> bool:
        """One WATCH from ``self.resource_version``, which every event (bookmarks too) moves
        forward at once, so a stream that breaks mid-way resumes after its last event.
        True when the stream delivered anything."""
        resource_version = self.resource_version
        try:
            stream = self.transport.open_watch(
                self.kind,
                self.namespace,
                resource_version=resource_version,
                timeout_s=self.settings.server_timeout_s,
                inactivity_s=self.settings.inactivity_timeout_s,
            )
        except ApiError as exc:
            if exc.status == 410:
                raise _GoneError from None
            raise
        with self._stream_lock:
            self._stream = stream
        self.watches += 1
        if self.stop.is_set():
            stream.close()
            raise _StoppedError
        self.health.update(self.kind_name, is_connected=True, last_error=None)
        if self._has_failed:
            self._has_failed = False
            self.emit(
                ClusterEvent(
                    EventType.WATCH_RESTORED,
                    self.kind_name,
                    None,
                    resource_version,
                    namespace=self.namespace,
                )
            )
        had_events = False
        try:
            for raw in stream:
                if self.stop.is_set():
                    raise _StoppedError
                kind = raw.get("type")
                obj = raw.get("object")
                if not isinstance(obj, Mapping):
                    obj = {}
                if kind == "ERROR":
                    code = obj.get("code")
                    if code == 410:
                        raise _GoneError
                    raise ApiError(
                        int(code) if isinstance(code, int) else 500,
                        "",  # the HTTP phrase; the Status reason is CamelCase
                        str(obj.get("message") or obj.get("reason") or ""),
                    )
                had_events = True
                new_rv = _rv(obj)
                self.health.update(self.kind_name, last_event_at=self.clock())
                if kind == "BOOKMARK":
                    self.resource_version = new_rv or self.resource_version
                    continue
                if kind not in ("ADDED", "MODIFIED", "DELETED"):
                    log.debug("%s: ignoring a watch event of type %r", self.kind_name, kind)
                    continue
                trimmed = trim_object(obj, self.api_version, self.kind_name)
                meta = trimmed["metadata"]
                if kind == "DELETED":
                    self.store.remove(
                        self.kid, str(meta.get("namespace") or ""), str(meta.get("name") or "")
                    )
                    self.emit(
                        ClusterEvent(
                            EventType.DELETED,
                            self.kind_name,
                            trimmed,
                            new_rv,
                            namespace=self.namespace,
                        )
                    )
                else:
                    change = self.store.upsert(self.kid, trimmed)
                    if change is not None:
                        self.emit(
                            ClusterEvent(
                                change, self.kind_name, trimmed, new_rv, namespace=self.namespace
                            )
                        )
                self.resource_version = new_rv or self.resource_version
        finally:
            with self._stream_lock:
                self._stream = None
            stream.close()
        return had_events


def _rv(obj: Mapping[str, Any] | None) -> str:
    meta = (obj or {}).get("metadata")
    return str(meta.get("resourceVersion") or "") if isinstance(meta, Mapping) else ""


def _default_describe(verb: str, kind: KindRef, namespace: str | None, exc: Exception) -> str:
    return f"cannot {verb} {kind[0]} {kind[1]} {where_text(namespace)}: {exc}"


# --------------------------------------------------------------------------- fan-in


def run_reflectors(
    make: Callable[[KindRef, Callable[[ClusterEvent], None], threading.Event], Reflector],
    kinds: Sequence[KindRef],
    sink: Callable[[ClusterEvent], None],
    stop: threading.Event,
    *,
    queue_size: int = 10_000,
    poll_s: float = 0.1,
) -> None:
    """Run one reflector thread per kind and call ``sink`` from THIS thread for every event,
    until ``stop`` is set; then interrupt and join the reflectors.

    A bounded queue between them gives back-pressure: a slow sink slows the reflectors
    instead of growing memory.
    """
    import queue

    events: queue.Queue[ClusterEvent] = queue.Queue(maxsize=queue_size)
    inner_stop = threading.Event()

    def emit(event: ClusterEvent) -> None:
        while not inner_stop.is_set():
            try:
                events.put(event, timeout=poll_s)
                return
            except queue.Full:
                continue

    reflectors = [make(kind, emit, inner_stop) for kind in kinds]
    threads = [
        threading.Thread(target=r.run, name=f"reflector:{r.kind_name}", daemon=True)
        for r in reflectors
    ]
    for t in threads:
        t.start()
    try:
        while not stop.is_set():
            try:
                event = events.get(timeout=poll_s)
            except queue.Empty:
                continue
            sink(event)
    finally:
        inner_stop.set()
        for r in reflectors:
            r.interrupt()
        for t in threads:
            t.join(timeout=10)


# --------------------------------------------------------------------------- the clusters' reads


class ReflectorCluster:
    """The read half of the ``Cluster`` protocol that ``KubeCluster`` and ``SimulatedCluster``
    share: ``run_watch`` (one :class:`Reflector` per kind over ``transport``), ``health`` and
    ``list_objects`` (the subclass's ``_list_objects`` with the collector paused).

    A subclass sets ``transport`` and calls ``__init__``; it gives ``describe`` (the one line
    for a failed request) and ``_list_objects``.
    """

    transport: WatchTransport

    def __init__(self, name: str, settings: WatchSettings | None) -> None:
        self._name = name
        self.settings = settings or WatchSettings()
        self._health = HealthBoard()

    @property
    def name(self) -> str:
        return self._name

    def describe(self, verb: str, kind: KindRef, namespace: str | None, exc: Exception) -> str:
        raise NotImplementedError

    def run_watch(
        self,
        kinds: Sequence[tuple[str, str, str]],
        namespace: str | None,
        sink: Callable[[ClusterEvent], None],
        stop: threading.Event,
        *,
        store: ObjectStore | None = None,
    ) -> None:
        """List then watch ``kinds`` until ``stop``; ``sink`` is called from this thread.
        ``store`` (optional) receives the reflectors' cache, for inspection."""
        cache = store if store is not None else ObjectStore()

        def make(
            kind: KindRef, emit: Callable[[ClusterEvent], None], inner: threading.Event
        ) -> Reflector:
            return Reflector(
                self.transport,
                kind,
                namespace,
                cache,
                emit,
                inner,
                settings=self.settings,
                health=self._health,
                describe_error=self.describe,
            )

        run_reflectors(make, kinds, sink, stop, queue_size=self.settings.queue_size)

    def health(self) -> Mapping[str, WatchHealth]:
        return self._health.snapshot()

    def list_objects(
        self, kinds: Sequence[tuple[str, str, str]], namespace: str | None
    ) -> list[JSONObject]:
        with gc_paused():
            return self._list_objects(kinds, namespace)

    def _list_objects(
        self, kinds: Sequence[tuple[str, str, str]], namespace: str | None
    ) -> list[JSONObject]:
        raise NotImplementedError
