"""One table of keys: it feeds the main screen's bindings, the footer, ``?`` help and the
command palette, so what is shown is exactly what works (k9s's key grammar)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class KeySpec:
    key: str
    action: str
    """Action name on the main screen (``patch_live`` -> ``action_patch_live``)."""
    description: str
    id: str
    """``area.verb-noun``: what a user's keymap names to remap the key."""
    help: str
    group: str
    show: bool = True
    key_display: str | None = None
    writes: bool = False
    """True for keys that write to the cluster or the hub (refused in read-only mode)."""
    palette: bool = True
    opens_text: bool = False
    """True for keys that move the focus to a text box (``/``, ``:``): bound with priority,
    so the focus moves when the key is read and the keys typed after it in the same burst
    (fast typing, a paste, a laggy ssh link) reach the box, not the list's bindings."""

    @property
    def shown_key(self) -> str:
        return self.key_display or self.key


KEYS: tuple[KeySpec, ...] = (
    KeySpec(
        "p",
        "patch_live",
        "Patch",
        "drift.patch-live",
        "Patch live back to desired (server dry-run preview, then confirm)",
        "Fix",
        writes=True,
    ),
    KeySpec(
        "a",
        "accept_live",
        "Accept",
        "drift.accept-live",
        "Accept the live values into ConfigHub as a new revision of the unit",
        "Fix",
        writes=True,
    ),
    KeySpec(
        "P",
        "promote",
        "Promote",
        "drift.promote-unit",
        "Promote the unit to the next environment (clone or push-upgrade)",
        "Fix",
        writes=True,
    ),
    KeySpec(
        "R",
        "rollback",
        "Rollback",
        "drift.rollback-unit",
        "Roll the unit back to an earlier revision (lists revisions with their diffs)",
        "Fix",
        writes=True,
    ),
    KeySpec(
        "c",
        "analyze",
        "Analyze",
        "drift.ask-analyst",
        "Ask Claude (or the offline analyst) about the drift shown or marked",
        "Explain",
    ),
    KeySpec(
        "slash",
        "filter",
        "Filter",
        "view.filter",
        "Filter the list: words (all must match), !word excludes, :env prod, :ns NAME, "
        ":filter security-drift, :set critical-drifts, :all, :sort age",
        "View",
        key_display="/",
        opens_text=True,
    ),
    KeySpec(
        "question_mark",
        "help",
        "Help",
        "app.help",
        "Show every key",
        "App",
        key_display="?",
    ),
    KeySpec("q", "quit", "Quit", "app.quit", "Quit drifttui", "App"),
    KeySpec(
        "enter",
        "details",
        "Details",
        "drift.details",
        "Open the selected item: field diff, who changed it, history, revisions",
        "View",
        key_display="⏎",
    ),
    KeySpec(
        "i",
        "ignore",
        "Ignore",
        "drift.ignore-finding",
        "Ignore this finding with a rule (shows how many findings the rule silences)",
        "Explain",
    ),
    KeySpec(
        "b",
        "bulk_fix",
        "Bulk",
        "drift.bulk-fix",
        "Patch every drifted resource the filter shows (or the marked rows) back to desired",
        "Fix",
        writes=True,
    ),
    KeySpec(
        "r",
        "resync",
        "Resync",
        "view.resync",
        "Re-read the desired state from the hub (and re-list when not watching)",
        "View",
    ),
    KeySpec(
        "colon",
        "command",
        "Command",
        "view.command",
        "Type a command: :env prod, :filter NAME, :set NAME, :all, :sort severity|age",
        "View",
        show=False,
        key_display=":",
        opens_text=True,
    ),
    KeySpec(
        "space",
        "mark",
        "Mark",
        "drift.mark-row",
        "Mark or unmark the row (bulk fix and analysis use the marked rows)",
        "View",
        show=False,
        key_display="space",
    ),
    KeySpec(
        "s",
        "cycle_sort",
        "Sort",
        "view.sort",
        "Sort by severity, age, resource, environment or category (click a header too)",
        "View",
        show=False,
    ),
    KeySpec(
        "l",
        "toggle_log",
        "Log",
        "view.log",
        "Show the log instead of the detail (small terminals)",
        "View",
        show=False,
    ),
    KeySpec(
        "escape",
        "back",
        "Back",
        "view.back",
        "Back: close the filter, clear marks, clear the filter",
        "View",
        show=False,
        key_display="esc",
        palette=False,
    ),
)

NAVIGATION: tuple[tuple[str, str], ...] = (
    ("↑/↓ k/j", "move in the list"),
    ("PgUp/PgDn", "page"),
    ("Home/End g/G", "first / last row"),
    ("tab", "next pane (tree, list, detail, analysis, log)"),
    ("ctrl+p", "command palette: every action, environment and drift item"),
    ("ctrl+q", "quit from anywhere"),
)


def main_bindings() -> list[Binding]:
    return [
        Binding(
            k.key,
            k.action,
            k.description,
            show=k.show,
            key_display=k.key_display,
            tooltip=k.help,
            id=k.id,
            priority=k.opens_text,
        )
        for k in KEYS
    ]


def key_for(action: str) -> KeySpec:
    for k in KEYS:
        if k.action == action:
            return k
    raise KeyError(action)
