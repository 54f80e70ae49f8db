"""What ``drifttui --once`` and ``drifttui demo --once`` share: take the snapshot, add the
analyst's verdicts, write every requested output, choose the exit code.

Imported only inside ``run`` (heavy imports allowed here).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from drifttui.config import Settings
from drifttui.core.models import DriftItem
from drifttui.engine import Engine
from drifttui.report import Report, parse_outputs, use_color, write_outputs
from drifttui.snapshot import engine_report

if TYPE_CHECKING:
    from drifttui.analysis.protocol import Analysis

log = logging.getLogger("drifttui")


def exit_code(report: Report, detailed: bool) -> int:
    """0 clean, 1 drift, 2 error; ``--detailed-exitcode``: Terraform's 0 clean, 2 drift,
    1 error."""
    code = report.exit_code
    if detailed:
        return {0: 0, 1: 2, 2: 1}[code]
    return code


def take_snapshot(engine: Engine, envs: Sequence[str], *, progress: bool) -> None:
    """Load desired and list live for every environment (a rich progress bar on a tty)."""
    if not progress or not sys.stderr.isatty():
        for env in envs:
            engine.snapshot_environment(env)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading environments", total=len(envs))
        for env in envs:
            bar.update(task, description=f"reading {env}")
            engine.snapshot_environment(env)
            bar.advance(task)


def analyze(engine: Engine, settings: Settings, envs: Sequence[str]) -> Analysis:
    return analyze_items(settings, [i for env in envs for i in engine.store.drifted(env)])


def analyze_items(settings: Settings, items: Sequence[DriftItem]) -> Analysis:
    """Verdicts for ``items`` (Claude with a key, else offline), logged in the seed's style."""
    from drifttui.analysis import summary_line
    from drifttui.runtime import build_analyst

    analysis = build_analyst(settings).analyze(items)
    log.info("%s", summary_line(analysis))
    for note in analysis.notes:
        log.info("analysis: %s", note)
    return analysis


def write_report(
    args: argparse.Namespace, engine: Engine, settings: Settings, envs: Sequence[str]
) -> int:
    outputs = parse_outputs(getattr(args, "output", None))
    analysis = analyze(engine, settings, envs) if getattr(args, "analyze", False) else None
    report = engine_report(engine, envs, analysis=analysis)
    write_outputs(report, outputs, sys.stdout, analysis=analysis, color=use_color(sys.stdout))
    for env in report.environments:
        if env.error:
            print(f"drifttui: error: {env.name}: {env.error}", file=sys.stderr)
    return exit_code(report, bool(getattr(args, "detailed_exitcode", False)))
