from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from drifttui.demo import DemoWorld, build_demo

FIXED_NOW = 1_764_000_000.0


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or predicate}")


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    """The demo with its whole story applied, snapshot taken (no watch threads)."""
    w = build_demo(clock=lambda: FIXED_NOW)
    w.advance_to_end()
    for env in w.engine.states:
        w.engine.snapshot_environment(env)
    yield w
    w.close()


@pytest.fixture
def watched() -> Iterator[tuple[DemoWorld, threading.Event]]:
    """The demo with watches running (story not yet played)."""
    w = build_demo(clock=lambda: FIXED_NOW)
    stop = threading.Event()
    for env in w.engine.states:
        w.engine.load_desired(env)
    w.engine.start_watches(stop)
    wait_until(w.engine.is_ready, what="every watch listed")
    yield w, stop
    stop.set()
    w.close()
