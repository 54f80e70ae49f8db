"""From the engine's store to a :class:`~drifttui.report.Report` (``--once``, ``/drift``).

Unit documents that could not be parsed and environments that could not be read become
error states, never clean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from drifttui.core.diff import error_item
from drifttui.core.models import ResourceKey
from drifttui.engine import Engine
from drifttui.report import EnvironmentReport, Report

if TYPE_CHECKING:
    from drifttui.analysis.protocol import Analysis


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def environment_report(engine: Engine, env: str) -> EnvironmentReport:
    st = engine.state(env)
    items = list(engine.store.items(env))
    for slug, message in sorted(engine.unit_errors(env).items()):
        items.append(error_item(ResourceKey("", "Unit", st.env.space, slug), "", message, env))
    return EnvironmentReport(
        name=env,
        space=st.env.space,
        cluster=engine.clusters[env].name,
        namespace=st.env.namespace,
        items=tuple(items),
        error=engine.environment_error(env),
    )


def engine_report(
    engine: Engine,
    envs: Sequence[str] | None = None,
    *,
    generated_at: str | None = None,
    analysis: Analysis | None = None,
) -> Report:
    names = list(envs) if envs else list(engine.states)
    return Report(
        generated_at=generated_at or utc_now_iso(),
        environments=tuple(environment_report(engine, n) for n in names),
        analysis=analysis,
    )
