"""The TUI on the demo world: an embedded hub initialised like ``drifttui init`` and one
simulated cluster per environment, the story applied up front (no timers racing the test),
a fixed clock, and Pilot helpers that wait on conditions, never on sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from drifttui.core.models import ResourceKey
from drifttui.demo import DemoWorld, build_demo
from drifttui.tui.app import DrifttuiApp, make_app
from drifttui.tui.headless import settle, wait_for

__all__ = ["settle", "wait_for"]

FIXED_NOW = 1_764_000_000.0  # 2025-11-24T16:00:00Z: the simulated clusters' clock
APP_NOW = FIXED_NOW + 300.0  # the TUI's clock: five minutes later (ages read "5m")
NS = "drift-test"
BACKEND = ResourceKey("apps", "Deployment", NS, "backend-api")
FRONTEND = ResourceKey("apps", "Deployment", NS, "frontend-web")
CHECKOUT = ResourceKey("apps", "Deployment", NS, "checkout-worker")
SECRET = ResourceKey("", "Secret", NS, "api-credentials")

AppFactory = Callable[..., DrifttuiApp]


@pytest.fixture
def world() -> Iterator[DemoWorld]:
    """The demo with its whole story applied (prod and dev drifted), nothing running."""
    w = build_demo(clock=lambda: FIXED_NOW)
    w.advance_to_end()
    yield w
    w.close()


@pytest.fixture
def fresh_world() -> Iterator[DemoWorld]:
    """The demo before its story: every environment in sync."""
    w = build_demo(clock=lambda: FIXED_NOW)
    yield w
    w.close()


def tui(world: DemoWorld, **options: Any) -> DrifttuiApp:
    """The app as ``drifttui demo`` builds it, listing once (``live=False``) unless asked,
    with the analysis run only when ``c`` is pressed (unless asked)."""
    options.setdefault("live", False)
    options.setdefault("auto_analyze", False)
    return make_app(world.runtime, clock=lambda: APP_NOW, source="embedded demo hub", **options)


async def filter_to(pilot: Pilot[Any], text: str) -> None:
    """``/``, the filter line (pasted: typing it key by key is tested once, and slow),
    enter."""
    from textual.widgets import Input

    await pilot.press("slash")
    app = pilot.app
    assert isinstance(app, DrifttuiApp)
    app.main.query_one("#filter", Input).value = text
    await pilot.press("enter")
    await settle(pilot)
