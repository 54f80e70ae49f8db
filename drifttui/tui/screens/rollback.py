"""``R``: the unit's revisions with their messages; the diff from the current data to the
highlighted revision loads beside the list (a thread worker, latest highlight wins)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from drifttui.hub.protocol import Revision
from drifttui.tui.model import RollbackChoice
from drifttui.tui.screens.confirm import diff_line


def revision_label(r: Revision, head: int) -> Content:
    when = r.created_at[:16].replace("T", " ")
    text = Content.assemble(
        (f"r{r.num:<3}", "bold"),
        " ",
        (r.description or r.source)[:60],
    )
    text += Content.styled(f"  {r.author} {when}", "$text-muted")
    if r.num == head:
        text += Content.styled("  (current)", "$text-success")
    return text


class RollbackScreen(ModalScreen[int | None]):
    """Returns the chosen revision number (None: cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="rollback.cancel"),
    ]

    def __init__(self, choice: RollbackChoice, load_diff: Callable[[int], Sequence[str]]) -> None:
        super().__init__()
        self.choice = choice
        self.load_diff = load_diff
        """Blocking (reads the hub): the unified-diff lines from head to a revision."""
        self.diffs: dict[int, tuple[str, ...]] = {}

    def compose(self) -> ComposeResult:
        c = self.choice
        with Vertical(id="dialog") as dialog:
            dialog.border_title = f"Roll back {c.space}/{c.unit}"
            dialog.border_subtitle = "enter choose · esc cancel"
            yield Static(
                f"{len(c.revisions)} revisions, head r{c.head}. Pick the revision to restore "
                "(it becomes a new revision; the cluster is patched back to it).",
                id="rollback-help",
            )
            with Horizontal(id="rollback-body"):
                options = [
                    Option(revision_label(r, c.head), id=str(r.num), disabled=r.num == c.head)
                    for r in c.revisions
                ]
                yield OptionList(*options, id="revisions")
                with VerticalScroll(id="rollback-diff-box"):
                    yield Static("", id="rollback-diff")

    def on_mount(self) -> None:
        revisions = self.query_one("#revisions", OptionList)
        revisions.focus()
        for i, r in enumerate(self.choice.revisions):
            if r.num != self.choice.head:
                revisions.highlighted = i
                break

    @on(OptionList.OptionHighlighted, "#revisions")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is None:
            return
        num = int(event.option.id)
        if num in self.diffs:
            self._show(num)
        else:
            self.query_one("#rollback-diff", Static).update(
                Content.styled(f"loading the diff to r{num}…", "$text-muted")
            )
            self._load(num)

    @work(thread=True, exclusive=True, group="rollback-diff", exit_on_error=False)
    def _load(self, num: int) -> None:
        lines = tuple(self.load_diff(num))
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self._loaded, num, lines)

    def _loaded(self, num: int, lines: tuple[str, ...]) -> None:
        self.diffs[num] = lines
        highlighted = self.query_one("#revisions", OptionList).highlighted_option
        if highlighted is not None and highlighted.id == str(num):
            self._show(num)

    def _show(self, num: int) -> None:
        lines = self.diffs[num]
        head = Content.styled(f"r{self.choice.head} (current) → r{num}\n", "bold")
        body = (
            Content("\n").join(diff_line(line) for line in lines)
            if lines
            else Content.styled("(same data as the current revision)", "$text-muted")
        )
        self.query_one("#rollback-diff", Static).update(head + body)

    @on(OptionList.OptionSelected, "#revisions")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None and int(event.option.id) != self.choice.head:
            self.dismiss(int(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
