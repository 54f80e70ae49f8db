"""What an operator does fast or wrong: keys typed in one burst, a write key pressed twice
while its dry-run runs, a saved filter the hub does not know."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from drifttui.demo import DemoWorld
from drifttui.tui.app import DrifttuiApp
from drifttui.tui.screens.main import MainScreen
from tests.tui.conftest import settle, tui


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
