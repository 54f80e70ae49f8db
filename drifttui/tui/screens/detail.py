"""``enter``: the selected item on the whole screen (every field, the full history, every
revision, the analyst's verdicts)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen

from drifttui.tui.widgets.detail import DetailData, DetailPane


class DetailScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Back", id="detail.close"),
    ]

    def __init__(self, data: DetailData) -> None:
        super().__init__()
        self.data = data

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Detail"
            dialog.border_subtitle = "esc back"
            with VerticalScroll(id="detail-full"):
                yield DetailPane(id="detail-full-pane", full=True)

    def on_mount(self) -> None:
        self.query_one(DetailPane).show(self.data)
        self.query_one("#detail-full", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
