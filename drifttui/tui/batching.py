"""Between the watch threads and the UI: keep the latest change, drain in batches.

The engine calls its subscribers from whatever thread changed the store (a watch thread, a
fix worker). Posting one Textual message per event would cost one repaint per event; a
burst of ten thousand events would freeze the screen. Instead :class:`DriftInbox` keeps,
per (environment, resource), only the latest item; the UI drains it on a short interval
(50-100 ms) and applies the whole batch at once. :class:`LineInbox` does the same for log
lines (a bounded buffer: under a flood the oldest lines go first).

Both are plain thread-safe containers, tested without Textual.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable

from drifttui.core.models import DriftItem, ResourceKey
from drifttui.engine import DriftEvent

Change = tuple[str, ResourceKey, DriftItem | None]
"""(environment, resource, latest item or None when no longer tracked)."""


class DriftInbox:
    """Latest change per (environment, resource), in first-arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, ResourceKey], DriftItem | None] = {}
        self.received = 0
        """Events put since the start (for the benchmark and tests)."""

    def put(self, environment: str, key: ResourceKey, item: DriftItem | None) -> None:
        with self._lock:
            self._latest[(environment, key)] = item
            self.received += 1

    def put_event(self, event: DriftEvent) -> None:
        """The engine's subscriber: called from the thread that changed the store."""
        self.put(event.environment, event.key, event.item)

    def seed(self, items: Iterable[DriftItem]) -> None:
        """What the store held before the subscription: put where no newer event is
        waiting (call after subscribing, so nothing falls between the two)."""
        with self._lock:
            for item in items:
                self._latest.setdefault((item.environment, item.key), item)

    def drain(self) -> list[Change]:
        with self._lock:
            if not self._latest:
                return []
            latest, self._latest = self._latest, {}
        return [(env, key, item) for (env, key), item in latest.items()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._latest)


class WorkBatches:
    """Resources waiting for one background worker (auto-fix, drift records): keys added
    while the worker runs wait for it and go together in the next batch, each once. Used
    on the UI thread only."""

    def __init__(
        self,
        name: str,
        group: str,
        describe: str,
        work: Callable[[list[tuple[str, ResourceKey]]], None],
    ) -> None:
        self.name = name
        self.group = group
        self.describe = describe
        """What the worker does, with ``{n}`` for the batch size."""
        self.work = work
        """What the worker runs on a batch (in a thread)."""
        self._pending: dict[tuple[str, ResourceKey], None] = {}
        self.busy = False

    def add(self, environment: str, key: ResourceKey) -> None:
        self._pending[(environment, key)] = None

    def take(self) -> list[tuple[str, ResourceKey]] | None:
        """The next batch, the worker now busy; None while it is busy or nothing waits."""
        if self.busy or not self._pending:
            return None
        keys = list(self._pending)
        self._pending.clear()
        self.busy = True
        return keys


class LineInbox:
    """A bounded, thread-safe buffer of log lines."""

    def __init__(self, max_lines: int = 2000) -> None:
        self._lines: deque[str] = deque(maxlen=max_lines)
        self._lock = threading.Lock()
        self.dropped = 0

    def put(self, line: str) -> None:
        with self._lock:
            if len(self._lines) == self._lines.maxlen:
                self.dropped += 1
            self._lines.append(line)

    def extend(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.put(line)

    def drain(self) -> list[str]:
        with self._lock:
            out = list(self._lines)
            self._lines.clear()
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._lines)


class LineHandler(logging.Handler):
    """A logging handler that puts ``HH:MM:SS message`` lines into a :class:`LineInbox`.

    The time comes from ``clock`` (the app's clock: fixed in tests and screenshots), so the
    log pane reads like the seed's detector. Errors and warnings that carry no emoji of
    their own get one.
    """

    def __init__(
        self,
        inbox: LineInbox,
        clock: Callable[[], float],
        formatter: Callable[[float], str],
        scrub: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(logging.INFO)
        self.inbox = inbox
        self.clock = clock
        self.format_time = formatter
        self.scrub = scrub

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        if self.scrub is not None:
            message = self.scrub(message)
        first = message[:1]
        if record.levelno >= logging.ERROR and first.isascii():
            message = f"❌ {message}"
        elif record.levelno >= logging.WARNING and first.isascii():
            message = f"⚠️  {message}"
        for i, line in enumerate(message.splitlines() or [""]):
            prefix = self.format_time(self.clock()) if i == 0 else " " * 8
            self.inbox.put(f"{prefix} {line}")
