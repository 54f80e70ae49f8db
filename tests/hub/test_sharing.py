"""One hub file shared by several writers (a TUI and a headless watcher): no write is lost,
stale writes are refused, readers are never blocked into errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from drifttui.errors import ConflictError
from drifttui.hub.local import SqliteHub
from tests.hub.conftest import deployment
from tests.support import ROOT


def test_threads_on_two_handles_lose_no_label_write(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    a, b = SqliteHub(path, author="tui"), SqliteHub(path, author="watcher")
    a.create_space("s")
    a.create_unit("s", "u", deployment())
    errors: list[BaseException] = []

    def writer(hub: SqliteHub, prefix: str) -> None:
        try:
            for i in range(40):
                hub.update_unit_labels("s", "u", {f"{prefix}{i}": "x"})
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(h, p))
        for h, p in ((a, "a"), (b, "b"), (a, "c"), (b, "d"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    labels = a.get_unit("s", "u").labels
    assert len(labels) == 160
    assert a.get_unit("s", "u").version == 161
    a.close()
    b.close()


def test_concurrent_conditional_writes_let_exactly_one_win(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    hubs = [SqliteHub(path, author=f"w{i}") for i in range(4)]
    hubs[0].create_space("s")
    first = hubs[0].create_unit("s", "u", deployment())
    results: list[str] = []
    barrier = threading.Barrier(4)

    def write(i: int) -> None:
        barrier.wait()
        try:
            hubs[i].update_unit_data(
                "s", "u", deployment(replicas=10 + i), f"w{i}", if_match=first.data_hash
            )
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "conflict", "conflict", "ok"]
    revs = hubs[0].list_revisions("s", "u")
    assert [r.num for r in revs] == [1, 2]
    winner = revs[-1].description
    assert yaml.safe_load(hubs[0].get_unit_data("s", "u"))["spec"]["replicas"] == 10 + int(
        winner[1:]
    )
    for h in hubs:
        h.close()


_WRITER = """
import sys
from drifttui.hub.local import SqliteHub
hub = SqliteHub(sys.argv[1], author=sys.argv[2])
for i in range(30):
    hub.update_unit_labels("s", "u", {f"{sys.argv[2]}-{i}": "1"})
hub.close()
"""


@pytest.mark.slow
def test_processes_sharing_a_file_lose_no_write(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    hub = SqliteHub(path)
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name],
            env={"PYTHONPATH": str(ROOT)},
        )
        for name in ("tui", "watcher", "ci")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert len(hub.get_unit("s", "u").labels) == 90
    audit = hub.list_audit("s", limit=200)
    assert {e.author for e in audit if e.description == "labels"} == {"tui", "watcher", "ci"}
    hub.close()


def test_readers_work_while_a_writer_holds_a_transaction(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    writer = SqliteHub(path)
    writer.create_space("s")
    writer.create_unit("s", "u", deployment())
    reader = SqliteHub(path)
    other = sqlite3.connect(path, isolation_level=None)  # another process mid-write
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE units SET last_change_description = 'in flight'")
    assert reader.get_unit("s", "u").last_change_description == ""  # WAL: last commit
    assert len(reader.list_units("s")) == 1
    other.execute("COMMIT")
    other.close()
    assert reader.get_unit("s", "u").last_change_description == "in flight"
    writer.close()
    reader.close()


def test_closing_the_hub_never_pulls_a_connection_from_under_another_thread(
    tmp_path: Path,
) -> None:
    """The TUI closes the hub as it quits while a worker may still be writing drift
    records: the worker's statements finish (or it reopens), nothing fails or crashes."""
    hub = SqliteHub(tmp_path / "hub.db")
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    errors: list[BaseException] = []
    done = threading.Event()

    def worker() -> None:
        try:
            for i in range(150):
                hub.update_unit_labels("s", "u", {f"k{i}": "x"})
                hub.list_units("s", with_data=True)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    closes = 0
    while not done.is_set():
        hub.close()  # from this thread, as the app does on quit
        closes += 1
    thread.join()
    assert errors == []
    assert closes > 1
    assert len(hub.get_unit("s", "u").labels) == 150
    hub.close()
