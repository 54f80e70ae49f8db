"""``?``: every key, from the same table that makes the bindings and the palette."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from drifttui.tui.keymap import KEYS, NAVIGATION


def help_content(read_only: bool = False) -> Content:
    groups: dict[str, list[Content]] = {}
    width = max(len(k.shown_key) for k in KEYS) + 2
    for k in KEYS:
        line = Content.assemble((k.shown_key.ljust(width), "bold $accent"), k.help)
        if k.writes and read_only:
            line += Content.styled("  (read-only: refused)", "$text-warning")
        groups.setdefault(k.group, []).append(line)
    titles = {
        "Fix": "Fix drift (every write: preview, then confirm; production: type the name)",
        "Explain": "Explain",
        "View": "View",
        "App": "App",
    }
    parts: list[Content] = []
    for group in ("Fix", "Explain", "View", "App"):
        parts.append(Content.styled(titles[group], "bold underline $secondary"))
        parts += groups.get(group, [])
        parts.append(Content(""))
    parts.append(Content.styled("Moving around", "bold underline $secondary"))
    nav_width = max(len(k) for k, _ in NAVIGATION) + 2
    parts += [Content.assemble((k.ljust(nav_width), "bold $accent"), v) for k, v in NAVIGATION]
    return Content("\n").join(parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "esc close"
            with VerticalScroll(id="help-body"):
                yield Static(help_content(self.read_only), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
