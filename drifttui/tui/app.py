"""The Textual app, its factory, and the two ways the CLI opens it.

- :func:`make_app` builds the app from a :class:`~drifttui.runtime.Runtime`; the CLI, the
  tests, the screenshots and the benchmark all use it.
- :func:`run_demo` (``drifttui demo``): a fresh demo world (embedded hub initialised like
  ``drifttui init``, simulated clusters), the story starting when every watch has listed.
- :func:`run_configured` (``drifttui``): the configured environments, real clusters.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from drifttui.tui.commands import DriftCommands
from drifttui.tui.screens.main import MainScreen
from drifttui.tui.services import AppServices

if TYPE_CHECKING:
    from drifttui.analysis.protocol import Analyst
    from drifttui.config import Settings
    from drifttui.runtime import Runtime

log = logging.getLogger("drifttui.tui")


class DrifttuiApp(App[int]):
    """drifttui's TUI. ``services`` holds everything it drives."""

    CSS_PATH = "app.tcss"
    TITLE = "drifttui"
    COMMANDS: ClassVar = App.COMMANDS | {DriftCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit-anywhere"),
    ]

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self._executor: ThreadPoolExecutor | None = None

    def on_load(self) -> None:
        # One long-lived thread worker per watched environment, plus the short ones (plans,
        # writes, hub reads, analysis): the loop's default pool (cores + 4) would starve.
        n = len(self.services.environments) + 12
        self._executor = ThreadPoolExecutor(max_workers=n, thread_name_prefix="drifttui-worker")
        asyncio.get_running_loop().set_default_executor(self._executor)

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self.services)

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    async def action_quit(self) -> None:
        self.exit(0)


def make_app(
    runtime: Runtime,
    *,
    analyst: Analyst | None = None,
    clock: Callable[[], float] = time.time,
    live: bool = True,
    source: str | None = None,
    on_ready: Callable[[], None] | None = None,
    auto_analyze: bool = True,
    secrets: Sequence[str] = (),
) -> DrifttuiApp:
    """The app for ``runtime``. ``live`` False loads and lists once instead of watching
    (tests, screenshots); ``on_ready`` runs once every environment is loaded and listed;
    ``analyst`` defaults to the offline analyst."""
    if analyst is None:
        from drifttui.analysis import OfflineAnalyst

        analyst = OfflineAnalyst(
            environments=tuple(runtime.environments), prices=runtime.settings.prices
        )
    from drifttui.runtime import auto_fix_selector

    services = AppServices(
        engine=runtime.engine,
        remediator=runtime.remediator,
        analyst=analyst,
        records=runtime.records,
        clock=clock,
        live=live,
        source=source or runtime.hub.name,
        on_ready=on_ready,
        auto_analyze=auto_analyze,
        secrets=tuple(s for s in secrets if s),
        auto_fix_filter=auto_fix_selector(runtime),
    )
    return DrifttuiApp(services)


def _tui_logging(settings: Settings) -> list[str]:
    """While the TUI runs, log records go to its log pane and to a file, never to the
    terminal (a stray line would corrupt the screen). Returns the secrets to mask."""
    from logging.handlers import RotatingFileHandler

    from drifttui.config import data_dir
    from drifttui.logs import RedactingFilter, SeedFormatter

    secrets = [s.reveal() for s in (settings.cub_token, settings.claude_api_key) if s]
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(logging.DEBUG if settings.verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "urllib3", "kubernetes", "anthropic", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        folder = data_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(
            folder / "tui.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(SeedFormatter())
        handler.addFilter(RedactingFilter(secrets))
    except OSError:
        handler = logging.NullHandler()
    root.addHandler(handler)
    return secrets


def require_terminal(command: str, hint: str) -> None:
    """The TUI draws on stderr and reads keys from stdin (Textual's driver): without a
    terminal on both it would paint escape codes into a log and wait forever for keys."""
    import sys

    from drifttui.errors import ConfigError

    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise ConfigError("the TUI needs a terminal (stdin and stderr are not one)", command, hint)


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """``drifttui demo``: the TUI on a fresh demo world; drift appears as the story plays."""
    from drifttui.demo import build_demo
    from drifttui.runtime import build_analyst

    require_terminal("drifttui demo", "in a script use drifttui demo --once or --headless")
    secrets = _tui_logging(settings)
    story = logging.getLogger("drifttui.demo")
    world = build_demo(
        settings=settings,
        speed=float(getattr(args, "speed", 1.0) or 1.0),
        read_only=settings.read_only,
        auto_fix=bool(getattr(args, "auto_fix", False)),
        on_story_step=lambda env, text: story.info("🎬 %s", text),
    )
    try:
        app = make_app(
            world.runtime,
            analyst=build_analyst(settings),
            source="embedded demo hub",
            on_ready=world.start_story,
            secrets=secrets,
        )
        code = app.run()
    finally:
        world.close()
    return int(code or 0)


def run_configured(args: argparse.Namespace, settings: Settings) -> int:
    """``drifttui``: the TUI on the configured environments and their clusters."""
    from drifttui.runtime import build_analyst, build_runtime

    secrets = _tui_logging(settings)
    runtime = build_runtime(settings, env_names=getattr(args, "env", None))
    try:
        # after the runtime: a configuration error (no kubeconfig, ...) is the one to show
        require_terminal(
            "drifttui", "in a script use --once (a report) or drifttui watch --headless (a service)"
        )
        app = make_app(runtime, analyst=build_analyst(settings), secrets=secrets)
        code = app.run()
    finally:
        runtime.close()
    return int(code or 0)
