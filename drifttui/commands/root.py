"""``drifttui`` without a subcommand: the TUI, or with ``--once`` a snapshot report."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drifttui.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass  # the root parser's own options (cli.snapshot_options)


def run(args: argparse.Namespace) -> int:
    from drifttui.config import settings_from_args

    settings = settings_from_args(args)
    if getattr(args, "once", False):
        return run_once(args, settings)
    return run_tui(args, settings)


def run_once(args: argparse.Namespace, settings: object) -> int:
    """The ``--once`` command; the last thing its process does (see the end)."""
    import gc

    from drifttui.cluster.store import gc_paused
    from drifttui.config import Settings
    from drifttui.logs import setup_logging

    assert isinstance(settings, Settings)
    secrets = [s.reveal() for s in (settings.cub_token, settings.claude_api_key) if s]
    setup_logging(settings.log_format, verbose=settings.verbose, secrets=secrets)
    # One snapshot, then exit: the cyclic collector would only rescan, again and again, the
    # hundreds of thousands of containers a large snapshot holds (a third of the run at
    # 5,000 objects), and would find almost nothing to free. The snapshot is dropped before
    # the collector resumes, and what is left (the modules) is frozen: the process ends
    # now, and the interpreter's last collection need not walk every module's objects
    # again (40 ms of a run that should take 500).
    with gc_paused():
        code = _snapshot_and_report(args, settings)
        gc.freeze()
    return code


def _snapshot_and_report(args: argparse.Namespace, settings: Settings) -> int:
    from drifttui.commands._once import take_snapshot, write_report
    from drifttui.runtime import build_runtime

    runtime = build_runtime(settings, env_names=args.env)
    try:
        names = [e.name for e in runtime.environments]
        take_snapshot(runtime.engine, names, progress=True)
        return write_report(args, runtime.engine, settings, names)
    finally:
        runtime.close()


def run_tui(args: argparse.Namespace, settings: object) -> int:
    from drifttui.config import Settings
    from drifttui.errors import DrifttuiError

    assert isinstance(settings, Settings)

    try:
        from drifttui.tui.app import run_configured  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise DrifttuiError(
            "the TUI is not available in this build", hint="use --once or a subcommand"
        ) from None
    return int(run_configured(args, settings))
