"""Scripted drift for the simulated cluster: the demo's workloads and the seed's story.

``demo_manifests(namespace)`` loads the demo's desired state (package data in
``drifttui/manifests/demo/``). ``default_story(namespace)`` is the seed's story as timed
steps, each what a person (or a controller) does at a terminal:

====  ======================================================================
 5 s  backend-api scaled 3 -> 5 by hand (``kubectl scale``)
10 s  frontend-web scaled 2 -> 1 by hand (``kubectl scale``)
15 s  the HPA scales checkout-worker 2 -> 4 (a controller: not drift)
20 s  frontend-web's image changed by hand (``kubectl set image``)
25 s  ConfigMap app-config: LOG_LEVEL info -> debug (``kubectl edit``)
30 s  Secret api-credentials: DATABASE_PASSWORD rotated by hand (``kubectl patch``)
35 s  label debug=true added to backend-api (``kubectl label``)
40 s  Service backend-api: targetPort 8080 -> 9090 (``kubectl edit``)
45 s  ConfigMap feature-flags deleted (``kubectl delete``)
====  ======================================================================

:class:`StoryPlayer` runs the steps on a timer thread scaled by ``speed`` (``speed=10``:
the whole story in 4.5 s), or all at once with ``advance_to_end()`` for ``demo --once``
and tests. A step that fails (the object was fixed or deleted meanwhile) is recorded and
the story goes on.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from drifttui.cluster.protocol import JSONObject, ScriptStep
from drifttui.cluster.sim import SimulatedCluster

log = logging.getLogger(__name__)

__all__ = [
    "DEMO_NAMESPACE",
    "StoryPlayer",
    "default_story",
    "demo_cluster",
    "demo_manifests",
]

DEMO_NAMESPACE = "drift-test"
"""Where the seed's demo runs its workloads."""

ROTATED_PASSWORD = base64.b64encode(b"rotated-by-hand-0915").decode()


def demo_manifests(namespace: str | None = DEMO_NAMESPACE) -> list[JSONObject]:
    """The demo's desired manifests, in a stable order, with ``namespace`` filled in
    (None: leave them without one)."""
    import yaml

    folder = resources.files("drifttui").joinpath("manifests", "demo")
    out: list[JSONObject] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(entry.read_text(encoding="utf-8")):
            if not isinstance(doc, dict):
                continue
            if namespace is not None:
                doc.setdefault("metadata", {})["namespace"] = namespace
            out.append(doc)
    return out


def default_story(namespace: str = DEMO_NAMESPACE) -> list[ScriptStep]:
    """The seed's story in ``namespace`` (see the module docstring)."""
    ns = namespace

    def scale(name: str, replicas: int, manager: str = "kubectl") -> Callable[[Any], None]:
        return lambda c: c.scale("Deployment", ns, name, replicas, manager=manager)

    return [
        ScriptStep(5, "backend-api scaled 3 -> 5 by hand (kubectl scale)", scale("backend-api", 5)),
        ScriptStep(
            10, "frontend-web scaled 2 -> 1 by hand (kubectl scale)", scale("frontend-web", 1)
        ),
        ScriptStep(
            15,
            "the HPA scales checkout-worker 2 -> 4 (kube-controller-manager): not drift",
            scale("checkout-worker", 4, "kube-controller-manager"),
        ),
        ScriptStep(
            20,
            "frontend-web image changed to 2.5.0-rc.1 by hand (kubectl set image)",
            lambda c: c.set_image(
                "Deployment", ns, "frontend-web", "web", "ghcr.io/acme-shop/frontend-web:2.5.0-rc.1"
            ),
        ),
        ScriptStep(
            25,
            "ConfigMap app-config: LOG_LEVEL info -> debug (kubectl edit)",
            lambda c: c.edit("v1", "ConfigMap", ns, "app-config", {"data": {"LOG_LEVEL": "debug"}}),
        ),
        ScriptStep(
            30,
            "Secret api-credentials: DATABASE_PASSWORD rotated by hand (kubectl patch)",
            lambda c: c.edit(
                "v1",
                "Secret",
                ns,
                "api-credentials",
                {"data": {"DATABASE_PASSWORD": ROTATED_PASSWORD}},
                manager="kubectl-patch",
            ),
        ),
        ScriptStep(
            35,
            "label debug=true added to backend-api (kubectl label)",
            lambda c: c.label("apps/v1", "Deployment", ns, "backend-api", {"debug": "true"}),
        ),
        ScriptStep(
            40,
            "Service backend-api: targetPort 8080 -> 9090 (kubectl edit)",
            lambda c: c.server.json_patch(
                "v1",
                "Service",
                ns,
                "backend-api",
                [
                    {"op": "test", "path": "/spec/ports/0/name", "value": "http"},
                    {"op": "replace", "path": "/spec/ports/0/targetPort", "value": 9090},
                ],
                manager="kubectl-edit",
            ),
        ),
        ScriptStep(
            45,
            "ConfigMap feature-flags deleted (kubectl delete)",
            lambda c: c.delete("v1", "ConfigMap", ns, "feature-flags"),
        ),
    ]


def demo_cluster(
    namespace: str = DEMO_NAMESPACE,
    *,
    clock: Callable[[], float] = time.time,
    name: str = "demo",
    **kwargs: Any,
) -> SimulatedCluster:
    """A simulated cluster seeded with the demo's workloads (by ``confighub``), before the
    story. ``kwargs`` go to SimulatedCluster (settings, bookmark_interval_s, ...)."""
    cluster = SimulatedCluster(name, namespace=namespace, clock=clock, **kwargs)
    cluster.seed(demo_manifests(namespace), manager="confighub")
    return cluster


@dataclass(frozen=True, slots=True)
class PlayedStep:
    step: ScriptStep
    error: str | None = None


class StoryPlayer:
    """Plays ``steps`` against ``cluster``: on a timer (``start``) or at once
    (``advance_to_end``). Thread-safe; each step runs once, in order.

    ``on_step`` is called after each step (from the thread that ran it) with what happened,
    for the demo's log panel.
    """

    def __init__(
        self,
        cluster: SimulatedCluster,
        steps: Sequence[ScriptStep] | None = None,
        *,
        speed: float = 1.0,
        on_step: Callable[[PlayedStep], None] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.cluster = cluster
        self.steps = sorted(
            steps if steps is not None else default_story(cluster.namespace), key=lambda s: s.at_s
        )
        self.speed = speed
        self.on_step = on_step
        self.played: list[PlayedStep] = []
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_done(self) -> bool:
        with self._lock:
            return self._next >= len(self.steps)

    @property
    def remaining(self) -> list[ScriptStep]:
        with self._lock:
            return list(self.steps[self._next :])

    def _play_next(self) -> PlayedStep | None:
        with self._lock:
            if self._next >= len(self.steps):
                return None
            step = self.steps[self._next]
            self._next += 1
            try:
                step.action(self.cluster)
                played = PlayedStep(step)
            except Exception as exc:  # the object was fixed or deleted meanwhile
                log.warning("story step %r failed: %s", step.description, exc)
                played = PlayedStep(step, str(exc) or type(exc).__name__)
            self.played.append(played)
        if self.on_step is not None:
            self.on_step(played)
        return played

    def advance_to(self, at_s: float) -> list[PlayedStep]:
        """Play every remaining step due at or before ``at_s`` (story seconds)."""
        out: list[PlayedStep] = []
        while True:
            with self._lock:
                due = self._next < len(self.steps) and self.steps[self._next].at_s <= at_s
            if not due:
                return out
            played = self._play_next()
            if played is not None:
                out.append(played)

    def advance_to_end(self) -> list[PlayedStep]:
        """Play every remaining step now (deterministic: for ``demo --once`` and tests)."""
        return self.advance_to(float("inf"))

    def start(self) -> None:
        """Play the remaining steps on a timer thread, ``at_s / speed`` seconds from now."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="drift-story", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        for step in self.remaining:
            delay = started + step.at_s / self.speed - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            self.advance_to(step.at_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
