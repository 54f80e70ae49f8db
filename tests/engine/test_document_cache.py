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


def test_the_embedded_hub_keeps_parsed_units_so_a_first_run_parses_no_yaml(
    tmp_path: Path,
) -> None:
    hub = SqliteHub(tmp_path / "hub.db")
    hub.create_space("s")
    hub.create_units("s", [(f"d{i}", deployment(f"d{i}", 2), {}) for i in range(4)])
    hub.create_unit("s", "creds", SECRET)
    hub.update_unit_data("s", "d1", deployment("d1", 5), "scale in the hub")
    hub.bulk_set_paths("Slug = 'd2'", {"spec.replicas": 9}, space="s")  # keeps no parse

    path = tmp_path / "documents.jsonl"
    cache = DocumentFileCache(path, stored=hub.stored_document)
    engine = snapshot(hub, cache)
    # every unit written with validated YAML came from the hub; d2's new text and the
    # Secret (never copied) were parsed
    assert (cache.stored_hits, cache.hits, cache.misses) == (3, 0, 2)
    plain = snapshot(hub, DocumentFileCache(tmp_path / "other.jsonl"))
    assert engine.store.items("dev") == plain.store.items("dev")
    replicas = {
        i.key.name: engine.desired_object("dev", i.key).get("spec", {}).get("replicas")
        for i in engine.store.items("dev")
    }
    assert replicas == {"d0": 2, "d1": 5, "d2": 9, "d3": 2, "creds": None}
    hub.close()


def test_the_hub_never_serves_a_parse_of_other_text_and_never_keeps_a_secret(
    tmp_path: Path,
) -> None:
    from drifttui.hub.documents import data_hash

    hub = SqliteHub(tmp_path / "hub.db")
    hub.create_space("s")
    hub.create_unit("s", "web", deployment("web", 2))
    hub.create_unit("s", "creds", SECRET)
    hub.update_unit_data("s", "web", deployment("web", 3), "scale")
    units = {u.slug: u for u in hub.list_units("s", with_data=True)}
    obj = hub.stored_document(data_hash(units["web"].data))
    assert obj == yaml.safe_load(units["web"].data)
    assert hub.stored_document(data_hash(units["web"].data)) is None  # handed out once
    assert hub.stored_document(data_hash(deployment("web", 2))) is None  # not listed now
    assert hub.stored_document(data_hash(units["creds"].data)) is None
    hub.close()
    raw = (tmp_path / "hub.db").read_bytes()
    assert raw.count(b"hunter2-do-not-cache") >= 1  # the unit's own data, nothing more
    assert b'"hunter2-do-not-cache"' not in raw  # no JSON copy


def test_a_hub_file_from_before_the_parsed_documents_opens_and_fills_in(tmp_path: Path) -> None:
    import sqlite3

    from drifttui.hub.documents import data_hash

    path = tmp_path / "hub.db"
    hub = SqliteHub(path)
    hub.create_space("s")
    hub.create_unit("s", "old", deployment("old", 2))
    hub.close()
    raw = sqlite3.connect(path)
    raw.execute("ALTER TABLE units DROP COLUMN parsed_json")
    raw.execute("ALTER TABLE units DROP COLUMN parsed_hash")
    raw.commit()
    raw.close()

    hub = SqliteHub(path)
    hub.create_unit("s", "new", deployment("new", 3))
    units = {u.slug: u for u in hub.list_units("s", with_data=True)}
    assert hub.stored_document(data_hash(units["old"].data)) is None  # parsed as before
    assert hub.stored_document(data_hash(units["new"].data)) is not None
    cache = DocumentFileCache(tmp_path / "documents.jsonl", stored=hub.stored_document)
    engine = snapshot(hub, cache)
    assert (cache.stored_hits, cache.misses) == (1, 1)
    assert len(engine.store.items("dev")) == 2
    hub.close()
