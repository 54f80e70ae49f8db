"""Every write is shown before it happens: what changes (Secret values masked), the server's
dry-run answer, and, in production, the resource name typed back."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from drifttui.tui.messages import Proposal

MAX_LINES_PER_PLAN = 40


def diff_line(line: str) -> Content:
    """A plan or diff line, ``+`` lines in the success colour, ``-`` lines in the error one."""
    if line.startswith("+"):
        return Content.styled(line, "$text-success")
    if line.startswith("-"):
        return Content.styled(line, "$text-error")
    return Content(line)


def proposal_content(p: Proposal) -> Content:
    """The plans' lines, one block per plan when there are several."""
    parts: list[Content] = []
    many = len(p.plans) > 1
    for plan, preview in zip(p.plans, p.previews, strict=False):
        if many:
            parts.append(Content.styled(plan.title, "bold"))
        lines = plan.lines[:MAX_LINES_PER_PLAN]
        parts += [Content("  " if many else "") + diff_line(line) for line in lines]
        if len(plan.lines) > len(lines):
            more = len(plan.lines) - len(lines)
            parts.append(Content.styled(f"  … {more} more line(s)", "$text-muted"))
        if many and not preview.ok:
            parts.append(Content.styled(f"  ✗ {preview.message}", "$text-error bold"))
    return Content("\n").join(parts)


def preview_content(p: Proposal) -> Content:
    refused = p.refused
    if len(p.plans) == 1:
        o = p.previews[0]
        if o.ok:
            return Content.styled(f"✓ {o.message}", "$text-success")
        return Content.styled(f"✗ {o.message}", "$text-error bold")
    ok = len(p.previews) - len(refused)
    text = Content.styled(f"✓ dry-run accepted {ok} of {len(p.previews)}", "$text-success")
    if refused:
        text += Content.styled(
            f"; ✗ {len(refused)} refused (reported, the others go on)", "$text-error"
        )
    return text


class ConfirmScreen(ModalScreen[bool]):
    """Returns True when the operator confirms (enter; in production, the typed name)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("enter", "confirm", "Confirm", id="confirm.confirm"),
    ]

    def __init__(self, proposal: Proposal) -> None:
        super().__init__(classes="-production" if proposal.production else "")
        self.proposal = proposal

    def compose(self) -> ComposeResult:
        p = self.proposal
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Confirm"
            if p.production:
                dialog.border_subtitle = "PRODUCTION"
            yield Static(Content.styled(p.title, "bold"), id="confirm-title")
            with VerticalScroll(id="confirm-lines"):
                yield Static(proposal_content(p), id="confirm-body")
            yield Static(preview_content(p), id="confirm-preview")
            if p.confirm_name:
                yield Static(
                    Content.assemble("Production: type ", (p.confirm_name, "bold"), " to confirm"),
                    id="confirm-prompt",
                )
                yield Input(placeholder=p.confirm_name, id="confirm-name")
            yield Static("enter confirm · esc cancel", id="confirm-hint")

    def on_mount(self) -> None:
        if self.proposal.confirm_name:
            self.query_one("#confirm-name", Input).focus()

    @property
    def typed_ok(self) -> bool:
        name = self.proposal.confirm_name
        if not name:
            return True
        return self.query_one("#confirm-name", Input).value.strip() == name

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if not self.typed_ok:
            name = self.proposal.confirm_name or ""
            prompt = self.query_one("#confirm-prompt", Static)
            prompt.update(
                Content.assemble("Type ", (name, "bold"), " exactly to confirm (esc cancels)")
            )
            prompt.add_class("-wrong")
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
