"""The demo world: an embedded hub initialised like ``drifttui init``, one simulated cluster
per environment seeded from its units, and the seed's drift story, all offline.

``drifttui demo`` (TUI), ``demo --once`` and ``demo --headless`` and the TUI tests all build
the same :class:`DemoWorld`:

- hub: a fresh SQLite file (a temporary directory unless ``hub_path`` is given) with the
  chain ``demo-base -> demo-dev -> demo-staging -> demo-prod`` (``init_chain``), the demo's
  workloads imported into base and promoted down the chain;
- clusters: ``sim-dev``, ``sim-staging``, ``sim-prod``, each seeded (by server-side apply as
  ``confighub``) with its environment's units, as ``drifttui apply`` would;
- stories: the seed's story in prod (backend-api 3 -> 5, frontend-web 2 -> 1, an image, a
  ConfigMap key, a Secret, a label, a Service port, a deleted object) and a short one in dev.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drifttui.cluster.protocol import ScriptStep
from drifttui.cluster.sim import SimulatedCluster
from drifttui.cluster.story import DEMO_NAMESPACE, StoryPlayer, default_story, demo_manifests
from drifttui.config import Settings, load_settings
from drifttui.runtime import Runtime, build_runtime

log = logging.getLogger(__name__)

DEMO_PREFIX = "demo"
DEMO_ENVS = ("dev", "staging", "prod")


def dev_story(namespace: str = DEMO_NAMESPACE) -> list[ScriptStep]:
    """A short story for dev: a person scales frontend-web up and labels checkout-worker."""
    ns = namespace
    return [
        ScriptStep(
            8,
            "dev: frontend-web scaled 2 -> 3 by hand (kubectl scale)",
            lambda c: c.scale("Deployment", ns, "frontend-web", 3, manager="kubectl"),
        ),
        ScriptStep(
            18,
            "dev: label owner=alice added to checkout-worker (kubectl label)",
            lambda c: c.label("apps/v1", "Deployment", ns, "checkout-worker", {"owner": "alice"}),
        ),
    ]


@dataclass
class DemoWorld:
    runtime: Runtime
    clusters: dict[str, SimulatedCluster]
    players: dict[str, StoryPlayer]
    hub_path: Path
    tmpdir: Path | None = None
    story_log: list[str] = field(default_factory=list)

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    def start_story(self) -> None:
        for p in self.players.values():
            p.start()

    def advance_to_end(self) -> None:
        for p in self.players.values():
            p.advance_to_end()

    def advance_to(self, at_s: float) -> None:
        for p in self.players.values():
            p.advance_to(at_s)

    def close(self) -> None:
        for p in self.players.values():
            p.stop()
        self.runtime.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def build_demo(
    *,
    hub_path: Path | None = None,
    clock: Callable[[], float] = time.time,
    speed: float = 1.0,
    settings: Settings | None = None,
    read_only: bool = False,
    auto_fix: bool = False,
    stories: dict[str, Sequence[ScriptStep]] | None = None,
    on_story_step: Callable[[str, str], None] | None = None,
) -> DemoWorld:
    """Build the demo world (nothing runs until ``start_story`` or the watches start)."""
    from drifttui.hub.chain import discover_chain, execute_promotion, import_objects, init_chain
    from drifttui.hub.local import SqliteHub
    from drifttui.runtime import environments_for

    tmpdir: Path | None = None
    if hub_path is None:
        tmpdir = Path(tempfile.mkdtemp(prefix="drifttui-demo-"))
        hub_path = tmpdir / "hub.db"
    hub = SqliteHub(
        hub_path,
        author="drifttui-demo",
        clock=lambda: datetime.fromtimestamp(clock(), tz=UTC),  # revisions follow the demo clock
    )
    init_chain(hub, DEMO_PREFIX, DEMO_ENVS)
    chain = discover_chain(hub, DEMO_PREFIX)
    base = next(e for e in chain if e.is_base)
    import_objects(hub, base.space, demo_manifests(DEMO_NAMESPACE), "Import the shop's workloads")
    from drifttui.hub.chain import plan_promotion

    previous = base.space
    for env in [e for e in chain if not e.is_base]:
        plan = plan_promotion(hub, previous, env.space)
        execute_promotion(hub, plan, f"Promote {previous} -> {env.space}")
        previous = env.space

    base_settings = settings or load_settings(flags={"hub": str(hub_path)}, env={})
    if read_only:
        base_settings = replace(base_settings, read_only=True)
    envs = environments_for(
        replace(base_settings, environments_from_file=False, sources={}, auto_fix=auto_fix), hub
    )
    clusters: dict[str, SimulatedCluster] = {}
    for environment in envs:
        cluster = SimulatedCluster(f"sim-{environment.name}", namespace=DEMO_NAMESPACE, clock=clock)
        manifests = []
        for unit in hub.list_units(environment.space, with_data=True):
            if unit.labels.get("drifttui-requires") == "auto-fix" and not auto_fix:
                continue
            import yaml

            doc = yaml.safe_load(unit.data)
            if isinstance(doc, dict):
                manifests.append(doc)
                hub.mark_applied(environment.space, unit.slug, unit.head_revision)
        cluster.seed(_apply_order(manifests), manager="confighub")
        clusters[environment.name] = cluster

    runtime = build_runtime(base_settings, hub=hub, clusters=clusters, environments=envs)
    stories = (
        stories
        if stories is not None
        else {
            "prod": default_story(DEMO_NAMESPACE),
            "dev": dev_story(DEMO_NAMESPACE),
        }
    )
    world = DemoWorld(runtime, clusters, {}, hub_path, tmpdir)

    def note(env_name: str) -> Callable[[Any], None]:
        def on_step(played: Any) -> None:
            text = f"[{env_name}] {played.step.description}"
            if played.error:
                text += f" (failed: {played.error})"
            world.story_log.append(text)
            if on_story_step is not None:
                on_story_step(env_name, text)

        return on_step

    for env_name, steps in stories.items():
        if env_name in clusters:
            world.players[env_name] = StoryPlayer(
                clusters[env_name], list(steps), speed=speed, on_step=note(env_name)
            )
    return world


_KIND_ORDER = {
    "Namespace": 0,
    "ServiceAccount": 1,
    "Role": 2,
    "ClusterRole": 2,
    "RoleBinding": 3,
    "ClusterRoleBinding": 3,
    "ConfigMap": 4,
    "Secret": 4,
}


def _apply_order(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(manifests, key=lambda m: _KIND_ORDER.get(str(m.get("kind")), 9))
