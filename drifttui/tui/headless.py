"""Driving the app headless (Pilot): wait on conditions, wait until it is idle.

Used by the tests, ``scripts/screenshots.py`` and ``bench/tui_rows.py``. Waits are bounded
by a timeout and poll a condition; nothing sleeps hoping the app is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerState

from drifttui.tui.app import DrifttuiApp


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], bool], what: str = "", timeout_s: float = 15.0
) -> None:
    """Let the app run until ``predicate`` holds; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def busy_workers(app: DrifttuiApp) -> list[str]:
    """Workers still pending or running (the watches, which never end, aside)."""
    return [
        w.name
        for w in app.workers
        if w.group != "watch" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
    ]


async def settle(pilot: Pilot[Any], timeout_s: float = 15.0) -> None:
    """Wait until the app is loaded and idle: no worker running (watches aside), nothing
    waiting in the inboxes, the last batch applied."""
    app = pilot.app
    assert isinstance(app, DrifttuiApp)
    main = app.main

    def quiet() -> bool:
        return (
            main.is_ready and not busy_workers(app) and not len(main.inbox) and not len(main.lines)
        )

    for _ in range(2):  # a finished worker may have posted a message that starts another
        await wait_for(pilot, quiet, "the app to settle", timeout_s)
        await pilot.pause(0.05)
