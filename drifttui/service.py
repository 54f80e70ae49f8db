"""The headless watch service: the engine running until stopped, with /health, /ready,
/drift and /metrics over HTTP (starlette on uvicorn), the seed's log lines, drift records in
the hub, optional auto-fix, and leader election so only one replica writes.

Every subscriber of the engine is a queue drained by its own thread, so the watch threads
never wait on the hub, the analyst or a correction.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drifttui.analysis.protocol import Analyst
from drifttui.core.describe import describe_finding
from drifttui.core.models import DriftItem, ResourceKey
from drifttui.engine import DriftEvent, Engine
from drifttui.errors import ConfigError, DrifttuiError
from drifttui.metrics import CONTENT_TYPE, Metrics
from drifttui.remediation import Outcome, Remediator, autofix_decision

log = logging.getLogger("drifttui")

_WHOLE_ENV = ResourceKey("", "*", "", "*")
"""Queue key meaning \"the whole environment\" (analysis runs per environment)."""


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, or a ConfigError naming the
    address: uvicorn would log its own "ERROR: [Errno 98] ..." and exit 3 (after we had
    already announced the address), and a port over 65535 was an internal error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = getattr(exc, "strerror", None) or str(exc).removeprefix("bind(): ").rstrip(".")
        raise ConfigError(
            f"cannot listen on {host}:{port} ({reason})",
            "--host/--port",
            "check --host and choose a free --port (0-65535), or stop what uses it",
        ) from None
    return sock


@dataclass
class ServiceOptions:
    auto_fix: bool = False
    analyze: bool = True
    analysis_debounce_s: float = 1.0
    record_drift: bool = True
    leader_check_s: float = 0.2
    """How often a replica that skipped work as a follower checks whether it leads now."""


class _Drain(threading.Thread):
    """A daemon thread draining a queue of (env, key), coalescing repeats."""

    def __init__(
        self,
        name: str,
        handle: Callable[[str, ResourceKey], None],
        stop: threading.Event,
        debounce_s: float = 0.0,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.q: queue.Queue[tuple[str, ResourceKey]] = queue.Queue()
        self.handle = handle
        self.stop_event = stop
        self.debounce_s = debounce_s
        self.idle = threading.Event()
        """Set when nothing is queued or being handled (counted under a lock: a put racing
        the end of a batch, or a timed-out wait, cannot mark the queue idle too early)."""
        self.idle.set()
        self._lock = threading.Lock()
        self._pending = 0

    def put(self, env: str, key: ResourceKey) -> None:
        with self._lock:
            self._pending += 1
            self.idle.clear()
        self.q.put((env, key))

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                first = self.q.get(timeout=0.2)
            except queue.Empty:
                continue
            taken = 1
            if self.debounce_s:
                self.stop_event.wait(self.debounce_s)
            batch = {first: None}
            while True:
                try:
                    batch[self.q.get_nowait()] = None
                    taken += 1
                except queue.Empty:
                    break
            for env, key in batch:
                try:
                    self.handle(env, key)
                except DrifttuiError as exc:
                    log.error("%s: %s", self.name, exc)
                except Exception:
                    log.exception("%s failed", self.name)
            with self._lock:
                self._pending -= taken
                if self._pending == 0:
                    self.idle.set()


@dataclass
class Service:
    engine: Engine
    remediator: Remediator
    records: Any | None = None
    analyst: Analyst | None = None
    options: ServiceOptions = field(default_factory=ServiceOptions)
    is_leader: Callable[[], bool] = lambda: True
    auto_fix_filter: Callable[[str, DriftItem], bool] | None = None

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.engine, is_leader=lambda: self.is_leader())
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._skipped = threading.Event()
        """Set when a follower dropped work (a record, a fix): the next leader catches up."""
        self._records_q = _Drain("drift-records", self._write_record, self.stop_event)
        self._fix_q = _Drain("auto-fix", self._auto_fix, self.stop_event)
        self._analysis_q = _Drain(
            "analysis", self._analyze, self.stop_event, self.options.analysis_debounce_s
        )
        self.remediator.on_fixed = self._count_fix
        self.engine.subscribe(self._on_event)

    # ----------------------------------------------------------------- events

    def _on_event(self, ev: DriftEvent) -> None:
        item = ev.item
        if item is not None and item.is_drifted:
            before = {f.id for f in ev.previous.counted} if ev.previous else set()
            new = [f for f in item.counted if f.id not in before]
            if ev.opened and not item.counted:
                log.warning(
                    "⚠️  DRIFT DETECTED: %s/%s is missing from the cluster (%s)",
                    item.key.kind,
                    item.key.name,
                    ev.environment,
                )
            for f in new:
                log.warning("⚠️  DRIFT DETECTED: %s (%s)", describe_finding(item, f), ev.environment)
            if new or ev.opened:
                if self.options.analyze and self.analyst is not None:
                    self._analysis_q.put(ev.environment, _WHOLE_ENV)
                if self.options.auto_fix:
                    self._fix_q.put(ev.environment, ev.key)
        elif ev.closed:
            log.info("✅ In sync again: %s (%s)", ev.key, ev.environment)
        if (
            self.records is not None
            and self.options.record_drift
            and (ev.closed or (item is not None and item.is_drifted))
        ):
            self._records_q.put(ev.environment, ev.key)

    def _leads(self) -> bool:
        if self.is_leader():
            return True
        self._skipped.set()
        return False

    def _write_record(self, env: str, key: ResourceKey) -> None:
        if self.records is None or not self._leads():
            return
        item = self.engine.store.get(env, key)
        if item is not None and item.is_drifted:
            self.records.open_or_update(env, item)
        else:
            self.records.close(env, key, "corrected", "in sync again")

    def _auto_fix(self, env: str, key: ResourceKey) -> None:
        if not self._leads():
            return
        item = self.engine.store.get(env, key)
        if item is None or not item.is_drifted:
            return
        # Read the object again first: after a takeover the store may be a moment behind a
        # fix the previous leader made, and a fix is applied once.
        self.engine.refresh_live(env, key)
        item = self.engine.store.get(env, key)
        if item is None or not item.is_drifted:
            return
        e = self.engine.state(env).env
        selected = self.auto_fix_filter(env, item) if self.auto_fix_filter else True
        ok, reason = autofix_decision(e, item, global_auto_fix=True, selected_by_filter=selected)
        if not ok:
            log.info("auto-fix skipped for %s (%s): %s", key, env, reason)
            return
        plan = self.remediator.plan_patch(env, key)
        log.info("🔧 Applying fix: %s", "; ".join(plan.lines) or plan.title)
        self.remediator.execute(plan, mode="auto")

    def _analyze(self, env: str, key: ResourceKey) -> None:
        if self.analyst is None or not self._leads():
            return  # one replica pays for the analysis
        from drifttui.analysis import summary_line

        items = [i for i in self.engine.store.drifted(env)]
        if not items:
            return
        analysis = self.analyst.analyze(items)
        log.info("🤖 %s", summary_line(analysis))

    def catch_up(self) -> None:
        """Queue what a follower skipped: every drift for its record (and auto-fix), every
        open record whose resource is in sync again, the analysis of drifted environments."""
        from drifttui.hub.records import record_slug

        records = self.records if self.options.record_drift else None
        open_records: set[str] = set()
        if records is not None:
            try:
                open_records = {r.slug for r in records.list("open")}
            except DrifttuiError as exc:
                log.error("drift records: %s", exc)
        for env in self.engine.states:
            drifted = False
            for item in self.engine.store.items(env):
                if item.is_drifted:
                    drifted = True
                    if records is not None:
                        self._records_q.put(env, item.key)
                    if self.options.auto_fix:
                        self._fix_q.put(env, item.key)
                elif record_slug(env, item.key) in open_records:
                    self._records_q.put(env, item.key)
            if drifted and self.options.analyze and self.analyst is not None:
                self._analysis_q.put(env, _WHOLE_ENV)

    def _follow_leadership(self) -> None:
        while not self.stop_event.wait(self.options.leader_check_s):
            if self._skipped.is_set() and self.is_leader():
                self._skipped.clear()
                log.info("leading now: catching up on drift seen as a follower")
                try:
                    self.catch_up()
                except Exception:
                    log.exception("catch-up failed")

    def _count_fix(self, outcome: Outcome, mode: str) -> None:
        self.metrics.fixes.labels(outcome.plan.environment, outcome.plan.action, mode).inc()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        leadership = threading.Thread(
            target=self._follow_leadership, name="leadership", daemon=True
        )
        for t in (self._records_q, self._fix_q, self._analysis_q, leadership):
            t.start()
            self._threads.append(t)
        for env in self.engine.states:
            try:
                self.engine.load_desired(env)
            except DrifttuiError as exc:
                log.error("cannot load desired state for %s: %s", env, exc)
            self.engine.fetch_out_of_scope(env)
        self._threads += self.engine.start_watches(self.stop_event)
        log.info(
            "Informers started for %s, watching for changes...",
            ", ".join(sorted({k for _, k, _ in self.engine.kinds})),
        )

    def stop(self) -> None:
        self.stop_event.set()

    def quiesce(self, timeout_s: float = 10.0) -> bool:
        """Wait until the subscriber queues are drained (tests, --once of demo)."""
        deadline = time.monotonic() + timeout_s
        for d in (self._records_q, self._fix_q, self._analysis_q):
            if not d.idle.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    # ----------------------------------------------------------------- HTTP

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        from drifttui.report import report_to_dict
        from drifttui.snapshot import engine_report

        async def health(_: Request) -> Response:
            return JSONResponse({"status": "ok", "leader": self.is_leader()})

        async def ready(_: Request) -> Response:
            ok = self.engine.is_ready()
            return JSONResponse({"ready": ok}, status_code=200 if ok else 503)

        async def drift(_: Request) -> Response:
            return JSONResponse(report_to_dict(engine_report(self.engine)))

        async def metrics(_: Request) -> Response:
            return Response(self.metrics.render(), media_type=CONTENT_TYPE)

        return Starlette(
            routes=[
                Route("/health", health),
                Route("/ready", ready),
                Route("/drift", drift),
                Route("/metrics", metrics),
            ]
        )

    def serve(self, host: str, port: int) -> None:
        """Run until SIGINT/SIGTERM (uvicorn handles the signals), then return normally so
        the caller can release the Lease and close its clients."""
        import signal

        import uvicorn

        sock = listen_socket(host, port)
        port = sock.getsockname()[1]  # --port 0: the one the system chose
        config = uvicorn.Config(
            self.app(), host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        server = uvicorn.Server(config)

        def shut_down(_sig: int, _frame: object) -> None:
            # Before uvicorn listens: it stops right after starting. After its graceful
            # shutdown, uvicorn raises the signal it caught once more; the default SIGTERM
            # action would end the process before the Lease is handed back.
            server.should_exit = True

        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, shut_down)
        try:
            self.start()
            log.info("Serving /health, /ready, /drift and /metrics on http://%s:%d", host, port)
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass  # SIGINT/SIGTERM: uvicorn shut down cleanly and re-raised the signal
        finally:
            sock.close()
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
