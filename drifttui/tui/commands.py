"""Command palette (``ctrl+p``): every key's action, every environment, every drift row.

Titles read ``area: verb``. Each command runs the same ``action_*`` as its key, on the
main screen, so keys and palette never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from drifttui.tui.keymap import KEYS


def _area(group: str) -> str:
    return {"Fix": "drift", "Explain": "drift", "View": "view", "App": "app"}.get(group, "view")


class DriftCommands(Provider):
    """Actions, environments and drift items of the main screen."""

    def _main(self) -> object | None:
        from drifttui.tui.screens.main import MainScreen

        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, MainScreen):
                return screen
        return None

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        from drifttui.tui.screens.main import MainScreen

        main = self._main()
        if not isinstance(main, MainScreen):
            return []
        out: list[tuple[str, Callable[[], object], str]] = []
        for k in KEYS:
            if not k.palette:
                continue
            title = f"{_area(k.group)}: {k.description.lower()} ({k.shown_key})"
            out.append((title, partial(main.call_action, k.action), k.help))
        for env in main.env_names:
            out.append(
                (f"env: show {env}", partial(main.show_environment, env), f"Only drift in {env}")
            )
        out.append(("env: show all", partial(main.show_environment, None), "Every environment"))
        return out

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        from drifttui.tui.screens.main import MainScreen

        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
        main = self._main()
        if not isinstance(main, MainScreen):
            return
        seen: set[str] = set()
        for row in main.table.rows:
            title = f"drift: go to {row.resource} {row.field} ({row.environment})"
            if title in seen:
                continue
            seen.add(title)
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(main.table.move_to_key, row.row_key),
                    help=row.change,
                )
