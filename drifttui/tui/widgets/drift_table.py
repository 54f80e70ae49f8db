"""The drift list: a virtual table that paints only the rows on screen.

Textual's ``DataTable`` measures every cell of every row it holds; with 10,000 drift rows
that is two seconds per rebuild, and a filter keystroke rebuilds. This widget keeps the
rows as the view model computed them (``DriftView.visible()``) and renders lines on demand
(Textual's Line API), so a keystroke costs one filter pass over plain data plus one paint
of the visible lines, whatever the number of rows.

Keys (k9s): up/down or k/j, page up/down, home/end (g/G); ``space`` is the screen's (it
marks the row). The header is clickable to sort.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from drifttui.core.models import ResourceStatus, Severity
from drifttui.tui.model import Column, DriftRow, cell_text, columns_for

_SEVERITY_CLASS = {
    Severity.CRITICAL: "drift-table--critical",
    Severity.HIGH: "drift-table--high",
    Severity.MEDIUM: "drift-table--medium",
    Severity.LOW: "drift-table--low",
    Severity.INFO: "drift-table--ok",
}


def fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


class DriftTable(ScrollView, can_focus=True):
    """Rows of :class:`DriftRow`, a cursor, marks, and a clickable header."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "drift-table--header",
        "drift-table--cursor",
        "drift-table--marked",
        "drift-table--muted",
        "drift-table--empty",
        *_SEVERITY_CLASS.values(),
    }

    DEFAULT_CSS = """
    DriftTable {
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .drift-table--header { text-style: bold; background: $panel; color: $foreground; }
        & > .drift-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .drift-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: bold;
        }
        & > .drift-table--marked { background: $secondary-muted; }
        & > .drift-table--muted { color: $text-muted; }
        & > .drift-table--empty { color: $text-muted; text-style: italic; }
        & > .drift-table--critical { color: $error; text-style: bold reverse; }
        & > .drift-table--high { color: $error; text-style: bold; }
        & > .drift-table--medium { color: $warning; }
        & > .drift-table--low { color: $text-muted; }
        & > .drift-table--ok { color: $success; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]

    @dataclass
    class CursorMoved(Message):
        """The row under the cursor changed (None: the list is empty)."""

        table: DriftTable
        row: DriftRow | None

        @property
        def control(self) -> DriftTable:
            return self.table

    @dataclass
    class SortClicked(Message):
        table: DriftTable
        column: str

    def __init__(
        self,
        *,
        now: Callable[[], float] = time.time,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.now = now
        self._rows: list[DriftRow] = []
        self._cursor = 0
        self._cursor_key: str | None = None
        self.marked: set[str] = set()
        self.accents: dict[str, Style] = {}
        self.empty_text = "No drift."
        self.sort_column = "sev"
        self._columns: tuple[Column, ...] = columns_for(80)
        self._columns_for = (80, 7)
        self.env_width = 7
        """Width of the ENV column: the longest environment name (set by the screen)."""
        self.paints = 0
        """Lines painted (the benchmark and tests count work, not seconds)."""
        self.painted_at = 0.0
        """``time.perf_counter()`` of the last repaint of the header (the benchmark's clock
        for "keystroke to updated table")."""
        self.painted_rows = 0
        """How many rows the list held at that repaint."""

    # ----------------------------------------------------------------- data

    @property
    def rows(self) -> Sequence[DriftRow]:
        return self._rows

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def current_row(self) -> DriftRow | None:
        if 0 <= self._cursor < len(self._rows):
            return self._rows[self._cursor]
        return None

    def set_accents(self, accents: Mapping[str, str | None]) -> None:
        """Per-environment accent colours (config ``accent:``, production red)."""
        out: dict[str, Style] = {}
        for env, colour in accents.items():
            if not colour:
                continue
            try:
                out[env] = Style.parse(f"bold {colour}")
            except Exception:  # an unknown colour name is ignored, not fatal
                continue
        self.accents = out
        self.refresh()

    def set_rows(self, rows: list[DriftRow]) -> None:
        """Show ``rows`` (already filtered and sorted); the cursor stays on its row when it
        is still there, else on the same position."""
        key = self._cursor_key
        self._rows = rows
        index = self._cursor
        if key is not None and not (index < len(rows) and rows[index].row_key == key):
            for i, r in enumerate(rows):
                if r.row_key == key:
                    index = i
                    break
        if self.marked:
            present = {r.row_key for r in rows}
            self.marked &= present
        self._update_virtual_size()
        self._move_to(index, force_message=True)
        self.refresh()

    def _update_virtual_size(self) -> None:
        width = max(1, self.scrollable_content_region.width or self.size.width)
        self.virtual_size = Size(width, len(self._rows) + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._scroll_cursor_into_view()

    def _layout(self, width: int) -> tuple[Column, ...]:
        """The columns at ``width`` (recomputed when the width or the widest environment
        name changes, e.g. when the scrollbar appears)."""
        if self._columns_for != (width, self.env_width):
            self._columns = columns_for(width, self.env_width)
            self._columns_for = (width, self.env_width)
        return self._columns

    # ----------------------------------------------------------------- cursor and marks

    def _move_to(self, index: int, *, force_message: bool = False) -> None:
        index = max(0, min(index, len(self._rows) - 1)) if self._rows else 0
        old_key = self._cursor_key
        old = self._cursor
        self._cursor = index
        row = self.current_row
        self._cursor_key = row.row_key if row else None
        if old != index:
            self.refresh_line_of(old)
            self.refresh_line_of(index)
        self._scroll_cursor_into_view()
        if self._cursor_key != old_key or force_message:
            self.post_message(self.CursorMoved(self, row))

    def refresh_line_of(self, index: int) -> None:
        y = index - int(self.scroll_offset.y) + 1
        if 1 <= y < self.size.height:
            self.refresh_line(y)

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_offset.y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + visible:
            self.scroll_to(y=self._cursor - visible + 1, animate=False, immediate=True)

    def move_to_key(self, row_key: str) -> bool:
        for i, r in enumerate(self._rows):
            if r.row_key == row_key:
                self._move_to(i)
                return True
        return False

    def toggle_mark(self) -> None:
        row = self.current_row
        if row is None:
            return
        if row.row_key in self.marked:
            self.marked.discard(row.row_key)
        else:
            self.marked.add(row.row_key)
        self.refresh_line_of(self._cursor)
        self._move_to(self._cursor + 1)

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    def marked_rows(self) -> list[DriftRow]:
        return [r for r in self._rows if r.row_key in self.marked]

    def action_cursor_up(self) -> None:
        self._move_to(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._move_to(self._cursor + 1)

    def action_page_up(self) -> None:
        self._move_to(self._cursor - max(1, self.size.height - 2))

    def action_page_down(self) -> None:
        self._move_to(self._cursor + max(1, self.size.height - 2))

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        self._move_to(len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = 0
            for col in self._layout(self.scrollable_content_region.width):
                if x <= event.x < x + col.width + 1:
                    self.post_message(self.SortClicked(self, col.key))
                    return
                x += col.width + 1
            return
        index = int(self.scroll_offset.y) + event.y - 1
        if 0 <= index < len(self._rows):
            self._move_to(index)

    # ----------------------------------------------------------------- painting

    def render_line(self, y: int) -> Strip:
        self.paints += 1
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        self._layout(width)
        if y == 0:
            self.painted_at = time.perf_counter()
            self.painted_rows = len(self._rows)
            return self._header(width, base)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self._rows):
            if not self._rows and y == 2:
                style = base + self.get_component_rich_style("drift-table--empty")
                return Strip([Segment(fit("  " + self.empty_text, width), style)], width)
            return Strip.blank(width, base)
        return self._row(self._rows[index], index, width, base)

    def _header(self, width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("drift-table--header")
        parts = []
        for col in self._columns:
            title = col.title
            if col.key == self.sort_column:
                title = f"{title}▼" if col.key != "mark" else title
            parts.append(fit(title, col.width))
        text = fit(" ".join(parts), width)
        return Strip([Segment(text, style)], width)

    def _row(self, row: DriftRow, index: int, width: int, base: Style) -> Strip:
        if index == self._cursor:
            style = base + self.get_component_rich_style("drift-table--cursor")
        elif row.row_key in self.marked:
            style = base + self.get_component_rich_style("drift-table--marked")
        elif row.status is ResourceStatus.IN_SYNC:
            style = base + self.get_component_rich_style("drift-table--muted")
        else:
            style = base
        now = self.now()
        segments: list[Segment] = []
        used = 0
        for i, col in enumerate(self._columns):
            if i:
                segments.append(Segment(" ", style))
                used += 1
            if col.key == "mark":
                text = "●" if row.row_key in self.marked else " "
                cell_style = style
            else:
                text = cell_text(row, col.key, now)
                cell_style = style
                if col.key == "sev":
                    sev = self.get_component_rich_style(_SEVERITY_CLASS[row.severity])
                    cell_style = style + Style(color=sev.color, bold=sev.bold, reverse=sev.reverse)
                elif col.key == "env" and row.environment in self.accents:
                    cell_style = style + self.accents[row.environment]
            segments.append(Segment(fit(text, col.width), cell_style))
            used += col.width
        if used < width:
            segments.append(Segment(" " * (width - used), style))
        return Strip(segments, width).crop(0, width)
