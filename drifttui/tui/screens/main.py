"""The main screen: pulse, environment tree, drift list, detail, analysis and log.

Threads never touch widgets. The engine calls :meth:`DriftInbox.put_event` from watch
threads; every ``flush_interval_s`` the screen drains the inbox into one
:class:`DriftBatch` and applies it at once (rows, pulse, tree, detail) under
``app.batch_update()``. Hub reads, plans, previews, writes and analyses run in thread
workers that post messages back; one ``on_worker_state_changed`` turns any failure into a
notification and a log line, and restarts a watch that died.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Markdown, RichLog, Tree
from textual.worker import Worker, WorkerState, get_current_worker

from drifttui.analysis.protocol import Analysis
from drifttui.core.describe import describe_finding
from drifttui.core.models import DriftItem, Environment, FieldDrift, ResourceKey
from drifttui.errors import DrifttuiError, HubError
from drifttui.hub.protocol import Revision
from drifttui.remediation import Plan, ReadOnlyError
from drifttui.tui import hub_reads
from drifttui.tui.batching import DriftInbox, LineHandler, LineInbox, WorkBatches
from drifttui.tui.keymap import main_bindings
from drifttui.tui.messages import (
    AnalysisReady,
    ChainLoaded,
    DriftBatch,
    EnvironmentLoaded,
    Proposal,
    ProposalReady,
    RevisionsLoaded,
    RollbackReady,
    SelectorReady,
    WritesFinished,
)
from drifttui.tui.model import (
    DriftRow,
    DriftView,
    EnvFigures,
    IgnoreChoice,
    ItemKey,
    RollbackChoice,
    SortKey,
    ViewChanges,
    format_clock,
    ignore_choices,
    parse_query,
)
from drifttui.tui.screens.confirm import ConfirmScreen
from drifttui.tui.screens.detail import DetailScreen
from drifttui.tui.screens.help import HelpScreen
from drifttui.tui.screens.ignore import IgnoreScreen
from drifttui.tui.screens.rollback import RollbackScreen
from drifttui.tui.services import AppServices
from drifttui.tui.widgets.detail import DetailData, DetailPane, verdicts_for
from drifttui.tui.widgets.drift_table import DriftTable
from drifttui.tui.widgets.env_tree import ChainNode, EnvTree
from drifttui.tui.widgets.pulse import Pulse, PulseLine, PulseTitle

log = logging.getLogger("drifttui.tui")

COLUMN_SORT = {
    "sev": SortKey.SEVERITY,
    "env": SortKey.ENVIRONMENT,
    "resource": SortKey.RESOURCE,
    "category": SortKey.CATEGORY,
    "age": SortKey.AGE,
    "field": SortKey.RESOURCE,
    "change": SortKey.RESOURCE,
    "who": SortKey.RESOURCE,
}
SORT_COLUMN = {
    SortKey.SEVERITY: "sev",
    SortKey.ENVIRONMENT: "env",
    SortKey.RESOURCE: "resource",
    SortKey.CATEGORY: "category",
    SortKey.AGE: "age",
}
WATCH_RESTART_S = (1.0, 2.0, 5.0, 10.0, 30.0)
MAX_LOGGED = 25
"""Log lines per batch for opened (or closed) drift; the rest is one summary line."""
ANALYSIS_PLACEHOLDER = (
    "### Analysis\n\nPress **c** to ask {analyst} about the drift shown (or the marked rows). "
    "New drift is analysed automatically.\n"
)


HistoryEntry = str | tuple[str, DriftItem, FieldDrift | None]
"""A line of an item's history, or (time, item, finding) for drift seen (described late)."""


def _sentence(item: DriftItem, finding: FieldDrift | None) -> str:
    if finding is None:
        return f"{item.key.kind}/{item.key.name} is missing from the cluster"
    return describe_finding(item, finding)


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(main_bindings())
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012
    AUTO_FOCUS = "#drift-list"

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.env_names = [e.name for e in services.environments]
        self.view = DriftView(self.env_names)
        self.inbox = DriftInbox()
        self.lines = LineInbox()
        self.fixes: dict[str, int] = {}
        self.auto_fixes: dict[str, int] = {}
        self._fixes = WorkBatches(
            "auto-fix", "auto-fix", "auto-fix {n} resource(s)", self._auto_fix
        )
        self.history: dict[ItemKey, list[HistoryEntry]] = {}
        self.revisions: dict[tuple[str, str], tuple[Revision, ...]] = {}
        self.analysis: Analysis | None = None
        self.loaded: set[str] = set()
        self.is_ready = False
        self.batches = 0
        """Batches applied (tests and the benchmark count work)."""
        self.figures: dict[str, EnvFigures] = self.view.figures()
        self._unsubscribe: Callable[[], None] | None = None
        self._handler: LineHandler | None = None
        self._logger_level = logging.NOTSET
        self._analysis_timer: Timer | None = None
        self._revisions_timer: Timer | None = None
        self._records = WorkBatches(
            "hub:records", "records", "write {n} drift record(s)", self._write_records
        )
        self._selector_for: tuple[str | None, str | None] = (None, None)
        self._selector_error: str | None = None
        self._selector_reading = False
        self._watch_failures: dict[str, int] = {}
        self._closing = False
        self._asked = 0
        """Write requests made (a key, the palette); a plan or revision list that answers
        an earlier one is dropped: a write key pressed twice while the dry-run runs opens
        one confirmation, never two that would write twice."""

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Pulse(id="pulse")
        with Horizontal(id="top"):
            yield EnvTree("chain", id="tree")
            yield DriftTable(id="drift-list", now=self.services.clock)
        with Horizontal(id="bottom"):
            with VerticalScroll(id="detail-box"):
                yield DetailPane(id="detail")
            with VerticalScroll(id="analysis-box"):
                yield Markdown(id="analysis")
        yield RichLog(id="log", max_lines=2000, wrap=True, markup=False, highlight=False)
        yield Input(
            placeholder="filter: words  !exclude  :env prod  :filter security-drift  "
            ":set critical-drifts  :all  :sort age",
            id="filter",
            select_on_focus=False,
        )
        yield Footer(compact=True, show_command_palette=False)

    @property
    def table(self) -> DriftTable:
        return self.query_one("#drift-list", DriftTable)

    def on_mount(self) -> None:
        s = self.services
        self.query_one("#tree").border_title = "Environments"
        self.query_one("#drift-list").border_title = "Drift"
        self.query_one("#detail-box").border_title = "Detail"
        self.query_one("#analysis-box").border_title = "Analysis"
        self.query_one("#log").border_title = "Log"
        table = self.table
        table.set_accents({e.name: e.accent for e in s.environments})
        table.env_width = max(3, *(len(e) for e in self.env_names))
        table.empty_text = "Loading desired state from the hub and listing the clusters…"
        self.query_one("#filter", Input).display = False
        self.query_one("#analysis", Markdown).update(
            ANALYSIS_PLACEHOLDER.format(analyst=self._analyst_name())
        )
        self.set_class(s.read_only, "-read-only")
        self._install_logging()
        self._unsubscribe = s.engine.subscribe(self.inbox.put_event)
        self.inbox.seed(s.engine.items())  # what the engine knew before the TUI opened
        self.set_interval(s.flush_interval_s, self._flush, name="flush")
        self.set_interval(s.health_interval_s, self._poll_health, name="health")
        self.set_interval(s.age_refresh_s, self._refresh_ages, name="ages")
        self._refresh_pulse()
        self._start_loading()
        self._load_chain()

    def on_unmount(self) -> None:
        self._closing = True
        for worker in list(self.workers):
            worker.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._handler is not None:
            logger = logging.getLogger("drifttui")
            logger.removeHandler(self._handler)
            logger.setLevel(self._logger_level)
            self._handler = None

    def _install_logging(self) -> None:
        from drifttui.logs import RedactingFilter

        redactor = RedactingFilter(self.services.secrets)
        self._handler = LineHandler(self.lines, self.services.clock, format_clock, redactor.scrub)
        logger = logging.getLogger("drifttui")
        self._logger_level = logger.level
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addHandler(self._handler)

    def _analyst_name(self) -> str:
        name = self.services.analyst.name
        return "Claude" if name == "claude" else "the offline analyst"

    # ----------------------------------------------------------------- loading and watching

    def _start_loading(self) -> None:
        if self.services.live:
            for env in self.env_names:
                self._start_watch(env)
        else:
            self.run_worker(
                self._snapshot_all,
                name="load",
                group="load",
                thread=True,
                exit_on_error=False,
                description="load desired state and list every cluster once",
            )

    def _start_watch(self, env: str) -> None:
        if self._closing:
            return
        self.run_worker(
            partial(self._watch_environment, env),
            name=f"watch:{env}",
            group="watch",
            thread=True,
            exit_on_error=False,
            description=f"load {env} from the hub, then list and watch its cluster",
        )

    def _watch_environment(self, env: str) -> None:
        """Thread worker: desired state from the hub (retried), then the watch until the
        worker is cancelled (the app quits)."""
        engine = self.services.engine
        worker = get_current_worker()
        stop = worker.cancelled_event
        delay = 1.0
        while not stop.is_set():
            try:
                engine.load_desired(env)
                break
            except HubError:  # the engine logged it and the pulse shows it
                stop.wait(delay)
                delay = min(delay * 2, 60.0)
        if stop.is_set():
            return
        engine.fetch_out_of_scope(env)
        self.post_message(EnvironmentLoaded(env))
        st = engine.state(env)
        engine.clusters[env].run_watch(engine.kinds, st.env.namespace, engine.sink(env), stop)

    def _snapshot_all(self) -> None:
        engine = self.services.engine
        for env in self.env_names:
            if get_current_worker().is_cancelled:
                return
            engine.snapshot_environment(env)
            self.post_message(EnvironmentLoaded(env))

    def on_environment_loaded(self, message: EnvironmentLoaded) -> None:
        env = message.environment
        self.loaded.add(env)
        st = self.services.engine.state(env)
        error = self.services.engine.environment_error(env)
        if error:
            log.error("%s: %s", env, error)
        else:
            what = "watching" if self.services.live else "listed once"
            log.info("Loaded %s: %d unit(s) from %s, %s", env, len(st.units), st.env.space, what)
        self._check_ready()
        self._refresh_pulse()

    def _check_ready(self) -> None:
        if self.is_ready:
            return
        engine = self.services.engine
        ready = engine.is_ready() if self.services.live else len(self.loaded) == len(self.env_names)
        if not ready:
            return
        self.is_ready = True
        self.table.empty_text = "No drift: every resource matches its unit in ConfigHub."
        self.table.refresh()
        kinds = ", ".join(sorted({k for _, k, _ in engine.kinds}))
        if self.services.live:
            log.info("Informers started for %s, watching for changes...", kinds)
        if self.services.on_ready is not None:
            self.services.on_ready()

    def _load_chain(self) -> None:
        self.run_worker(
            self._read_chain,
            name="hub:chain",
            group="chain",
            thread=True,
            exclusive=True,
            exit_on_error=False,
            description="read the environment chain and its units",
        )

    def _read_chain(self) -> None:
        spaces, units = hub_reads.load_chain(self.services)
        self.post_message(
            ChainLoaded(
                tuple(spaces), tuple((space, tuple(us)) for space, us in sorted(units.items()))
            )
        )

    def on_chain_loaded(self, message: ChainLoaded) -> None:
        tree = self.query_one(EnvTree)
        if tree.spaces != message.spaces:
            tree.set_chain(message.spaces)
        tree.set_units({space: list(us) for space, us in message.units})
        self._refresh_tree_drift()

    # ----------------------------------------------------------------- batches

    def _flush(self) -> None:
        if not self.services.live and not self.is_ready:
            return  # listing once: show the whole first load at once, in a stable order
        changes = self.inbox.drain()
        lines = self.lines.drain()
        if changes or lines:
            self.post_message(DriftBatch(tuple(changes), tuple(lines)))

    def on_drift_batch(self, message: DriftBatch) -> None:
        now = self.services.clock()
        with self.app.batch_update():
            if message.log_lines:
                rich_log = self.query_one("#log", RichLog)
                for line in message.log_lines:
                    rich_log.write(Text(line))
            if message.changes:
                result = self.view.apply(message.changes, now)
                self.figures = self.view.figures()
                self._note_changes(result, now)
                self._refresh_list()
                self._refresh_pulse()
                self._refresh_tree_drift()
                self._queue_records(result)
                self._queue_auto_fix(result)
                if (result.opened or result.closed) and self.services.auto_analyze:
                    self._schedule_analysis()
                if not self.is_ready:
                    self._check_ready()
        self.batches += 1

    def _note_changes(self, result: ViewChanges, now: float) -> None:
        """The seed's log lines (at most ``MAX_LOGGED`` per batch: a first load of ten
        thousand findings gets a count, not ten thousand lines) and each item's history."""
        stamp = format_clock(now)
        for n, (item, finding) in enumerate(result.opened):
            if n < MAX_LOGGED:
                log.warning(
                    "⚠️  DRIFT DETECTED: %s (%s)", _sentence(item, finding), item.environment
                )
            self._remember((item.environment, item.key), (stamp, item, finding))
        if len(result.opened) > MAX_LOGGED:
            more = len(result.opened) - MAX_LOGGED
            log.warning("⚠️  DRIFT DETECTED: %d more finding(s): see the drift list", more)
        for n, ik in enumerate(result.closed):
            if n < MAX_LOGGED:
                log.info("✅ In sync again: %s (%s)", ik[1], ik[0])
            self._remember(ik, f"{stamp} in sync again")
        if len(result.closed) > MAX_LOGGED:
            log.info("✅ %d more resource(s) in sync again", len(result.closed) - MAX_LOGGED)

    def _remember(self, ik: ItemKey, entry: HistoryEntry) -> None:
        """Add to the item's history (a drift entry is described when shown: a first load
        of ten thousand findings costs no sentences)."""
        lines = self.history.setdefault(ik, [])
        lines.append(entry)
        if len(lines) > 20:
            del lines[:-20]

    def _history(self, ik: ItemKey) -> tuple[str, ...]:
        out = []
        for entry in self.history.get(ik, ()):
            if isinstance(entry, str):
                out.append(entry)
            else:
                stamp, item, finding = entry
                out.append(f"{stamp} drift: {_sentence(item, finding)}")
        return tuple(out)

    def _refresh_list(self) -> None:
        table = self.table
        if self.is_ready:
            drifted = sum(f.drifted for f in self.figures.values())
            filtered = bool(self.view.query.describe()) or self.view.selector is not None
            table.empty_text = (
                f"Nothing matches the filter ({drifted} drifted resource(s) elsewhere); "
                "esc clears it."
                if filtered and drifted
                else "No drift: every resource matches its unit in ConfigHub."
            )
            if self.view.query.needs_hub and self.view.selector is None:
                table.empty_text = (
                    f"{self._selector_error}; esc clears the filter."
                    if self._selector_error
                    else "Reading the filter from the hub…"
                    if self._selector_reading
                    else "Press enter to read the filter from the hub."
                )
        table.set_rows(self.view.visible())

    def _refresh_tree_drift(self) -> None:
        spaces = {e.name: e.space for e in self.services.environments}
        by_space = {spaces.get(env, ""): f.drifted for env, f in self.figures.items()}
        by_unit = {
            (spaces.get(env, ""), unit): n for (env, unit), n in self.view.drifted_units.items()
        }
        self.query_one(EnvTree).set_drift(by_space, by_unit)

    def _health(self, env: Environment) -> tuple[str, str]:
        engine = self.services.engine
        st = engine.state(env.name)
        with st.lock:
            hub_error, cluster_error = st.hub_error, st.cluster_error
            loaded, listed = st.loaded, set(st.listed)
        if hub_error:
            return f"hub: {_short(hub_error)}", "error"
        if cluster_error:
            state = "warn" if self.services.live else "error"
            prefix = "reconnecting" if self.services.live else "cluster"
            return f"{prefix}: {_short(cluster_error)}", state
        if not self.services.live:
            return ("snapshot", "ok") if env.name in self.loaded else ("loading", "starting")
        want = {k for _, k, _ in engine.kinds}
        if not loaded or not want <= listed:
            return "listing", "starting"
        return "watching", "ok"

    def _refresh_pulse(self) -> None:
        engine = self.services.engine
        lines = []
        for e in self.services.environments:
            health, state = self._health(e)
            lines.append(
                PulseLine(
                    environment=e.name,
                    space=e.space,
                    figures=self.figures.get(e.name, EnvFigures(e.name)),
                    health=health,
                    health_state=state,
                    last_event_at=engine.state(e.name).last_event_at,
                    fixes=self.fixes.get(e.name, 0),
                    auto_fixes=self.auto_fixes.get(e.name, 0),
                    production=e.production,
                    read_only=e.read_only,
                    accent=e.accent,
                )
            )
        title = PulseTitle(
            source=self.services.source or self.services.hub.name,
            analyst=self.services.analyst.name,
            query=self.view.query.describe(),
            read_only=self.services.read_only,
            marked=len(self.table.marked),
        )
        self.query_one(Pulse).show(title, lines)

    def _poll_health(self) -> None:
        if not self.is_ready:
            self._check_ready()
        self._refresh_pulse()

    def _refresh_ages(self) -> None:
        table = self.table
        if self.is_current and table.row_count and table.display:
            table.refresh()

    # ----------------------------------------------------------------- selection and detail

    @on(DriftTable.CursorMoved)
    def _cursor_moved(self, event: DriftTable.CursorMoved) -> None:
        self._show_detail()

    def _detail_data(self, row: DriftRow | None) -> DetailData | None:
        if row is None:
            return None
        item = self.view.item(row.item_key)
        if item is None:
            return None
        env = self.services.engine.state(row.environment).env
        revisions = None
        if item.unit:
            revisions = self.revisions.get((item.space or env.space, item.unit))
        verdicts = verdicts_for(item, self.analysis.verdicts) if self.analysis else ()
        return DetailData(
            item=item,
            environment=env,
            history=self._history(row.item_key),
            revisions=revisions,
            verdicts=verdicts,
            now=self.services.clock(),
        )

    def _show_detail(self) -> None:
        data = self._detail_data(self.table.current_row)
        self.query_one(DetailPane).show(data)
        if data is not None and data.item.unit and data.revisions is None:
            if self._revisions_timer is not None:
                self._revisions_timer.stop()
            space = data.item.space or data.environment.space
            self._revisions_timer = self.set_timer(
                0.2, partial(self._load_revisions, space, data.item.unit)
            )

    def _load_revisions(self, space: str, unit: str) -> None:
        self.run_worker(
            partial(self._read_revisions, space, unit),
            name=f"hub:revisions {space}/{unit}",
            group="revisions",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _read_revisions(self, space: str, unit: str) -> None:
        revisions = self.services.hub.list_revisions(space, unit)
        revisions.sort(key=lambda r: r.num, reverse=True)
        self.post_message(RevisionsLoaded(space, unit, tuple(revisions)))

    def on_revisions_loaded(self, message: RevisionsLoaded) -> None:
        self.revisions[(message.space, message.unit)] = message.revisions
        self._show_detail()

    @on(Tree.NodeSelected, "#tree")
    def _tree_selected(self, event: Tree.NodeSelected[ChainNode]) -> None:
        node = event.node.data
        if node is None:
            return
        if node.kind == "unit" and node.unit is not None:
            for row in self.table.rows:
                if row.unit == node.unit and row.environment == node.environment:
                    self.table.move_to_key(row.row_key)
                    return
            return
        self.show_environment(node.environment)

    def show_environment(self, env: str | None) -> None:
        """Narrow the list to one environment (None: all of them)."""
        text = f":env {env}" if env else ""
        self.query_one("#filter", Input).value = text
        self._apply_query(text, final=True)

    def call_action(self, action: str) -> None:
        """Run ``action_<action>`` (the palette's way to press a key)."""
        getattr(self, f"action_{action}")()

    # ----------------------------------------------------------------- filter

    def action_filter(self) -> None:
        self._open_filter(None, "/")

    def action_command(self) -> None:
        self._open_filter(":", ":")

    def _open_filter(self, prefix: str | None, typed: str) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:  # the key is bound with priority: typed in the box, it is text
            box.insert_text_at_cursor(typed)
            return
        box.display = True
        if prefix is not None:
            box.value = prefix
        # Focus now, not on the next message (Widget.focus): keys already queued behind
        # ``/`` (fast typing, a paste) must reach the box, not the list's bindings.
        self.set_focus(box)
        box.cursor_position = len(box.value)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._apply_query(event.value, final=False)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._apply_query(event.value, final=True)
        event.input.display = False
        self.set_focus(self.table)

    def _apply_query(self, text: str, *, final: bool) -> None:
        box = self.query_one("#filter", Input)
        try:
            query = parse_query(text, self.env_names)
        except DrifttuiError as exc:
            box.add_class("-error")
            box.tooltip = str(exc)
            if final:
                self.notify(str(exc), title="Filter", severity="warning")
            return
        box.remove_class("-error")
        box.tooltip = None
        wanted = (query.hub_filter, query.hub_set)
        selector = self.view.selector if wanted == self._selector_for else None
        if final or wanted != self._selector_for:
            self._selector_error = None
            self._selector_reading = False
        if wanted == (None, None):
            self._selector_for = (None, None)
        elif final and wanted != self._selector_for:
            self._selector_reading = True
            self.run_worker(
                partial(self._resolve_selector, text, query.hub_filter, query.hub_set),
                name="hub:selector",
                group="selector",
                thread=True,
                exclusive=True,
                exit_on_error=False,
            )
        self.view.set_query(query, selector)
        production = query.environment is not None and any(
            e.production for e in self.services.environments if e.name == query.environment
        )
        self.set_class(production, "-production-view")
        self.table.sort_column = SORT_COLUMN[self.view.sort]
        self._refresh_list()
        self._refresh_pulse()

    def _resolve_selector(self, text: str, hub_filter: str | None, hub_set: str | None) -> None:
        selectors = []
        try:
            if hub_filter is not None:
                selectors.append(hub_reads.filter_selector(self.services, hub_filter))
            if hub_set is not None:
                selectors.append(hub_reads.set_selector(self.services, hub_set))
        except DrifttuiError as exc:
            self.post_message(SelectorReady(text, None, str(exc)))
            return

        def selector(item: DriftItem) -> bool:
            return all(s(item) for s in selectors)

        self.post_message(SelectorReady(text, selector))

    def on_selector_ready(self, message: SelectorReady) -> None:
        query = parse_query(message.text, self.env_names)
        if query.text != self.view.query.text:
            return
        self._selector_reading = False
        if message.selector is None:
            self._selector_error = message.error or "the hub did not answer"
            box = self.query_one("#filter", Input)
            box.add_class("-error")
            box.tooltip = self._selector_error
            self.notify(self._selector_error, title="Filter", severity="warning")
            log.warning("Filter not applied: %s", self._selector_error)
            self._refresh_list()
            return
        self._selector_for = (query.hub_filter, query.hub_set)
        self.view.set_query(query, message.selector)
        self._refresh_list()
        self._refresh_pulse()
        what = " and ".join(
            f"{k} {v}" for k, v in (("filter", query.hub_filter), ("set", query.hub_set)) if v
        )
        log.info("Showing what the hub's %s selects: %d row(s)", what, self.table.row_count)

    # ----------------------------------------------------------------- simple keys

    def action_mark(self) -> None:
        self.table.toggle_mark()
        self._refresh_pulse()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            box.value = ""
            box.display = False
            self._apply_query("", final=True)
            self.set_focus(self.table)
            return
        if self.has_class("-show-log") or self.has_class("-show-analysis"):
            self.remove_class("-show-log", "-show-analysis")
            return
        if self.table.marked:
            self.table.clear_marks()
            self._refresh_pulse()
            return
        if self.view.query.text:
            box.value = ""
            self._apply_query("", final=True)

    def action_cycle_sort(self) -> None:
        order = list(SortKey)
        self._sort_by(order[(order.index(self.view.sort) + 1) % len(order)])

    @on(DriftTable.SortClicked)
    def _sort_clicked(self, event: DriftTable.SortClicked) -> None:
        if event.column in COLUMN_SORT:
            self._sort_by(COLUMN_SORT[event.column])

    def _sort_by(self, sort: SortKey) -> None:
        self.view.set_sort(sort)
        self.table.sort_column = SORT_COLUMN[sort]
        self._refresh_list()
        self.notify(f"Sorted by {sort.value}", timeout=2)

    def action_toggle_log(self) -> None:
        self.remove_class("-show-analysis")
        self.toggle_class("-show-log")

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.services.read_only))

    def action_details(self) -> None:
        data = self._detail_data(self.table.current_row)
        if data is None:
            self.notify("Select a drift row first", severity="warning")
            return
        self.app.push_screen(DetailScreen(data))

    def action_quit(self) -> None:
        self.app.exit(0)

    def action_resync(self) -> None:
        self.run_worker(
            self._resync,
            name="resync",
            group="resync",
            thread=True,
            exclusive=True,
            exit_on_error=False,
            description="re-read desired state (and re-list when not watching)",
        )
        self.notify("Resyncing from the hub…", timeout=2)

    def _resync(self) -> None:
        engine = self.services.engine
        for env in self.env_names:
            if self.services.live:
                engine.load_desired(env, cause="resync")
                engine.fetch_out_of_scope(env)
            else:
                engine.snapshot_environment(env)
        log.info("🔄 Resynced %d environment(s) from %s", len(self.env_names), self._source())
        self._read_chain()

    def _source(self) -> str:
        return self.services.source or self.services.hub.name

    # ----------------------------------------------------------------- targets

    def _require_row(self) -> DriftRow | None:
        row = self.table.current_row
        if row is None:
            self.notify("Select a drift row first", severity="warning")
        return row

    def _unit_target(self) -> tuple[str, str, ResourceKey | None] | None:
        """(environment, unit, key): the unit highlighted in the tree when the tree has the
        focus, else the selected row's."""
        tree = self.query_one(EnvTree)
        node = tree.highlighted
        if tree.has_focus and node is not None and node.kind == "unit" and node.environment:
            st = self.services.engine.state(node.environment)
            with st.lock:
                key = next((k for k, slug in st.units.items() if slug == node.unit), None)
            assert node.unit is not None
            return node.environment, node.unit, key
        row = self.table.current_row
        if row is not None and row.unit:
            return row.environment, row.unit, row.key
        self.notify("Select a drift row, or a unit in the tree, first", severity="warning")
        return None

    def _writable(self, env: str) -> bool:
        try:
            self.services.remediator.check_writable(env)
        except ReadOnlyError as exc:
            self.notify(str(exc), title="Read-only", severity="warning")
            log.warning("Refused: %s", exc)
            return False
        return True

    # ----------------------------------------------------------------- writes

    def _ask(self) -> int:
        self._asked += 1
        return self._asked

    def _answered(self, ask: int, what: str) -> bool:
        """True when ``ask`` is the latest request and no write modal is open (the palette
        can run an action over one)."""
        if ask != self._asked:
            log.debug("dropped a %s superseded by a later request", what)
            return False
        if any(isinstance(s, (ConfirmScreen, RollbackScreen)) for s in self.app.screen_stack):
            self.notify("Confirm or cancel the open write first", severity="warning")
            return False
        return True

    def _propose(self, build: Callable[[], Proposal], what: str) -> None:
        self.run_worker(
            partial(self._build_proposal, build, self._ask()),
            name=f"plan:{what}",
            group="plan",
            thread=True,
            exclusive=True,
            exit_on_error=False,
            description=f"plan and dry-run: {what}",
        )

    def _build_proposal(self, build: Callable[[], Proposal], ask: int) -> None:
        self.post_message(ProposalReady(build(), ask))

    def _single(self, plan: Plan) -> Proposal:
        preview = self.services.remediator.preview(plan)
        confirm = plan.confirm_name if plan.needs_typed_confirmation else None
        return Proposal(plan.title, (plan,), (preview,), confirm)

    def on_proposal_ready(self, message: ProposalReady) -> None:
        p = message.proposal
        if not self._answered(message.ask, "plan"):
            return
        if all(plan.noop for plan in p.plans):
            self.notify(f"Nothing to do: {p.title}", timeout=4)
            log.info("Nothing to do: %s", p.title)
            return
        self.app.push_screen(ConfirmScreen(p), partial(self._confirmed, p))

    def _confirmed(self, proposal: Proposal, ok: bool | None) -> None:
        if not ok:
            log.info("Cancelled: %s", proposal.title)
            return
        log.info("🔧 Applying: %s", proposal.title)
        self.run_worker(
            partial(self._execute, proposal),
            name="write",
            group="write",
            thread=True,
            exit_on_error=False,
            description=proposal.title,
        )

    def _execute(self, proposal: Proposal) -> None:
        rem = self.services.remediator
        outcomes = tuple(rem.execute(plan) for plan in proposal.plans if not plan.noop)
        self.post_message(WritesFinished(outcomes))

    def on_writes_finished(self, message: WritesFinished) -> None:
        stamp = format_clock(self.services.clock())
        ok = [o for o in message.outcomes if o.ok]
        failed = [o for o in message.outcomes if not o.ok]
        for o in ok:
            env = o.plan.environment
            self.fixes[env] = self.fixes.get(env, 0) + 1
            if message.auto:
                self.auto_fixes[env] = self.auto_fixes.get(env, 0) + 1
            if o.plan.key is not None:
                what = f"auto-fix {o.plan.action}" if message.auto else o.plan.action
                self._remember((env, o.plan.key), f"{stamp} {what}: {o.message}")
        for o in failed:
            log.error("%s: %s", o.plan.title, o.message)
        if message.auto:
            self._refresh_pulse()
            return
        if len(message.outcomes) == 1:
            o = message.outcomes[0]
            self.notify(
                o.message if o.ok else f"{o.plan.title}: {o.message}",
                title="Done" if o.ok else "Failed",
                severity="information" if o.ok else "error",
            )
        elif message.outcomes:
            text = f"{len(ok)} done, {len(failed)} failed"
            self.notify(text, title="Bulk fix", severity="error" if failed else "information")
        self.revisions.clear()
        self._refresh_pulse()
        self._show_detail()
        self._load_chain()

    def action_patch_live(self) -> None:
        row = self._require_row()
        if row is None or not self._writable(row.environment):
            return
        item = self.view.item(row.item_key)
        if item is None or not item.is_drifted:
            self.notify("In sync: nothing to patch", timeout=3)
            return
        rem = self.services.remediator
        env, key = row.environment, row.key
        self._propose(lambda: self._single(rem.plan_patch(env, key)), "patch live")

    def action_accept_live(self) -> None:
        row = self._require_row()
        if row is None or not self._writable(row.environment):
            return
        item = self.view.item(row.item_key)
        if item is None or not item.is_drifted:
            self.notify("In sync: nothing to accept", timeout=3)
            return
        rem = self.services.remediator
        env, key = row.environment, row.key
        self._propose(lambda: self._single(rem.plan_accept(env, key)), "accept live")

    def action_promote(self) -> None:
        target = self._unit_target()
        if target is None:
            return
        env, unit, key = target
        rem = self.services.remediator
        downstream = rem.next_environment(env)
        if downstream is None:
            chain = " → ".join(self.env_names)
            self.notify(
                f"Nothing downstream of {env} (promotion goes {chain})",
                title="Promote",
                severity="warning",
            )
            return
        if not self._writable(downstream.name):
            return
        if key is None:
            self.notify(f"Unit {unit} holds no Kubernetes object", severity="error")
            return
        self._propose(lambda: self._single(rem.plan_promote(env, key)), "promote")

    def action_rollback(self) -> None:
        target = self._unit_target()
        if target is None:
            return
        env, unit, _ = target
        if not self._writable(env):
            return
        space = self.services.engine.state(env).env.space
        self.run_worker(
            partial(self._read_rollback_choice, env, space, unit, self._ask()),
            name="hub:revisions",
            group="plan",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _read_rollback_choice(self, env: str, space: str, unit: str, ask: int) -> None:
        revisions = self.services.hub.list_revisions(space, unit)
        revisions.sort(key=lambda r: r.num, reverse=True)
        self.post_message(RollbackReady(RollbackChoice(env, space, unit, tuple(revisions)), ask))

    def on_rollback_ready(self, message: RollbackReady) -> None:
        choice = message.choice
        if not self._answered(message.ask, "revision list"):
            return
        if len(choice.revisions) < 2:
            self.notify(f"{choice.space}/{choice.unit} has no earlier revision", severity="warning")
            return
        load = partial(hub_reads.revision_diff, self.services, choice.space, choice.unit)
        self.app.push_screen(RollbackScreen(choice, load), partial(self._rollback_chosen, choice))

    def _rollback_chosen(self, choice: RollbackChoice, revision: int | None) -> None:
        if revision is None:
            return
        rem = self.services.remediator
        self._propose(
            lambda: self._single(rem.plan_rollback(choice.environment, choice.unit, revision)),
            "rollback",
        )

    def action_bulk_fix(self) -> None:
        rows = self.table.marked_rows() or list(self.table.rows)
        items = self.view.drifted_items(r.item_key for r in rows)
        if not items:
            self.notify("Nothing drifted in this view", timeout=3)
            return
        envs = sorted({i.environment for i in items}, key=self.env_names.index)
        if not all(self._writable(env) for env in envs):
            return
        keys = [(i.environment, i.key) for i in items]
        self._propose(partial(self._bulk_proposal, envs, keys), "bulk fix")

    def _bulk_proposal(self, envs: list[str], keys: list[ItemKey]) -> Proposal:
        rem = self.services.remediator
        plans: list[Plan] = []
        for env in envs:
            plans += rem.plan_bulk_patch(env, [k for e, k in keys if e == env])
        previews = tuple(rem.preview(p) for p in plans)
        production = sorted({p.environment for p in plans if p.production})
        confirm = ",".join(production) if production else None
        title = f"Patch {len(plans)} resource(s) in {', '.join(envs)} back to desired"
        return Proposal(title, tuple(plans), previews, confirm)

    # ----------------------------------------------------------------- ignore

    def action_ignore(self) -> None:
        row = self._require_row()
        if row is None:
            return
        item = self.view.item(row.item_key)
        finding = None
        if item is not None and row.finding_id:
            finding = next((f for f in item.counted if f.id == row.finding_id), None)
        if item is None or finding is None or not finding.path:
            self.notify(
                "Only a field can be ignored (rules never hide a missing object)",
                severity="warning",
            )
            return
        taken = {r.name for r in self.services.engine.ignore_rules}
        choices = ignore_choices(item, finding, list(self.view.items.values()), taken)
        self.app.push_screen(IgnoreScreen(item, finding, choices), self._ignore_chosen)

    def _ignore_chosen(self, choice: IgnoreChoice | None) -> None:
        if choice is None:
            return
        self.run_worker(
            partial(self._apply_ignore, choice),
            name="ignore",
            group="write",
            thread=True,
            exit_on_error=False,
            description=f"apply ignore rule {choice.rule.name}",
        )

    def _apply_ignore(self, choice: IgnoreChoice) -> None:
        engine = self.services.engine
        before = {(i.environment, i.key) for i in engine.store.drifted()}
        engine.set_ignore_rules((*engine.ignore_rules, choice.rule))
        after = {(i.environment, i.key) for i in engine.store.drifted()}
        log.info(
            "🙈 Ignore rule %s added: %s (%d finding(s) silenced; add it to your config's "
            "ignore: list to keep it)",
            choice.rule.name,
            choice.rule.text,
            choice.silenced,
        )
        records = self.services.records
        if records is not None and not self.services.read_only:
            for env, key in sorted(before - after):
                try:
                    records.close(env, key, "ignored", f"ignore rule {choice.rule.name}")
                except DrifttuiError as exc:
                    log.warning("drift record not updated: %s", exc)

    # ----------------------------------------------------------------- analysis

    def action_analyze(self) -> None:
        rows = self.table.marked_rows() or list(self.table.rows)
        items = self.view.drifted_items(r.item_key for r in rows) or self.view.drifted_items()
        if not items:
            self.notify("No drift to analyze", timeout=3)
            return
        self._run_analysis(items, asked=True)

    def _schedule_analysis(self) -> None:
        if self._analysis_timer is not None:
            self._analysis_timer.stop()
        self._analysis_timer = self.set_timer(
            self.services.analysis_debounce_s, self._auto_analyze, name="analysis"
        )

    def _auto_analyze(self) -> None:
        items = self.view.drifted_items()
        if items:
            self._run_analysis(items, asked=False)

    def _run_analysis(self, items: list[DriftItem], *, asked: bool) -> None:
        if asked:
            self.query_one("#analysis", Markdown).update(
                f"### Analysis\n\nAsking {self._analyst_name()} about {len(items)} item(s)…\n"
            )
            self.remove_class("-show-log")
            self.add_class("-show-analysis")
        self.run_worker(
            partial(self._analyze, tuple(items), asked),
            name="analysis",
            group="analysis",
            thread=True,
            exclusive=True,
            exit_on_error=False,
            description=f"analyze {len(items)} drift item(s)",
        )

    def _analyze(self, items: tuple[DriftItem, ...], asked: bool) -> None:
        analysis = self.services.analyst.analyze(items)
        if not get_current_worker().is_cancelled:
            self.post_message(AnalysisReady(analysis, items, asked))

    async def on_analysis_ready(self, message: AnalysisReady) -> None:
        from drifttui.analysis import analysis_markdown, summary_line

        self.analysis = message.analysis
        log.info("🤖 %s", summary_line(message.analysis))
        await self.query_one("#analysis", Markdown).update(
            analysis_markdown(message.analysis, message.items)
        )
        self._show_detail()

    # ----------------------------------------------------------------- auto-fix

    def _queue_auto_fix(self, result: ViewChanges) -> None:
        """Newly drifted items of environments with auto-fix on go to a worker that decides
        as the headless service does (``remediation.autofix_decision``)."""
        if not self.services.auto_fix:
            return
        envs = {e.name for e in self.services.environments if e.auto_fix and not e.read_only}
        for item, _ in result.opened:
            if item.environment in envs:
                self._fixes.add(item.environment, item.key)
        self._start_batch(self._fixes)

    def _start_batch(self, batches: WorkBatches) -> None:
        """Start the worker of ``batches`` on what waits, unless it is busy or closing."""
        keys = None if self._closing else batches.take()
        if keys is None:
            return
        self.run_worker(
            partial(batches.work, keys),
            name=batches.name,
            group=batches.group,
            thread=True,
            exit_on_error=False,
            description=batches.describe.format(n=len(keys)),
        )

    def _auto_fix(self, keys: list[ItemKey]) -> None:
        from drifttui.remediation import autofix_decision

        engine = self.services.engine
        rem = self.services.remediator
        outcomes = []
        for env, key in keys:
            if get_current_worker().is_cancelled:
                break
            item = engine.store.get(env, key)
            if item is None or not item.is_drifted:
                continue
            e = engine.state(env).env
            chooser = self.services.auto_fix_filter
            selected = chooser(env, item) if chooser is not None else True
            ok, reason = autofix_decision(
                e, item, global_auto_fix=True, selected_by_filter=selected
            )
            if not ok:
                log.info("auto-fix skipped for %s (%s): %s", key, env, reason)
                continue
            plan = rem.plan_patch(env, key)
            log.info("🔧 Applying fix: %s", "; ".join(plan.lines) or plan.title)
            outcomes.append(rem.execute(plan, mode="auto"))
        if outcomes:
            self.post_message(WritesFinished(tuple(outcomes), auto=True))

    # ----------------------------------------------------------------- drift records

    def _queue_records(self, result: ViewChanges) -> None:
        if self.services.records is None or self.services.read_only:
            return
        for ik in result.changed:
            item = self.view.item(ik)
            if item is not None and item.is_drifted:
                self._records.add(*ik)
        for ik in result.closed:
            self._records.add(*ik)
        self._start_batch(self._records)

    def _write_records(self, keys: list[ItemKey]) -> None:
        records = self.services.records
        assert records is not None
        engine = self.services.engine
        for env, key in keys:
            if get_current_worker().is_cancelled:
                return
            item = engine.store.get(env, key)
            try:
                if item is not None and item.is_drifted:
                    records.open_or_update(env, item)
                else:
                    doc = records.get(env, key)
                    status = ((doc or {}).get("spec") or {}).get("status")
                    if status == "open":
                        records.close(env, key, "corrected", "in sync again (seen by the TUI)")
            except DrifttuiError as exc:
                log.warning("drift record for %s (%s) not written: %s", key, env, exc)

    # ----------------------------------------------------------------- workers

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        done = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
        for batches in (self._records, self._fixes):
            if worker.group == batches.group and event.state in done:
                batches.busy = False
                self.call_later(self._start_batch, batches)
        if event.state is not WorkerState.ERROR:
            return
        error = worker.error
        text = (
            str(error) if isinstance(error, DrifttuiError) else f"{type(error).__name__}: {error}"
        )
        if worker.group == "selector" and self._selector_reading:
            self._selector_reading = False
            self._selector_error = text
            self._refresh_list()
        log.error("%s: %s", worker.description or worker.name, text)
        self.notify(_short(text, 200), title=worker.name, severity="error", timeout=8)
        if worker.group == "watch" and not self._closing:
            env = worker.name.partition(":")[2]
            n = self._watch_failures.get(env, 0)
            self._watch_failures[env] = n + 1
            delay = WATCH_RESTART_S[min(n, len(WATCH_RESTART_S) - 1)]
            log.info("restarting the watch of %s in %.0f s", env, delay)
            self.set_timer(delay, partial(self._start_watch, env))
