"""Benchmark: 10,000 desired/live pairs through the drift engine and `drifttui diff`,
against a DeepDiff baseline over the same pairs.

    /work/venv/bin/python bench/diff_throughput.py            # 10,000 pairs
    /work/venv/bin/python bench/diff_throughput.py --pairs 2000 --repeat 3

Pairs come from bench/diff_pairs.py: half Deployments (defaults filled in by the server,
managedFields of a server-side apply, canonical quantities in live, status), a quarter
Services (allocated ClusterIPs) and a quarter ConfigMaps; about 5% drifted by hand
(kubectl scale / set image / label / set env / edit / patch).

Measured (best of --repeat runs):

1. engine: ``diff_objects`` over the parsed objects, in process (objects per second);
2. process: ``python -m drifttui diff --desired desired.yaml --live live.json -o json=...``
   as a user runs it, start-up, YAML/JSON parsing and report writing included;
3. DeepDiff baseline, as a whole process too: the same files parsed the same way (PyYAML
   C loader, json), objects paired by (kind, namespace, name), ``DeepDiff(desired, live)``
   per pair; and DeepDiff alone over the in-process pairs.

The report lists the figures with the machine (CPU count, ``uname -m``, Python version).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from diff_pairs import make_pairs  # noqa: E402

from drifttui.core.diff import DiffContext, diff_objects  # noqa: E402

DEEPDIFF_WORKER = """
import json, sys, yaml
from deepdiff import DeepDiff
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
if sys.argv[1].endswith(".json"):
    desired = json.load(open(sys.argv[1]))["items"]
else:
    desired = [d for d in yaml.load_all(open(sys.argv[1]), Loader=Loader) if d]
live = json.load(open(sys.argv[2]))["items"]
def key(o):
    m = o["metadata"]
    return (o["kind"], m.get("namespace", "shop"), m["name"])
by_key = {key(o): o for o in live}
drifted = sum(1 for d in desired if DeepDiff(d, by_key.get(key(d))))
print(drifted)
"""


def _best(fn: Any, repeat: int) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def _write_inputs(tmp: Path, desired: list[Any], live: list[Any]) -> tuple[Path, Path, Path]:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    d_path = tmp / "desired.yaml"
    dj_path = tmp / "desired.json"
    l_path = tmp / "live.json"
    d_path.write_text(yaml.dump_all(desired, Dumper=dumper, sort_keys=False))
    dj_path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": desired}))
    l_path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": live}))
    return d_path, dj_path, l_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--drift", type=float, default=0.05, help="share of drifted pairs")
    parser.add_argument("--skip-deepdiff", action="store_true")
    args = parser.parse_args()

    desired, live, drifted = make_pairs(args.pairs, args.drift)
    n = len(desired)
    print(f"pairs: {n} ({drifted} drifted by hand)")
    ctx = DiffContext(environment="bench", default_namespace="shop")

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        d_path, dj_path, l_path = _write_inputs(tmp, desired, live)
        sizes = (
            f"{d_path.stat().st_size / 1e6:.1f} MB YAML + {l_path.stat().st_size / 1e6:.1f} MB JSON"
        )
        print(f"inputs: {sizes}")

        # 1. the engine, on the objects the loader produces
        from drifttui.manifests_io import read_manifests

        d_objs = [m.obj for m in read_manifests(d_path)]
        l_objs = [m.obj for m in read_manifests(l_path, "--live")]
        engine_gc_s, items = _best(lambda: diff_objects(d_objs, l_objs, ctx), args.repeat)
        found = sum(1 for i in items if i.is_drifted)
        del items
        print(
            f"engine, cyclic GC on: {engine_gc_s:.3f} s, {n / engine_gc_s:,.0f} objects/s, "
            f"{found} drifted found"
        )
        assert found == drifted, (found, drifted)
        gc.disable()  # as `drifttui diff` runs it
        engine_s, items = _best(lambda: diff_objects(d_objs, l_objs, ctx), args.repeat)
        gc.enable()
        del items
        print(
            f"engine, cyclic GC off (as drifttui diff runs): {engine_s:.3f} s, "
            f"{n / engine_s:,.0f} objects/s"
        )

        # 2. the whole `drifttui diff` process, desired as YAML documents and as a JSON List
        # bytecode cached, as in an installed package (this machine sets PYTHONDONTWRITEBYTECODE)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        out = tmp / "report.json"

        def run_cli(desired_file: Path) -> int:
            cmd = [sys.executable, "-m", "drifttui", "diff", "--desired", str(desired_file)]
            cmd += ["--live", str(l_path), "-n", "shop", "-o", f"json={out}"]
            return subprocess.run(cmd, env=env, cwd=str(tmp), check=False).returncode

        result: dict[str, Any] = {
            "pairs": n,
            "drifted": drifted,
            "engine_s": engine_s,
            "engine_objects_per_s": n / engine_s,
            "engine_gc_on_objects_per_s": n / engine_gc_s,
        }
        for label, desired_file in (("yaml", d_path), ("json", dj_path)):
            cli_s, rc = _best(lambda f=desired_file: run_cli(f), args.repeat)
            report = json.loads(out.read_text())
            assert report["summary"]["drifted"] == drifted, report["summary"]
            print(
                f"drifttui diff process, desired as {label}: {cli_s:.3f} s, "
                f"{n / cli_s:,.0f} objects/s (exit {rc}, {report['summary']['drifted']} drifted)"
            )
            result[f"process_{label}_s"] = cli_s

        if not args.skip_deepdiff:
            from deepdiff import DeepDiff

            pairs = list(zip(d_objs, l_objs, strict=True))
            dd_s, dd_found = _best(lambda: sum(1 for d, lv in pairs if DeepDiff(d, lv)), 1)
            print(
                f"DeepDiff in process: {dd_s:.3f} s, {n / dd_s:,.0f} pairs/s "
                f"({dd_found} pairs differ: every pair, defaults and metadata included); "
                f"the engine is {dd_s / engine_s:.1f}x faster"
            )
            result.update(deepdiff_s=dd_s, speedup_engine=dd_s / engine_s)
            worker = tmp / "deepdiff_worker.py"
            worker.write_text(DEEPDIFF_WORKER)
            for label, desired_file in (("yaml", d_path), ("json", dj_path)):
                dd_cmd = [sys.executable, str(worker), str(desired_file), str(l_path)]
                ddp_s, _ = _best(
                    lambda c=dd_cmd: subprocess.run(c, check=True, capture_output=True, env=env),
                    1,
                )
                cli_s = result[f"process_{label}_s"]
                print(
                    f"DeepDiff process, desired as {label}: {ddp_s:.3f} s; "
                    f"`drifttui diff` is {ddp_s / cli_s:.1f}x faster "
                    f"({dd_s / cli_s:.1f}x faster than DeepDiff's comparisons alone)"
                )
                result[f"deepdiff_process_{label}_s"] = ddp_s
                result[f"speedup_process_{label}"] = ddp_s / cli_s
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}"
    )
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
