"""Fixtures for the hub suites: every contract test runs against both implementations.

``hub`` is parametrized like harlequin's ``all_adapters``: ``embedded`` is a SqliteHub on a
temporary file; ``http`` is the ConfigHubClient talking to ``hub serve`` (the real ASGI app
on uvicorn, in a background thread, on a free port of 127.0.0.1) over that same kind of
file. ``backing`` is the SqliteHub underneath either, for fast seeding (paging tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drifttui.core import models as m
from drifttui.hub.http import ConfigHubClient
from drifttui.hub.local import SqliteHub
from drifttui.hub.protocol import Hub
from drifttui.hub.server import ServerThread, create_app

TOKEN = "test-token-5f2c9a7e"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: {image}
"""


def deployment(name: str = "backend-api", replicas: int = 3, image: str = "nginx:1.25") -> str:
    return DEPLOYMENT.format(name=name, replicas=replicas, image=image)


def replicas_drift(
    name: str,
    live: int,
    *,
    attribution: m.Attribution | None = None,
    autofix: bool = True,
    **placement: str,
) -> m.DriftItem:
    """Deployment ``shop/<name>`` running ``live`` replicas instead of 3; ``placement``:
    the item's environment, or its unit and space."""
    return m.DriftItem(
        key=m.ResourceKey("apps", "Deployment", "shop", name),
        api_version="apps/v1",
        status=m.ResourceStatus.DRIFTED,
        fields=(
            m.FieldDrift(
                path=("spec", "replicas"),
                change=m.Change.CHANGED,
                desired=3,
                live=live,
                category=m.Category.REPLICAS,
                severity=m.Severity.MEDIUM,
                attribution=attribution,
                safe_to_autofix=autofix,
            ),
        ),
        **placement,
    )


@dataclass
class Served:
    """``hub serve`` on a background thread with a client pointed at it."""

    backing: SqliteHub
    server: ServerThread
    client: ConfigHubClient

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.backing.close()


def serve(path: Path, *, author: str = "tester", **client_kw: object) -> Served:
    backing = SqliteHub(path, author="server")
    server = ServerThread(create_app(backing, TOKEN))
    url = server.start()
    client = ConfigHubClient(url, TOKEN, author=author, **client_kw)  # type: ignore[arg-type]
    return Served(backing, server, client)


@dataclass
class HubUnderTest:
    kind: str
    hub: Hub
    backing: SqliteHub


@pytest.fixture(params=["embedded", "http"])
def hut(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubUnderTest]:
    if request.param == "embedded":
        h = SqliteHub(tmp_path / "hub.db", author="tester")
        yield HubUnderTest("embedded", h, h)
        h.close()
    else:
        s = serve(tmp_path / "hub.db")
        yield HubUnderTest("http", s.client, s.backing)
        s.close()


@pytest.fixture
def hub(hut: HubUnderTest) -> Hub:
    return hut.hub


@pytest.fixture
def chain(hub: Hub) -> Hub:
    """Spaces base -> dev -> stg with one Deployment unit in base cloned down."""
    for s in ("base", "dev", "stg"):
        hub.create_space(s, {"tier": s})
    hub.create_unit("base", "backend-api", deployment(), labels={"tier": "critical"})
    hub.clone_unit("base", "backend-api", "dev")
    hub.clone_unit("dev", "backend-api", "stg")
    return hub
