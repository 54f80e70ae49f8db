"""Wiring: settings -> hub, environments, clusters, engine, remediator, records, analyst.

The CLI commands, the headless service and the TUI build the same :class:`Runtime`, so they
see the same environments and the same drift. Which environments:

1. a config file's ``environments`` (``--config``), else
2. one environment from ``CUB_SPACE``/``NAMESPACE`` when either is set, else
3. the environment chain found on the hub (``drifttui init``): every environment but base,
   else
4. the seed's defaults (``CUB_SPACE=acorn-bear-qa``, ``NAMESPACE=qa``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from drifttui.config import Settings, data_dir
from drifttui.core.models import Environment
from drifttui.errors import DrifttuiError, NotFoundError

if TYPE_CHECKING:
    from drifttui.analysis.protocol import Analyst
    from drifttui.cluster.protocol import Cluster
    from drifttui.engine import Engine
    from drifttui.hub.protocol import Hub
    from drifttui.hub.records import DriftRecords
    from drifttui.remediation import Remediator

log = logging.getLogger(__name__)


def environments_for(settings: Settings, hub: Hub) -> tuple[Environment, ...]:
    """The environments to watch, by the precedence in the module doc."""
    if settings.environments_from_file:
        return settings.environments
    explicit = any(settings.sources.get(k, "default") != "default" for k in ("space", "namespace"))
    if explicit:
        return settings.environments
    from drifttui.hub.chain import discover_chain

    chain = [e for e in discover_chain(hub) if not e.is_base]
    prefixes = sorted({e.chain for e in chain})
    if len(prefixes) > 1:
        log.info("several chains on the hub (%s); watching %s", ", ".join(prefixes), prefixes[0])
    if chain:
        by_space = {e.space: e for e in chain}
        envs = []
        for e in chain:
            if e.chain != prefixes[0]:
                continue
            upstream = by_space.get(e.upstream or "")
            envs.append(
                Environment(
                    name=e.name,
                    space=e.space,
                    namespace=None,
                    production=e.production,
                    accent="red" if e.production else None,
                    read_only=settings.read_only,
                    auto_fix=settings.auto_fix,
                    upstream=upstream.name if upstream else None,
                )
            )
        return tuple(envs)
    return settings.environments


def records_for(hub: Hub, environments: Sequence[Environment]) -> DriftRecords | None:
    """The drift-records store of the chain the environments belong to, if there is one."""
    for env in environments:
        try:
            labels = hub.get_space(env.space).labels
        except NotFoundError:
            continue
        if not labels:  # no chain (and nothing of the chain module to import)
            continue
        from drifttui.hub.chain import CHAIN_LABEL

        chain = labels.get(CHAIN_LABEL)
        if not chain:
            continue
        from drifttui.hub.records import DriftRecords

        space = f"{chain}-drift-records"
        try:
            hub.get_space(space)
        except NotFoundError:
            continue
        return DriftRecords(hub, space)
    return None


def build_analyst(settings: Settings) -> Analyst:
    from drifttui.analysis import build_analyst as _build

    key = settings.claude_api_key.reveal() if settings.claude_api_key else None
    secrets = [s.reveal() for s in (settings.cub_token, settings.claude_api_key) if s]
    return _build(
        key,
        settings.claude_model,
        cache_dir=data_dir() / "cache",
        environments=settings.environments,
        prices=settings.prices,
        known_secrets=secrets,
    )


@dataclass
class Runtime:
    settings: Settings
    hub: Hub
    environments: tuple[Environment, ...]
    clusters: Mapping[str, Cluster]
    engine: Engine
    records: DriftRecords | None
    _remediator: Remediator | None = field(default=None, repr=False)

    @property
    def remediator(self) -> Remediator:
        """The engine's remediator, built on first use (``--once`` writes nothing and does
        not load the correction planner)."""
        if self._remediator is None:
            from drifttui.remediation import Remediator

            self._remediator = Remediator(
                self.engine, records=self.records, read_only=self.settings.read_only
            )
        return self._remediator

    def close(self) -> None:
        for c in self.clusters.values():
            close = getattr(c, "close", None)
            if callable(close):
                close()
        self.hub.close()
        cache = self.engine.document_cache
        save = getattr(cache, "save", None)
        if callable(save):
            save()


def build_runtime(
    settings: Settings,
    *,
    env_names: Sequence[str] | None = None,
    hub: Hub | None = None,
    clusters: Mapping[str, Cluster] | None = None,
    environments: Sequence[Environment] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Runtime:
    """Everything a face needs. ``hub``/``clusters``/``environments`` override the defaults
    (the demo passes its own)."""
    from drifttui.core.ignore import compile_rules
    from drifttui.document_cache import FILE_NAME, DocumentFileCache
    from drifttui.engine import Engine
    from drifttui.hub import open_hub

    for warning in settings.warnings:
        log.warning("%s", warning)
    hub = hub or open_hub(settings)
    envs = tuple(environments) if environments is not None else environments_for(settings, hub)
    if settings.read_only:
        envs = tuple(replace(e, read_only=True) for e in envs)
    if env_names:
        wanted = set(env_names)
        unknown = wanted - {e.name for e in envs} - {e.space for e in envs}
        if unknown:
            known = ", ".join(e.name for e in envs)
            raise DrifttuiError(
                f"no environment named {', '.join(sorted(unknown))}", "--env", f"known: {known}"
            )
        envs = tuple(e for e in envs if e.name in wanted or e.space in wanted)
    if clusters is None:
        from drifttui.cluster.kube import KubeCluster

        clusters = {e.name: KubeCluster.from_environment(e, settings) for e in envs}
    engine = Engine(
        environments=envs,
        hub=hub,
        clusters=clusters,
        ignore_rules=compile_rules(list(settings.ignore_rules)),
        prices=settings.prices,
        document_cache=DocumentFileCache(
            data_dir() / "cache" / FILE_NAME,
            stored=getattr(hub, "stored_document", None),  # the embedded hub's parsed units
        ),
    )
    records = records_for(hub, envs)
    return Runtime(settings, hub, envs, clusters, engine, records)


def auto_fix_selector(runtime: Runtime) -> Any:
    """``(env, item) -> bool``: does the chain's ``auto-correctable`` filter select the drift
    record of ``item``? None when there are no drift records (the classifier alone decides).
    The record is written first (idempotent), so the filter sees the current labels."""
    records = runtime.records
    if records is None:
        return None
    from drifttui.hub.records import record_slug

    suffix = "-drift-records"
    chain = records.space[: -len(suffix)] if records.space.endswith(suffix) else records.space
    filters_space = f"{chain}-filters"
    hub = runtime.hub

    def selected(env: str, item: Any) -> bool:
        records.open_or_update(env, item)
        try:
            units = hub.evaluate_filter(filters_space, "auto-correctable")
        except NotFoundError:
            log.warning("no auto-correctable filter in %s: auto-fix skipped", filters_space)
            return False
        return record_slug(env, item.key) in {u.slug for u in units}

    return selected
