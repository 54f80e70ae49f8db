"""`drifttui diff` as a user runs it: files in, report out, exit 0/1/2, one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drifttui.errors import InputError
from drifttui.manifests_io import load_manifests, parse_manifests
from drifttui.report import SCHEMA_PATH
from tests.support import FIXTURES, ROOT, cli_env, run_cli

SCHEMA = json.loads(SCHEMA_PATH.read_text())
GOOD = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\ndata: {A: "1"}\n'


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _fixture(stem: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "k8s-v1.28" / f"{stem}.json").read_text())  # type: ignore[no-any-return]


def _split(tmp: Path, stem: str) -> tuple[Path, Path]:
    """A fixture as the user has it: desired YAML documents, `kubectl get -o json` List."""
    import yaml

    case = _fixture(stem)
    desired = _write(tmp / f"{stem}.yaml", yaml.safe_dump_all(case["desired"]))
    live = _write(
        tmp / f"{stem}-live.json",
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [o for o in case["live"] if o]}),
    )
    return desired, live


def test_drifted_fixture_exits_1_with_a_table(tmp_path: Path, home: Path) -> None:
    desired, live = _split(tmp_path, "d-env-removed")
    r = run_cli("diff", "--desired", str(desired), "--live", str(live), home=home)
    assert r.returncode == 1, r.stderr
    assert "spec.template.spec.containers[name=mailer].env[name=SMTP_PORT]" in r.stdout
    assert "removed" in r.stdout
    assert "Summary: 1 resource" in r.stdout
    assert "\x1b[" not in r.stdout  # NO_COLOR and not a tty


def test_report_files_are_replaced_whole_and_a_bad_path_stops_before_any_output(
    tmp_path: Path, home: Path
) -> None:
    desired, live = _split(tmp_path, "d-env-removed")
    report = tmp_path / "out" / "drift.json"
    report.parent.mkdir()
    report.write_text("an old report, much longer than nothing " * 2000)
    args = ("diff", "--desired", str(desired), "--live", str(live))
    r = run_cli(*args, "-o", "table", "-o", f"json={report}", home=home)
    assert r.returncode == 1, r.stderr
    assert json.loads(report.read_text())["summary"]["drifted"] == 1  # the old text is gone
    assert sorted(p.name for p in report.parent.iterdir()) == ["drift.json"]  # no temp file

    bad = tmp_path / "missing-dir" / "drift.sarif"
    r = run_cli(*args, "-o", "table", "-o", f"sarif={bad}", home=home)
    assert r.returncode == 2
    assert r.stdout == ""  # nothing printed before the error
    (line,) = r.stderr.strip().splitlines()
    assert "cannot write the sarif report" in line
    assert str(bad) in line


def test_clean_fixture_exits_0(tmp_path: Path, home: Path) -> None:
    desired, live = _split(tmp_path, "nd-podspec-volumes-security")
    r = run_cli("diff", "--desired", str(desired), "--live", str(live), "-o", "json", home=home)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["summary"]["inSync"] == 1
    assert data["exitCode"] == 0


def test_every_fixture_through_the_cli_gives_the_expected_findings(
    tmp_path: Path, home: Path
) -> None:
    desired_dir, live_dir = tmp_path / "desired", tmp_path / "live"
    expected: set[tuple[str, ...]] = set()
    for path in sorted((FIXTURES / "k8s-v1.28").glob("*.json")):
        d, lv = _split(tmp_path / "split", path.stem)
        _write(desired_dir / d.name, d.read_text())
        _write(live_dir / lv.name, lv.read_text())
        expected |= {tuple(e) for e in _fixture(path.stem)["expected"]}
    out = tmp_path / "report.json"
    r = run_cli(
        "diff",
        "--desired",
        str(desired_dir),
        "--live",
        str(live_dir),
        "-o",
        f"json={out}",
        "-n",
        "fixtures",
        home=home,
    )
    assert r.returncode == 1, r.stderr
    assert r.stdout == ""
    data = json.loads(out.read_text())
    jsonschema.validate(data, SCHEMA)
    got = {
        (res["kind"], res["name"], f["path"], f["change"])
        for env in data["environments"]
        for res in env["resources"]
        for f in res["findings"]
    }
    assert got == expected
    sources = {res["source"] for env in data["environments"] for res in env["resources"]}
    assert all(s and s.startswith(str(desired_dir)) for s in sources)


def test_several_outputs_at_once(tmp_path: Path, home: Path) -> None:
    desired, live = _split(tmp_path, "d-role-rule-added")
    sarif, junit, md = tmp_path / "d.sarif", tmp_path / "d.xml", tmp_path / "d.md"
    r = run_cli(
        "diff",
        "--desired",
        str(desired),
        "--live",
        str(live),
        "-o",
        "table",
        "-o",
        f"sarif={sarif}",
        "-o",
        f"junit={junit}",
        "-o",
        f"markdown={md}",
        home=home,
    )
    assert r.returncode == 1
    assert "deployer" in r.stdout
    sarif_schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(json.loads(sarif.read_text()), sarif_schema)
    assert "<failure" in junit.read_text()
    assert "| `rules` | changed | 1 item | 2 items, +" in md.read_text()


def test_repeated_desired_and_live_flags_and_missing_objects(tmp_path: Path, home: Path) -> None:
    a = _write(tmp_path / "a.yaml", GOOD)
    b = _write(tmp_path / "b.yaml", GOOD.replace("name: ok", "name: other"))
    live = _write(tmp_path / "live.yaml", GOOD.replace('"1"', '"2"'))
    empty = _write(tmp_path / "empty.json", "")
    r = run_cli(
        "diff",
        "--desired",
        str(a),
        "--desired",
        str(b),
        "--live",
        str(live),
        "--live",
        str(empty),
        "-o",
        "json",
        home=home,
    )
    assert r.returncode == 1
    data = json.loads(r.stdout)
    statuses = {res["name"]: res["status"] for res in data["environments"][0]["resources"]}
    assert statuses == {"ok": "drifted", "other": "missing"}


def test_empty_live_file_means_everything_is_missing(tmp_path: Path, home: Path) -> None:
    good = _write(tmp_path / "good.yaml", GOOD)
    empty = _write(tmp_path / "empty.yaml", "")
    r = run_cli("diff", "--desired", str(good), "--live", str(empty), home=home)
    assert r.returncode == 1
    assert "missing" in r.stdout


def test_namespace_flag_pairs_manifests_without_one(tmp_path: Path, home: Path) -> None:
    good = _write(tmp_path / "good.yaml", GOOD)
    live = _write(tmp_path / "live.yaml", GOOD.replace("{name: ok}", "{name: ok, namespace: shop}"))
    assert run_cli("diff", "--desired", str(good), "--live", str(live), home=home).returncode == 1
    assert (
        run_cli(
            "diff", "--desired", str(good), "--live", str(live), "--namespace", "shop", home=home
        ).returncode
        == 0
    )


def test_rollout_restart_is_shown_but_exits_0(tmp_path: Path, home: Path) -> None:
    case = _fixture("nd-podspec-volumes-security")
    live_obj = case["live"][0]
    live_obj["spec"]["template"]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/restartedAt": "2026-11-25T09:00:00Z"
    }
    desired = _write(tmp_path / "d.json", json.dumps(case["desired"][0]))
    live = _write(tmp_path / "l.json", json.dumps(live_obj))
    r = run_cli("diff", "--desired", str(desired), "--live", str(live), home=home)
    assert r.returncode == 0, r.stdout
    assert "operational" in r.stdout
    assert "restartedAt" in r.stdout


def test_ignore_file_silences_and_names_the_rule(tmp_path: Path, home: Path) -> None:
    desired, live = _split(tmp_path, "d-toleration-added")
    rules = _write(
        tmp_path / "ignore.yaml",
        "ignore:\n  - name: tolerations-ok\n    path: spec.template.spec.tolerations\n"
        "    kind: Deployment\n",
    )
    r = run_cli(
        "diff",
        "--desired",
        str(desired),
        "--live",
        str(live),
        "--ignore",
        str(rules),
        "-o",
        "json",
        home=home,
    )
    assert r.returncode == 0, r.stderr
    (finding,) = [
        f for res in json.loads(r.stdout)["environments"][0]["resources"] for f in res["findings"]
    ]
    assert finding["ignoredBy"] == "tolerations-ok"
    assert finding["counts"] is False


def test_bad_ignore_rule_is_one_line_naming_the_file(tmp_path: Path, home: Path) -> None:
    desired, live = _split(tmp_path, "d-toleration-added")
    rules = _write(tmp_path / "rules.yaml", "- {kind: Deployment}\n")
    r = run_cli(
        "diff", "--desired", str(desired), "--live", str(live), "--ignore", str(rules), home=home
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "rules.yaml" in r.stderr
    assert "names nothing to ignore" in r.stderr


def test_ignore_rules_from_the_config_file(tmp_path: Path, home: Path) -> None:
    desired, live = _split(tmp_path, "d-toleration-added")
    cfg = _write(
        tmp_path / "drifttui.yaml", "ignore:\n  - {pointer: /spec/template/spec/tolerations}\n"
    )
    r = run_cli(
        "diff", "--config", str(cfg), "--desired", str(desired), "--live", str(live), home=home
    )
    assert r.returncode == 0, r.stderr + r.stdout


BAD_INPUTS: list[tuple[str, str | bytes]] = [
    (
        "malformed.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad\n  data: [unclosed\n",
    ),
    ("nokind.yaml", "apiVersion: v1\nmetadata: {name: nokind}\n"),
    ("noname.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"),
    ("notobject.yaml", "- just\n- a list\n"),
    ("scalar.yaml", GOOD + "---\n42\n"),
    ("oldapi.yaml", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: old}\n"),
    ("badapi.yaml", "apiVersion: Not A Version\nkind: Widget\nmetadata: {name: w}\n"),
    ("garbage.bin", bytes(range(256)) * 12),
    ("latin1.yaml", "kind: ConfigMap\nname: caf\xe9\n".encode("latin-1")),
    ("truncated.json", '{"apiVersion": "v1", "kind": "List", "items": ['),
    ("badlist.json", '{"apiVersion": "v1", "kind": "List", "items": [{"kind": "ConfigMap"}]}'),
    ("twice.yaml", GOOD + "---\n" + GOOD),
]


@pytest.mark.parametrize(("name", "content"), BAD_INPUTS, ids=[n for n, _ in BAD_INPUTS])
def test_bad_live_input_is_exit_2_with_one_clear_line(
    tmp_path: Path, home: Path, name: str, content: str | bytes
) -> None:
    good = _write(tmp_path / "good.yaml", GOOD)
    bad = _write(tmp_path / name, content)
    r = run_cli("diff", "--desired", str(good), "--live", str(bad), home=home)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in (r.stderr + r.stdout).splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 4
    assert name in r.stderr
    assert r.stderr.startswith("drifttui: error: ")


def test_document_index_is_named(tmp_path: Path, home: Path) -> None:
    good = _write(tmp_path / "good.yaml", GOOD)
    bad = _write(
        tmp_path / "multi.yaml",
        GOOD
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
        + "---\napiVersion: v1\nmetadata: {name: c}\n",
    )
    r = run_cli("diff", "--desired", str(good), "--live", str(bad), home=home)
    assert "multi.yaml: document 3: object has no kind" in r.stderr
    lst = _write(
        tmp_path / "l.json",
        json.dumps(
            {
                "kind": "List",
                "items": [
                    json.loads('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}'),
                    7,
                ],
            }
        ),
    )
    r = run_cli("diff", "--desired", str(good), "--live", str(lst), home=home)
    assert "l.json: document 1, item 2: item is a number" in r.stderr


@pytest.mark.parametrize("which", ["--desired", "--live"])
def test_missing_file_is_exit_2_naming_it(tmp_path: Path, home: Path, which: str) -> None:
    good = _write(tmp_path / "good.yaml", GOOD)
    args = {"--desired": str(good), "--live": str(good)}
    args[which] = str(tmp_path / "nope.yaml")
    r = run_cli("diff", "--desired", args["--desired"], "--live", args["--live"], home=home)
    assert r.returncode == 2
    assert "nope.yaml: file not found" in r.stderr
    assert which in r.stderr


def test_empty_desired_file_is_an_error(tmp_path: Path, home: Path) -> None:
    empty = _write(tmp_path / "empty.yaml", "\n")
    r = run_cli("diff", "--desired", str(empty), "--live", str(empty), home=home)
    assert r.returncode == 2
    assert "empty.yaml" in r.stderr
    assert "no Kubernetes objects" in r.stderr


def test_unknown_output_format_is_exit_2(tmp_path: Path, home: Path) -> None:
    good = _write(tmp_path / "good.yaml", GOOD)
    r = run_cli("diff", "--desired", str(good), "--live", str(good), "-o", "xlsx", home=home)
    assert r.returncode == 2
    assert "unknown output format 'xlsx'" in r.stderr


def test_help_has_examples(home: Path) -> None:
    r = run_cli("diff", "--help", home=home)
    assert r.returncode == 0
    assert "examples:" in r.stdout
    assert "drifttui diff --desired" in r.stdout
    assert "exit codes" in r.stdout


def test_diff_starts_light(tmp_path: Path) -> None:
    """No TUI or API client is imported by `drifttui diff` (import time is start-up time)."""
    d = _write(tmp_path / "d.yaml", GOOD)
    lv = _write(tmp_path / "l.json", '{"apiVersion":"v1","kind":"List","items":[]}')
    env = cli_env(tmp_path)
    r = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "drifttui",
            "diff",
            "--desired",
            str(d),
            "--live",
            str(lv),
            "-o",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        timeout=60,
    )
    assert r.returncode == 1
    imported = set(re.findall(r"\|\s+([\w.]+)\s*$", r.stderr, re.MULTILINE))
    heavy = {
        m
        for m in imported
        if m.split(".")[0]
        in {
            "textual",
            "rich",
            "kubernetes",
            "anthropic",
            "httpx",
            "starlette",
            "uvicorn",
            "jsonschema",
        }
    }
    assert heavy == set()
    assert "drifttui.core.diff" in imported


# --------------------------------------------------------------------------- loader fuzzing


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_loader_never_crashes_on_bytes(data: bytes) -> None:
    error: InputError | None = None
    try:
        manifests = parse_manifests(data, "fuzz.yaml")
    except InputError as exc:
        error = exc
    if error is not None:
        assert "fuzz.yaml" in str(error)
        assert "\n" not in str(error)
    else:
        assert all(isinstance(m.obj, dict) and m.obj.get("kind") for m in manifests)


yamlish = st.text(alphabet="abc:- \n{}[]\"'#,.|>&*!01", max_size=200)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(yamlish, st.builds(lambda a: GOOD + "---\n" + a, yamlish)))
def test_loader_never_crashes_on_yamlish_text(text: str) -> None:
    for source in ("fuzz.yaml", "fuzz.json"):
        error: InputError | None = None
        try:
            parse_manifests(text, source)
        except InputError as exc:
            error = exc
        assert error is None or source in str(error)


def test_loader_reads_directories_recursively_and_skips_other_files(tmp_path: Path) -> None:
    _write(tmp_path / "m" / "b.yaml", GOOD)
    _write(tmp_path / "m" / "sub" / "a.yml", GOOD.replace("name: ok", "name: two"))
    _write(tmp_path / "m" / "README.md", "not yaml: [")
    _write(tmp_path / "m" / ".hidden" / "c.yaml", "broken: [")
    found = load_manifests([str(tmp_path / "m")], "--desired", allow_empty=False)
    assert [m.obj["metadata"]["name"] for m in found] == ["ok", "two"]


def test_yaml_timestamps_stay_text(tmp_path: Path) -> None:
    (m,) = parse_manifests(
        GOOD.replace("{name: ok}", "{name: ok, creationTimestamp: 2026-11-25T03:40:11Z}"), "t.yaml"
    )
    assert m.obj["metadata"]["creationTimestamp"] == "2026-11-25T03:40:11Z"


def test_run_from_the_checkout_root(tmp_path: Path) -> None:
    """`python -m drifttui diff` works from the project root too (no stray relative paths)."""
    desired, live = _split(tmp_path, "d-pdb-minavailable")
    r = run_cli(
        "diff",
        "--desired",
        str(desired),
        "--live",
        str(live),
        "-o",
        "markdown",
        home=tmp_path,
        cwd=ROOT,
    )
    assert r.returncode == 1
    assert "`spec.minAvailable`" in r.stdout
    assert os.path.exists(ROOT / "drifttui" / "schemas" / "report.schema.json")
