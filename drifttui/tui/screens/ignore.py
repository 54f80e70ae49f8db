"""``i``: ignore a finding with a generated rule. Each scope shows how many findings the
rule would silence now (``core.ignore.count_silenced``) before anything is applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from drifttui.core.models import DriftItem, FieldDrift
from drifttui.tui.model import IgnoreChoice, rule_yaml


class IgnoreScreen(ModalScreen[IgnoreChoice | None]):
    """Returns the chosen rule (None: cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ignore.cancel"),
    ]

    def __init__(self, item: DriftItem, finding: FieldDrift, choices: Sequence[IgnoreChoice]):
        super().__init__()
        self.item = item
        self.finding = finding
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Ignore with a rule"
            dialog.border_subtitle = "enter apply · esc cancel"
            yield Static(
                Content.assemble(
                    "Silence ",
                    (self.finding.path_str or str(self.item.key), "bold"),
                    f" of {self.item.key} in {self.item.environment}. Ignored findings stay "
                    "visible in the detail, never counted or corrected.",
                ),
                id="ignore-help",
            )
            options = [
                Option(
                    Content.assemble(
                        c.label,
                        (f"  silences {c.silenced} finding(s)", "$text-warning"),
                    ),
                    id=str(i),
                )
                for i, c in enumerate(self.choices)
            ]
            yield OptionList(*options, id="ignore-scopes")
            yield Static("", id="ignore-rule")

    def on_mount(self) -> None:
        scopes = self.query_one("#ignore-scopes", OptionList)
        scopes.focus()
        scopes.highlighted = 0

    @on(OptionList.OptionHighlighted, "#ignore-scopes")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        choice = self.choices[int(event.option.id or 0)]
        self.query_one("#ignore-rule", Static).update(
            Content.styled("ignore:\n", "$text-muted")
            + Content(rule_yaml(choice.raw))
            + Content.styled(
                "\n(applies to this session; add it to your config's ignore: list to keep it)",
                "$text-muted",
            )
        )

    @on(OptionList.OptionSelected, "#ignore-scopes")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
