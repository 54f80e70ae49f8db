"""The parsed-document cache: a second run parses no unchanged unit, never serves a changed
one stale, never writes a Secret's values to disk, and shrugs off a damaged file."""

from __future__ import annotations

from pathlib import Path

import yaml

from drifttui.cluster.sim import SimulatedCluster
from drifttui.core.models import Environment
from drifttui.document_cache import DocumentFileCache
from drifttui.engine import Engine
from drifttui.hub.local import SqliteHub

NS = "shop"


def deployment(name: str, replicas: int) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]},
                },
            },
        }
    )


SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: hunter2-do-not-cache}
"""


def snapshot(hub: SqliteHub, cache: DocumentFileCache) -> Engine:
    cluster = SimulatedCluster("c", namespace=NS)
    for unit in hub.list_units("s", with_data=True):
        cluster.seed([yaml.safe_load(unit.data)])
    engine = Engine(
        environments=[Environment(name="dev", space="s", namespace=NS)],
        hub=hub,
        clusters={"dev": cluster},
        document_cache=cache,
    )
    engine.snapshot_environment("dev")
    return engine


def test_a_second_run_parses_no_unchanged_unit_and_never_a_changed_one_stale(
    tmp_path: Path,
) -> None:
    hub = SqliteHub(tmp_path / "hub.db")
    hub.create_space("s")
    hub.create_units("s", [(f"d{i}", deployment(f"d{i}", 2), {}) for i in range(5)])
    path = tmp_path / "cache" / "documents.jsonl"
    first = DocumentFileCache(path)
    engine = snapshot(hub, first)
    first.save()
    assert (first.hits, first.misses) == (0, 5)
    assert len(engine.store.items("dev")) == 5

    hub.update_unit_data("s", "d3", deployment("d3", 7), "scale in the hub")
    second = DocumentFileCache(path)
    engine = snapshot(hub, second)
    assert (second.hits, second.misses) == (4, 1)
    assert engine.desired_object("dev", engine.store.items("dev")[3].key)["spec"]["replicas"] == 7
    assert all(i.namespace == NS for i in (it.key for it in engine.store.items("dev")))
    hub.close()


def test_secrets_never_reach_the_cache_file(tmp_path: Path) -> None:
    hub = SqliteHub(tmp_path / "hub.db")
    hub.create_space("s")
    hub.create_unit("s", "creds", SECRET)
    hub.create_unit("s", "web", deployment("web", 2))
    path = tmp_path / "documents.jsonl"
    cache = DocumentFileCache(path)
    snapshot(hub, cache)
    cache.save()
    text = path.read_text()
    assert "hunter2" not in text
    assert '"web"' in text
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    hub.close()


def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    hub = SqliteHub(tmp_path / "hub.db")
    hub.create_space("s")
    hub.create_unit("s", "web", deployment("web", 2))
    path = tmp_path / "documents.jsonl"
    path.write_bytes(b"drifttui documents v1\n" + b"\xff\xfe not utf-8 \x00\n")
    cache = DocumentFileCache(path)
    engine = snapshot(hub, cache)
    assert len(engine.store.items("dev")) == 1
    cache.save()
    again = DocumentFileCache(path)
    snapshot(hub, again)
    assert (again.hits, again.misses) == (1, 0)
    hub.close()
