"""What the hub commands share: settings and hub from argparse, tables, JSON, confirmation.

Imported only inside the commands' ``run`` (start-up stays light).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from drifttui.errors import InputError


@contextmanager
def hub_from_args(
    args: argparse.Namespace, *, must_exist: bool = False
) -> Iterator[tuple[Any, Any]]:
    """(settings, hub) for a command; settings warnings go to stderr once; the hub is closed
    afterwards. ``must_exist``: an embedded hub file that is not there is an error (a
    mistyped --hub would otherwise be created, empty, and listed as "nothing")."""
    from drifttui.config import settings_from_args
    from drifttui.errors import ConfigError
    from drifttui.hub import open_hub

    settings = settings_from_args(args)
    for w in settings.warnings:
        print(f"drifttui: warning: {w}", file=sys.stderr)
    if must_exist and settings.uses_embedded_hub and not settings.hub_path.exists():
        raise ConfigError(
            "no hub database here",
            str(settings.hub_path),
            "create one with: drifttui init (or check --hub / DRIFTTUI_HUB)",
        )
    hub = open_hub(settings)
    try:
        yield settings, hub
    finally:
        hub.close()


def print_json(data: Any, out: TextIO | None = None) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str), file=out or sys.stdout)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO | None = None
) -> None:
    """Plain aligned columns, upper-case headers (``cub``'s style); no colour."""
    out = out or sys.stdout
    cells = [[("" if c is None else str(c)) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()
    print(line, file=out)
    for r in cells:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip(), file=out)


def print_listing(
    output: str,
    items: Iterable[Any],
    as_json: Callable[[Any], Any],
    headers: Sequence[str],
    as_row: Callable[[Any], Sequence[Any]],
) -> int:
    """A listing: JSON objects (``--output json``) or a table; returns exit code 0."""
    if output == "json":
        print_json([as_json(i) for i in items])
    else:
        print_table(headers, [as_row(i) for i in items])
    return 0


def confirm(question: str, *, assume_yes: bool, typed: str | None = None) -> bool:
    """Ask on the terminal. Without a terminal and without ``--yes``: a clear InputError.
    ``typed`` makes the operator type that word (production targets) instead of y/N."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise InputError(
            "stdin is not a terminal, so nobody can confirm",
            None,
            "pass --yes to go ahead without asking",
        )
    if typed:
        answer = input(f"{question} Type {typed!r} to confirm: ").strip()
        return answer == typed
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def resolve_space_arg(hub: Any, settings: Any, name: str) -> str:
    """The space slug ``name`` (typed on the command line) stands for: an environment of the
    environments file, a space slug, or an environment of a chain on the hub."""
    from drifttui.hub.chain import resolve_space

    envs = settings.environments if settings.environments_from_file else ()
    return resolve_space(hub, name, envs)


def confirm_write(hub: Any, space: str, question: str, *, assume_yes: bool, typed: str) -> bool:
    """:func:`confirm` a write into ``space``; a production space makes the operator type
    ``typed`` instead of y/N."""
    from drifttui.hub.chain import PRODUCTION_LABEL

    production = hub.get_space(space).labels.get(PRODUCTION_LABEL) == "true"
    return confirm(question, assume_yes=assume_yes, typed=typed if production else None)


def unit_status(unit: Any) -> str:
    """``cub``-style STATUS: NoLive (never applied), Applied, or Unapplied."""
    if not unit.applied_revision:
        return "NoLive"
    return "Applied" if unit.applied_revision == unit.head_revision else "Unapplied"


def yes_no(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")
