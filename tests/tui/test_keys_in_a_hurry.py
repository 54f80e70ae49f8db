"""What an operator does fast or wrong: keys typed in one burst, a write key pressed twice
while its dry-run runs, a saved filter the hub does not know."""

from __future__ import annotations

import threading
from typing import Any

from textual import events
from textual.widgets import Input

from drifttui.demo import DemoWorld
from drifttui.tui.app import DrifttuiApp
from drifttui.tui.screens.confirm import ConfirmScreen
from drifttui.tui.screens.main import MainScreen
from tests.tui.conftest import filter_to, settle, tui, wait_for


def burst(app: DrifttuiApp, keys: str) -> None:
    """Keys arriving together (fast typing, a paste, a laggy ssh link): read at once, none
    waiting for the previous one to be handled."""
    for ch in keys:
        key = {"/": "slash", ":": "colon", "\r": "enter", " ": "space"}.get(ch, ch)
        event = events.Key(key, ch)
        event.set_sender(app)
        app.post_message(event)


async def test_keys_typed_right_after_slash_go_to_the_filter_not_the_list(
    world: DemoWorld,
) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        burst(app, "/replicas\r")  # r and p are keys of the list too (resync, patch)
        await settle(pilot)
        assert app.main.view.query.terms == ("replicas",)
        assert {r.field for r in app.main.table.rows} == {"spec.replicas"}
        assert isinstance(app.screen, MainScreen)  # no patch preview opened
        assert not [n for n in app._notifications if "Resync" in n.message]
        burst(app, ":env dev\r")
        await settle(pilot)
        assert {r.environment for r in app.main.table.rows} == {"dev"}
        assert app.focused is app.main.table  # enter closed the box


async def test_slash_and_colon_typed_in_the_filter_are_text(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"apps/v1", "colon")
        assert app.main.query_one("#filter", Input).value == "apps/v1:"


async def test_keys_typed_in_a_burst_still_drive_the_list(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        burst(app, "jj ")  # down, down, mark: no text box involved, nothing redirected
        await settle(pilot)
        assert len(app.main.table.marked) == 1
        assert app.main.table.cursor_row == 3  # space marks and moves on


class SlowDryRun:
    """The dev cluster with an API server slow to answer the first dry-run (held until
    ``release``): the external system the engine writes to, stood in front of the sim."""

    def __init__(self, cluster: Any) -> None:
        self._cluster = cluster
        self.held = threading.Event()
        self.release = threading.Event()
        self.writes = 0
        self.dry_runs = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cluster, name)

    def patch(self, *args: Any, dry_run: bool = False, **kwargs: Any) -> Any:
        if dry_run:
            self.dry_runs += 1
            if self.dry_runs == 1:
                self.held.set()
                self.release.wait(10)
        else:
            self.writes += 1
        return self._cluster.patch(*args, dry_run=dry_run, **kwargs)


async def test_a_write_key_pressed_twice_during_the_dry_run_asks_once_and_writes_once(
    world: DemoWorld,
) -> None:
    slow = SlowDryRun(world.engine.clusters["dev"])
    world.engine.clusters["dev"] = slow
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev frontend-web")
        await pilot.press("p")
        await wait_for(pilot, slow.held.is_set, "the first dry-run")
        await pilot.press("p")  # no modal yet: the operator presses again
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "a confirmation")
        slow.release.set()  # the first dry-run answers late
        await settle(pilot)
        assert slow.dry_runs == 2
        assert [type(s) for s in app.screen_stack].count(ConfirmScreen) == 1
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert slow.writes == 1
        assert not app.main.table.rows  # patched: in sync


async def test_an_unknown_saved_filter_shows_no_row_and_says_why(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":filter nosuch")
        # every drifted row under a pulse that reads "filter nosuch" was a lie
        assert not app.main.table.rows
        empty = app.main.table.empty_text
        assert "no filter 'nosuch'" in empty
        assert "security-drift" in empty
        assert "esc clears" in empty
        assert any(n.title == "Filter" and "nosuch" in n.message for n in app._notifications)
        await pilot.press("slash")
        app.main.query_one("#filter", Input).value = ":filter security-drift"  # not entered
        await settle(pilot)
        assert not app.main.table.rows
        assert app.main.table.empty_text == "Press enter to read the filter from the hub."
        await pilot.press("enter")  # the right name works
        await settle(pilot)
        assert [r.key.name for r in app.main.table.rows] == ["api-credentials"]
        await filter_to(pilot, ":set nosuch :env prod")
        assert not app.main.table.rows
        assert "no set 'nosuch'" in app.main.table.empty_text
        await pilot.press("escape")  # on the list: clears the filter
        await settle(pilot)
        assert len(app.main.table.rows) == 10
