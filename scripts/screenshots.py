"""Render the demo's main screens to screenshots/ (SVG from Textual, PNG through resvg).

    /work/venv/bin/python scripts/screenshots.py            # every screen
    /work/venv/bin/python scripts/screenshots.py main help  # some of them

The demo world runs on a fixed clock with its story applied, so the pictures are the same
on every run and machine (fonts aside: PNGs use DejaVu Sans Mono, which has no emoji).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from drifttui.core.models import ResourceKey  # noqa: E402
from drifttui.demo import DemoWorld, build_demo  # noqa: E402
from drifttui.tui.app import DrifttuiApp, make_app  # noqa: E402
from drifttui.tui.headless import settle, wait_for  # noqa: E402

OUT = ROOT / "screenshots"
FIXED_NOW = 1_764_000_000.0
FRONTEND = ResourceKey("apps", "Deployment", "drift-test", "frontend-web")
Step = Callable[[Pilot[Any]], Awaitable[None]]


async def _filter(pilot: Pilot[Any], text: str) -> None:
    await pilot.press("slash")
    app = pilot.app
    assert isinstance(app, DrifttuiApp)
    app.main.query_one("#filter", Input).value = text
    await pilot.press("enter")
    await settle(pilot)


async def _screen(pilot: Pilot[Any], name: str) -> None:
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == name, name)
    await pilot.pause(0.2)


async def main_screen(pilot: Pilot[Any]) -> None:
    await pilot.press("c")
    await settle(pilot)
    await pilot.press("escape")


async def detail(pilot: Pilot[Any]) -> None:
    await _filter(pilot, "backend-api")
    await pilot.press("c")
    await settle(pilot)
    await pilot.press("enter")
    await _screen(pilot, "DetailScreen")


async def confirm(pilot: Pilot[Any]) -> None:
    await _filter(pilot, "backend-api replicas")
    await pilot.press("p")
    await _screen(pilot, "ConfirmScreen")
    await pilot.press(*"backend-api")


async def rollback(pilot: Pilot[Any]) -> None:
    await _filter(pilot, ":all :env dev deploy/frontend-web")
    await pilot.press("R")
    await _screen(pilot, "RollbackScreen")
    await pilot.pause(0.5)


async def ignore(pilot: Pilot[Any]) -> None:
    await _filter(pilot, "metadata.labels.debug")
    await pilot.press("i")
    await _screen(pilot, "IgnoreScreen")


async def help_screen(pilot: Pilot[Any]) -> None:
    await pilot.press("question_mark")
    await _screen(pilot, "HelpScreen")


async def filtered(pilot: Pilot[Any]) -> None:
    await _filter(pilot, ":set replica-drifts")


# name -> (what it shows, terminal size, steps, with an accepted revision to roll back)
SHOTS: dict[str, tuple[str, tuple[int, int], Step, bool]] = {
    "main": (
        "the main screen with the story's drift and the analysis",
        (120, 40),
        main_screen,
        False,
    ),
    "main-80x24": ("the same on an 80x24 terminal", (80, 24), main_screen, False),
    "detail": (
        "enter: a resource's field diff, verdicts, history, revisions",
        (120, 40),
        detail,
        False,
    ),
    "confirm-prod": (
        "p in production: dry-run result and the typed name",
        (120, 40),
        confirm,
        False,
    ),
    "rollback": ("R: a unit's revisions and the diff to the chosen one", (120, 40), rollback, True),
    "ignore": ("i: ignore scopes with how many findings each silences", (120, 40), ignore, False),
    "help": ("?: every key", (120, 40), help_screen, False),
    "filter-set": (":set replica-drifts: a ConfigHub drift-record set", (120, 40), filtered, False),
}


def _world(with_history: bool) -> DemoWorld:
    world = build_demo(clock=lambda: FIXED_NOW)
    world.advance_to_end()
    if with_history:
        for env in world.engine.states:
            world.engine.snapshot_environment(env)
        rem = world.runtime.remediator
        rem.execute(rem.plan_accept("dev", FRONTEND))
    return world


async def shoot(name: str) -> Path:
    _, size, step, history = SHOTS[name]
    world = _world(history)
    try:
        app = make_app(
            world.runtime,
            clock=lambda: FIXED_NOW + 300,
            live=False,
            source="embedded demo hub",
            auto_analyze=False,
        )
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("home")
            await step(pilot)
            for box in app.screen.query(Input):
                box.cursor_blink = False
            await pilot.pause(0.2)
            svg = app.export_screenshot(title=f"drifttui demo — {name}")
    finally:
        world.close()
    OUT.mkdir(exist_ok=True)
    svg_path = OUT / f"{name}.svg"
    svg_path.write_text(svg, encoding="utf-8")
    return svg_path


def to_png(svg_path: Path) -> Path:
    import resvg_py

    png = resvg_py.svg_to_bytes(
        svg_string=svg_path.read_text(encoding="utf-8"),
        font_family="DejaVu Sans Mono",
        monospace_family="DejaVu Sans Mono",
    )
    png_path = svg_path.with_suffix(".png")
    png_path.write_bytes(bytes(png))
    return png_path


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in SHOTS]
    if unknown:
        print(f"unknown screenshot(s): {', '.join(unknown)}; known: {', '.join(SHOTS)}")
        return 2
    for name in names or list(SHOTS):
        svg = asyncio.run(shoot(name))
        png = to_png(svg)
        print(f"{png.relative_to(ROOT)}  {SHOTS[name][0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
