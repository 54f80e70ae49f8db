"""Benchmark: ``drifttui --once -o json`` as a whole process against N Deployments over HTTP.

The world: an embedded hub file with N units (realistic Deployments: two containers, env,
probes, resources, volumes) in one environment space, and an API server holding the same N
objects as ConfigHub's server-side apply leaves them (server defaults, managedFields with
fieldsV1 for manager ``confighub``, status), about 2% of them scaled by ``kubectl`` (drift).
A kubeconfig points at the server; ``drifttui --once -o json`` runs in a subprocess, timed
from spawn to exit (start-up, hub read, paged LISTs, diff, report), with its own peak RSS
(``os.wait4``). The report is checked: N resources, exactly the drifted ones.

Two servers, so what is ours is told apart from what is the test server's:

- ``emulator``: the kmock-based emulator the tests use (aiohttp, in this process, one core
  of its own at most: it shares the machine's 2 cores with drifttui);
- ``raw``: the same LIST pages, byte for byte (fetched once from the emulator), replayed by
  a minimal stdlib HTTP server: what is left is drifttui's own time.

Reference (issue 6): ``kubectl diff`` took about 5.5 s for 1,000 Deployments against a
loopback API server; targets: 1,000 objects in about 0.5 s start-up included, 5,000 in under
2 s and 300 MB.

Where the unit documents come from (``cache`` column):

- ``warm``: a run after another one: the parsed-document cache (``document_cache.py``) and
  the embedded hub's kept parses both hold every unit;
- ``cold``: the document cache file removed before each run (a first run, a CI job without a
  kept home): the embedded hub's kept parses (written when the units were created) remain;
- ``yaml``: no cache file and a copy of the hub without kept parses, as a hub that keeps
  none (ConfigHub over HTTP) gives the first run: every unit's YAML is parsed.

    /work/venv/bin/python bench/once_http.py                    # N = 0, 1000, 5000; best of 3
    /work/venv/bin/python bench/once_http.py --objects 1000 --repeat 3 --server raw
    /work/venv/bin/python bench/once_http.py --objects 5000 --profile /tmp/once.prof
    /work/venv/bin/python bench/once_http.py --checkout /tmp/main .   # before/after, interleaved
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from drifttui.cluster.protocol import WATCHED_KINDS  # noqa: E402
from drifttui.cluster.sim import SimApiServer  # noqa: E402
from drifttui.core.defaults import apply_server_defaults  # noqa: E402
from drifttui.hub.local import SqliteHub  # noqa: E402
from tests.cluster.apiserver import EmulatorThread  # noqa: E402

NS = "bench"
SPACE = "bench-dev"
DRIFT_EVERY = 50  # 2%


def deployment(i: int) -> dict[str, Any]:
    """A Deployment as a team would keep it in ConfigHub."""
    name = f"svc-{i:05d}"
    labels = {"app": name, "team": f"team-{i % 17}", "tier": ("web", "api", "worker")[i % 3]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {**labels, "app.kubernetes.io/part-of": "shop"},
            "annotations": {"owner": f"team-{i % 17}@example.com", "runbook": f"rb/{name}"},
        },
        "spec": {
            "replicas": 2 + i % 4,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels, "annotations": {"prometheus.io/scrape": "true"}},
                "spec": {
                    "serviceAccountName": "shop",
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example/shop/{name}:1.{i % 9}.{i % 5}",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "env": [
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "REGION", "value": "eu-west-1"},
                                {"name": "SERVICE_NAME", "value": name},
                                {"name": "DB_POOL", "value": str(5 + i % 10)},
                                {
                                    "name": "POD_IP",
                                    "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                                },
                            ],
                            "resources": {
                                "requests": {"cpu": f"{100 + 50 * (i % 6)}m", "memory": "256Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": "http"},
                                "periodSeconds": 5,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/health", "port": "http"},
                                "initialDelaySeconds": 10,
                            },
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                        },
                        {
                            "name": "log-shipper",
                            "image": "registry.example/infra/fluent-bit:3.1",
                            "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}},
                        },
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}],
                },
            },
        },
    }


def status(obj: dict[str, Any]) -> dict[str, Any]:
    replicas = obj["spec"]["replicas"]
    cond = {"lastTransitionTime": "2026-11-20T10:00:00Z", "lastUpdateTime": "2026-11-20T10:00:00Z"}
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {**cond, "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability."},
            {**cond, "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": f'ReplicaSet "{obj["metadata"]["name"]}-7d9f8b6c5d" has successfully '
             "progressed."},
        ],
    }  # fmt: skip


def live_objects(desired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects as ConfigHub's server-side apply (manager ``confighub``) leaves them.

    The simulated API server applies the first manifest (server defaults, managedFields with
    fieldsV1, status); every manifest has the same shape, so the others reuse its
    managedFields and get the same defaults from the defaulting table the simulator uses,
    which is much faster than applying thousands of manifests one by one.
    """
    sim = SimApiServer(clock=lambda: 1_764_000_000.0)
    first, _ = sim.apply(copy.deepcopy(desired[0]), manager="confighub")
    managed = first["metadata"]["managedFields"]
    out = []
    for i, m in enumerate(desired):
        obj = apply_server_defaults(copy.deepcopy(m))
        meta = obj["metadata"]
        meta.update(
            uid=f"00000000-0000-4000-8000-{i:012d}",
            creationTimestamp=first["metadata"]["creationTimestamp"],
            generation=1,
            managedFields=copy.deepcopy(managed),
        )
        obj["status"] = status(obj)
        out.append(obj)
    return out


def build_world(
    n: int, drift_every: int = DRIFT_EVERY
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """(desired manifests, live objects, names of the drifted ones): every ``drift_every``-th
    object was scaled to 9 replicas by ``kubectl`` (its own managedFields entry)."""
    desired = [deployment(i) for i in range(n)]
    live = live_objects(desired) if desired else []
    drifted: set[str] = set()
    for i, obj in enumerate(live):
        if drift_every and i % drift_every == drift_every // 2:
            obj["spec"]["replicas"] = 9
            obj["metadata"]["generation"] = 2
            obj["metadata"]["managedFields"].append(
                {"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1",
                 "time": "2026-11-24T09:00:00Z", "subresource": "scale",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
            )  # fmt: skip
            drifted.add(obj["metadata"]["name"])
    return desired, live, drifted


def seed_hub(path: Path, desired: list[dict[str, Any]]) -> None:
    hub = SqliteHub(path, author="bench")
    hub.create_space(SPACE)
    if not desired:
        hub.close()
        return
    items = [(m["metadata"]["name"], yaml.safe_dump(m, sort_keys=False), {}) for m in desired]
    hub.create_units(SPACE, items, "bench seed")
    hub.close()


# --------------------------------------------------------------------------- raw server


class RawPages:
    """Every LIST page drifttui asks for, fetched once from the emulator, replayed as bytes."""

    def __init__(self, base_url: str, page_size: int = 500) -> None:
        self.pages: dict[tuple[str, str], bytes] = {}  # (path, continue token) -> page
        for api, _kind, plural in WATCHED_KINDS:
            prefix = f"/apis/{api}" if "/" in api else f"/api/{api}"
            path = f"{prefix}/namespaces/{NS}/{plural}"
            token = None
            while True:
                query = {"limit": str(page_size), **({"continue": token} if token else {})}
                url = f"{path}?{urllib.parse.urlencode(query)}"
                with urllib.request.urlopen(base_url + url) as resp:
                    body = resp.read()
                self.pages[(path, token or "")] = body
                token = (json.loads(body).get("metadata") or {}).get("continue")
                if not token:
                    break

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in one go, no 40 ms stall

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                token = urllib.parse.parse_qs(url.query).get("continue", [""])[0]
                body = pages.get((url.path, token))
                code = 200
                if body is None:
                    code = 404
                    body = json.dumps(
                        {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                         "reason": "NotFound", "code": 404, "message": self.path}
                    ).encode()  # fmt: skip
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


# --------------------------------------------------------------------------- one run


def kubeconfig(path: Path, url: str) -> None:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: bench, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: u, user: {}}]\n"
        f"contexts: [{{name: bench, context: {{cluster: bench, user: u, namespace: {NS}}}}}]\n"
        "current-context: bench\n"
    )


def hub_without_kept_parses(hub_path: Path) -> Path:
    """A copy of the hub whose units carry no kept parse (``yaml``)."""
    copy_path = hub_path.with_name("hub-yaml.db")
    shutil.copyfile(hub_path, copy_path)
    with sqlite3.connect(copy_path) as db:
        cols = {r[1] for r in db.execute("PRAGMA table_info(units)")}
        if "parsed_json" in cols:
            db.execute("UPDATE units SET parsed_json = NULL, parsed_hash = NULL")
    return copy_path


def run_once(
    home: Path,
    kubeconfig_path: Path,
    hub_path: Path,
    profile: str | None = None,
    checkout: Path = ROOT,
) -> tuple[float, int, dict[str, Any]]:
    """(seconds, peak RSS in bytes, the report) of one ``drifttui --once -o json`` of the
    drifttui in ``checkout``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CUB_", "CLAUDE_", "ANTHROPIC_", "DRIFTTUI_", "KUBECONFIG"))
        and k != "PYTHONDONTWRITEBYTECODE"  # an installed drifttui has its bytecode compiled
    }
    env.update(
        HOME=str(home),
        PYTHONPATH=str(checkout),
        NO_COLOR="1",
        KUBECONFIG=str(kubeconfig_path),
        DRIFTTUI_HUB=str(hub_path),
        CUB_SPACE=SPACE,
        NAMESPACE=NS,
    )
    out = home / "report.json"
    cmd = [sys.executable]
    if profile:
        cmd += ["-m", "cProfile", "-o", profile]
    cmd += ["-m", "drifttui", "--once", "-o", "json"]
    figures = home / "figures.json"
    with open(out, "wb") as stdout, open(home / "stderr.txt", "wb") as stderr:
        subprocess.run(
            [sys.executable, "-c", _SPAWN, str(figures), *cmd],
            env=env,
            stdout=stdout,
            stderr=stderr,
            cwd=str(home),
            check=True,
        )
    elapsed, maxrss_kib, code = json.loads(figures.read_text())
    if code not in (0, 1):
        raise SystemExit(f"drifttui --once failed ({code}): {(home / 'stderr.txt').read_text()}")
    return elapsed, maxrss_kib * 1024, json.loads(out.read_text())


_SPAWN = """\
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    json.dump([elapsed, usage.ru_maxrss, code], f)
"""
"""drifttui is started by this small process, not by the bench's: a child's ``ru_maxrss``
counts its parent's resident memory at the fork (the bench holds the world, up to 280 MB
at 5,000 objects, which every figure of peak RSS showed instead of drifttui's own)."""


def check(report: dict[str, Any], n: int, drifted: set[str]) -> None:
    resources = [r for e in report["environments"] for r in e["resources"]]
    found = {r["name"] for r in resources if r["findings"]}
    summary = report["summary"]
    assert len(resources) == n, (len(resources), n)
    assert found == drifted, sorted(found ^ drifted)[:5]
    assert summary["drifted"] == len(drifted), summary


def measure(
    n: int, servers: list[str], repeat: int, profile: str | None, checkouts: list[Path]
) -> list[dict[str, Any]]:
    """Every (server, documents) cell for every checkout, their runs interleaved (A, B, A,
    B, ...): a machine whose speed drifts from one minute to the next shifts them alike."""
    rows = []
    t0 = time.perf_counter()
    desired, live, drifted = build_world(n)
    with tempfile.TemporaryDirectory(prefix="drifttui-bench-") as tmp:
        home = Path(tmp)
        hub_path = home / "hub.db"
        seed_hub(hub_path, desired)
        emulator = EmulatorThread()
        try:
            emulator.load(live)
            print(f"  world of {n} built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            raw_server = None
            urls = {"emulator": emulator.url}
            if "raw" in servers:
                started = time.perf_counter()
                raw = RawPages(emulator.url)
                lists_s = time.perf_counter() - started
                raw_server, urls["raw"] = raw.serve()
                size = sum(len(b) for b in raw.pages.values())
                print(
                    f"  emulator answers the LISTs in {lists_s:.2f} s "
                    f"({size / 1e6:.1f} MB of JSON, {len(raw.pages)} pages)",
                    file=sys.stderr,
                )
            homes = {c: home / f"home-{i}" for i, c in enumerate(checkouts)}
            for h in homes.values():
                h.mkdir()
            yaml_hub = hub_without_kept_parses(hub_path)
            for server in servers:
                kc = home / f"kubeconfig-{server}"
                kubeconfig(kc, urls[server])
                for c in checkouts:  # warm-up: bytecode, page cache
                    run_once(homes[c], kc, hub_path, checkout=c)
                for cache in ("warm", "cold", "yaml"):
                    runs: dict[Path, list[tuple[float, int]]] = {c: [] for c in checkouts}
                    for _ in range(repeat):
                        for c in checkouts:
                            if cache != "warm":  # the parsed-document cache of earlier runs
                                for f in homes[c].glob(".local/share/drifttui/cache/documents-*"):
                                    f.unlink()
                            hub = yaml_hub if cache == "yaml" else hub_path
                            elapsed, peak, report = run_once(homes[c], kc, hub, checkout=c)
                            check(report, n, drifted)
                            runs[c].append((elapsed, peak))
                    for c in checkouts:
                        times = [t for t, _ in runs[c]]
                        rss = max(p for _, p in runs[c]) / 2**20
                        name = "this" if c == ROOT else c.name
                        rows.append(
                            {
                                "checkout": name,
                                "objects": n,
                                "server": server,
                                "cache": cache,
                                "best_s": min(times),
                                "median_s": statistics.median(times),
                                "peak_rss_mb": rss,
                                "drifted": len(drifted),
                            }
                        )
                        print(
                            f"  {name:8s} {server:8s} {cache} N={n:5d}  best {min(times):.3f} s"
                            f"  median {statistics.median(times):.3f} s  peak RSS {rss:.0f} MiB",
                            file=sys.stderr,
                        )
                if profile and server == servers[-1]:
                    run_once(homes[checkouts[0]], kc, hub_path, profile=profile)
            if raw_server is not None:
                raw_server.shutdown()
        finally:
            emulator.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[0, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--server", choices=["emulator", "raw", "both"], default="both", help="which server"
    )
    parser.add_argument("--profile", help="also write a cProfile of one run (the last server)")
    parser.add_argument(
        "--checkout",
        type=Path,
        nargs="+",
        help="run the drifttui of these checkouts, interleaved (default: this one); "
        "e.g. --checkout /tmp/main . for a before/after",
    )
    args = parser.parse_args()
    checkouts = [c.resolve() for c in args.checkout or [ROOT]]
    servers = ["emulator", "raw"] if args.server == "both" else [args.server]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        file=sys.stderr,
    )
    rows = [
        r for n in args.objects for r in measure(n, servers, args.repeat, args.profile, checkouts)
    ]
    print("| checkout | objects | server | documents | best | median | peak RSS | drifted |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['checkout']} | {r['objects']:,} | {r['server']} | {r['cache']} | "
            f"{r['best_s']:.2f} s | "
            f"{r['median_s']:.2f} s | {r['peak_rss_mb']:.0f} MiB | {r['drifted']} |"
        )


if __name__ == "__main__":
    main()
