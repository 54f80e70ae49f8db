"""SVG snapshots of the main screens at 120x40 and 80x24 (pytest-textual-snapshot).

Deterministic: the demo world's clusters and hub run on a fixed clock, the TUI's clock is
five minutes later, the story is applied before the app starts, the list is loaded once
(no watch threads), the cursor is put on the first row, cursors do not blink.

Review the report (``snapshot_report.html``) before ``--snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from drifttui.demo import DemoWorld, build_demo
from drifttui.tui.screens.confirm import ConfirmScreen
from drifttui.tui.screens.help import HelpScreen
from drifttui.tui.screens.rollback import RollbackScreen
from tests.tui.conftest import FIXED_NOW, FRONTEND, filter_to, settle, tui, wait_for

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
Snap = Callable[..., bool]


@pytest.fixture
def world_with_history() -> Iterator[DemoWorld]:
    """The story applied, and dev's frontend-web accepted once (revision 2: 3 replicas)."""
    w = build_demo(clock=lambda: FIXED_NOW)
    w.advance_to_end()
    for env in w.engine.states:
        w.engine.snapshot_environment(env)
    rem = w.runtime.remediator
    outcome = rem.execute(rem.plan_accept("dev", FRONTEND))
    assert outcome.ok
    yield w
    w.close()


async def _main(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("home")
    await settle(pilot)


def _run(
    *steps: Callable[[Pilot[Any]], Awaitable[None]],
) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _main(pilot)
        for step in steps:
            await step(pilot)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()

    return run_before


async def _analyze(pilot: Pilot[Any]) -> None:
    await pilot.press("c")
    await settle(pilot)
    await pilot.press("escape")  # back to the detail on small screens
    await settle(pilot)


async def _help(pilot: Pilot[Any]) -> None:
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")


async def _confirm_patch_in_prod(pilot: Pilot[Any]) -> None:
    await filter_to(pilot, "backend-api replicas")
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirmation")
    await pilot.press(*"backend")  # half typed


async def _rollback(pilot: Pilot[Any]) -> None:
    await filter_to(pilot, ":all :env dev deploy/frontend-web")
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RollbackScreen), "revisions")
    screen = pilot.app.screen
    assert isinstance(screen, RollbackScreen)
    await wait_for(pilot, lambda: 1 in screen.diffs, "the diff")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Snap, world: DemoWorld, size: tuple[int, int]) -> None:
    assert snap_compare(tui(world), terminal_size=size, run_before=_run(_analyze))


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: Snap, world: DemoWorld, size: tuple[int, int]) -> None:
    assert snap_compare(tui(world), terminal_size=size, run_before=_run(_help))


@pytest.mark.parametrize("size", SIZES)
def test_confirmation_in_production(
    snap_compare: Snap, world: DemoWorld, size: tuple[int, int]
) -> None:
    assert snap_compare(tui(world), terminal_size=size, run_before=_run(_confirm_patch_in_prod))


@pytest.mark.parametrize("size", SIZES)
def test_rollback_modal(
    snap_compare: Snap, world_with_history: DemoWorld, size: tuple[int, int]
) -> None:
    assert snap_compare(tui(world_with_history), terminal_size=size, run_before=_run(_rollback))
