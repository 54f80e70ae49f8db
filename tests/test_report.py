"""Reports: every format, validated against our schema and the official SARIF 2.1.0 one."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.analysis.protocol import Action, Analysis, Risk, Verdict
from drifttui.core.diff import DiffContext, diff_objects
from drifttui.core.models import (
    Attribution,
    Autoscaler,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Severity,
    finding_id,
)
from drifttui.errors import ConfigError, InputError
from drifttui.report import (
    FORMATS,
    SCHEMA_PATH,
    EnvironmentReport,
    OutputSpec,
    Report,
    parse_outputs,
    render,
    report_to_dict,
    report_to_sarif,
    use_color,
    write_outputs,
)

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = json.loads(SCHEMA_PATH.read_text())
SARIF_SCHEMA = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
REPORT_VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.FormatChecker()
)
SARIF_VALIDATOR = jsonschema.Draft4Validator(SARIF_SCHEMA)
NOW = "2026-11-25T10:00:00Z"
SECRET_PLAIN = "correct-horse-battery-staple"


def _validate(report: Report, analysis: Analysis | None = None) -> dict[str, Any]:
    data = json.loads(render(report, "json", analysis=analysis))
    REPORT_VALIDATOR.validate(data)
    return data  # type: ignore[no-any-return]


def _fixture_items() -> list[DriftItem]:
    items: list[DriftItem] = []
    for path in sorted((FIXTURES / "k8s-v1.28").glob("*.json")):
        case = json.loads(path.read_text())
        items += diff_objects(
            case["desired"], [o for o in case["live"] if o], DiffContext(environment="fixtures")
        )
    return items


def _secret_items() -> list[DriftItem]:
    enc = base64.b64encode(SECRET_PLAIN.encode()).decode()
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "stringData": {"password": "old"},
    }
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "shop",
            "managedFields": [
                {
                    "manager": "kubectl-edit",
                    "operation": "Update",
                    "time": "t",
                    "fieldsV1": {"f:data": {"f:password": {}}},
                }
            ],
        },
        "type": "Opaque",
        "data": {"password": enc, "token": enc},
    }
    return diff_objects([desired], [live], DiffContext(environment="prod", space="shop-prod"))


def _hand_items() -> list[DriftItem]:
    key = ResourceKey("apps", "Deployment", "shop", "backend-api")
    path = ("spec", "replicas")
    fid = finding_id("prod", key, path, Change.CHANGED)
    scaled = FieldDrift(
        path=path,
        change=Change.CHANGED,
        desired=3,
        live=5,
        category=Category.REPLICAS,
        severity=Severity.MEDIUM,
        attribution=Attribution("kubectl", "Update", None, "scale", True),
        safe_to_autofix=True,
        note="5, HPA backend-api, range 2-4; outside the autoscaler's range",
        id=fid,
        fingerprint="abc",
        pointer="/spec/replicas",
    )
    ignored = FieldDrift(
        path=("metadata", "labels", "x"),
        change=Change.ADDED,
        desired=None,
        live="y|z",
        category=Category.LABELS,
        severity=Severity.LOW,
        ignored_by="labels-are-fine",
        id=finding_id("prod", key, ("metadata", "labels", "x"), Change.ADDED),
        fingerprint="def",
        pointer="/metadata/labels/x",
    )
    drifted = DriftItem(
        key=key,
        api_version="apps/v1",
        status=ResourceStatus.DRIFTED,
        fields=(scaled, ignored),
        environment="prod",
        owner="ConfigHub",
        rolling_out=True,
        unit="backend-api",
        space="shop-prod",
        autoscaler=Autoscaler("backend-api", key, 2, 4),
        monthly_cost_usd=26.13,
    )
    broken = DriftItem(
        key=ResourceKey("", "ConfigMap", "shop", "unreadable"),
        api_version="v1",
        status=ResourceStatus.ERROR,
        environment="prod",
        error="403 Forbidden",
    )
    stray = DriftItem(
        key=ResourceKey("", "ConfigMap", "shop", "stray"),
        api_version="v1",
        status=ResourceStatus.UNMANAGED,
        environment="prod",
    )
    return [drifted, broken, stray]


def _analysis(items: list[DriftItem]) -> Analysis:
    verdicts = tuple(
        Verdict(
            f.id,
            "scaled by hand during an incident",
            Risk.COST,
            Action.PATCH_LIVE,
            0.8,
            "matches the incident window",
            26.13,
        )
        for i in items
        for f in i.counted
    )
    return Analysis(
        summary="One workload was scaled by hand.",
        verdicts=verdicts,
        source="offline",
        notes=("offline analysis",),
        monthly_cost_usd=26.13,
    )


def _report(*envs: EnvironmentReport, analysis: Analysis | None = None) -> Report:
    return Report(generated_at=NOW, environments=envs, analysis=analysis)


ALL = _report(
    EnvironmentReport("fixtures", namespace="fixtures", items=tuple(_fixture_items()), sources={}),
    EnvironmentReport(
        "prod",
        space="shop-prod",
        cluster="prod-eu",
        namespace="shop",
        items=tuple(_hand_items() + _secret_items()),
    ),
    EnvironmentReport(
        "staging", space="shop-staging", error="cannot watch apps/v1 Deployment: 403 Forbidden"
    ),
)


def test_json_report_validates_and_carries_versions() -> None:
    data = _validate(ALL)
    assert data["schemaVersion"] == "drifttui.report/v1"
    assert data["rulesVersion"] == "k8s-1.28/2026-11-25"
    assert data["exitCode"] == 2
    s = data["summary"]
    assert (s["errors"], s["unmanaged"], s["ignored"]) == (2, 1, 1)
    assert s["coveragePercent"] == pytest.approx(100 * (s["total"] - 1) / s["total"], abs=0.1)


def test_json_resources_have_the_documented_fields() -> None:
    data = report_to_dict(ALL)
    prod = next(e for e in data["environments"] if e["name"] == "prod")
    api = next(r for r in prod["resources"] if r["name"] == "backend-api")
    assert (api["apiVersion"], api["kind"], api["namespace"], api["status"]) == (
        "apps/v1",
        "Deployment",
        "shop",
        "drifted",
    )
    assert api["autoscaler"] == {"name": "backend-api", "minReplicas": 2, "maxReplicas": 4}
    f = api["findings"][0]
    assert (f["path"], f["change"], f["desired"], f["live"]) == ("spec.replicas", "changed", 3, 5)
    assert f["attribution"] == {
        "manager": "kubectl",
        "operation": "Update",
        "time": None,
        "subresource": "scale",
        "human": True,
    }
    staging = next(e for e in data["environments"] if e["name"] == "staging")
    assert staging["error"]
    assert staging["summary"]["errors"] == 1


def test_secret_values_never_reach_any_format() -> None:
    enc = base64.b64encode(SECRET_PLAIN.encode()).decode()
    for fmt in FORMATS:
        text = render(ALL, fmt, analysis=_analysis(_hand_items()))
        assert SECRET_PLAIN not in text, fmt
        assert enc not in text, fmt
    data = report_to_dict(ALL)
    prod = next(e for e in data["environments"] if e["name"] == "prod")
    secret = next(r for r in prod["resources"] if r["kind"] == "Secret")
    assert {(f["path"], f["desired"], f["live"]) for f in secret["findings"]} == {
        ("data.password", "***", "***"),
        ("data.token", None, "***"),
    }


def test_analysis_block_and_verdicts_validate_and_render() -> None:
    analysis = _analysis(_hand_items())
    data = _validate(ALL, analysis)
    assert data["analysis"]["source"] == "offline"
    prod = next(e for e in data["environments"] if e["name"] == "prod")
    api = next(r for r in prod["resources"] if r["name"] == "backend-api")
    assert api["findings"][0]["verdict"]["action"] == "patch-live"
    assert "verdict" not in api["findings"][1]  # ignored: no verdict asked
    for fmt in ("table", "markdown"):
        text = render(ALL, fmt, analysis=analysis)
        assert "scaled by hand during an incident" in text, fmt
        assert "80%" in text, fmt
    assert "One workload was scaled by hand." in render(ALL, "table", analysis=analysis)
    sarif = report_to_sarif(ALL, analysis)
    assert any("verdict" in r["properties"] for r in sarif["runs"][0]["results"])


def test_schemas_are_valid_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft4Validator.check_schema(SARIF_SCHEMA)


@settings(max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Change)),
            st.sampled_from(list(Category)),
            st.sampled_from(list(Severity)),
            st.one_of(
                st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)
            ),
            st.booleans(),
        ),
        max_size=6,
    ),
    st.sampled_from(list(ResourceStatus)),
)
def test_any_report_validates(rows: list[tuple[Any, ...]], status: ResourceStatus) -> None:
    key = ResourceKey("apps", "Deployment", "ns", "x")
    fields = tuple(
        FieldDrift(
            path=("spec", f"f{i}") if change is not Change.MISSING else (),
            change=change,
            desired="***" if cat is Category.SECRET else value,
            live=None if cat is Category.SECRET else value,
            category=cat,
            severity=sev,
            ignored_by="r" if ignored else None,
            id=finding_id("e", key, ("spec", f"f{i}"), change),
        )
        for i, (change, cat, sev, value, ignored) in enumerate(rows)
    )
    if status is ResourceStatus.MISSING and not fields:
        fields = (
            FieldDrift(
                (),
                Change.MISSING,
                None,
                None,
                Category.OTHER,
                Severity.HIGH,
                id=finding_id("e", key, (), Change.MISSING),
            ),
        )
    item = DriftItem(
        key,
        "apps/v1",
        status,
        fields,
        "e",
        error="boom" if status is ResourceStatus.ERROR else None,
    )
    report = _report(EnvironmentReport("e", items=(item,)))
    _validate(report)
    SARIF_VALIDATOR.validate(report_to_sarif(report))


def test_sarif_is_valid_with_one_rule_per_category_and_locations() -> None:
    sarif = json.loads(render(ALL, "sarif"))
    SARIF_VALIDATOR.validate(sarif)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "K8S-DRIFT-REPLICAS" in rule_ids
    assert "K8S-DRIFT-CONFIG-DATA" in rule_ids
    assert "K8S-DRIFT-MISSING" in rule_ids
    assert len(rule_ids) == len(set(rule_ids))
    results = run["results"]
    assert all(r["ruleId"] in rule_ids and r["message"]["text"] and r["locations"] for r in results)
    scaled = next(r for r in results if r["properties"]["path"] == "spec.replicas")
    loc = scaled["locations"][0]
    assert (
        loc["physicalLocation"]["artifactLocation"]["uri"]
        == "confighub://shop-prod/backend-api#/spec/replicas"
    )
    assert (
        loc["logicalLocations"][0]["fullyQualifiedName"]
        == "Deployment/shop/backend-api#/spec/replicas"
    )
    assert scaled["level"] == "warning"
    ignored = next(r for r in results if r["properties"]["path"] == "metadata.labels.x")
    assert ignored["suppressions"][0]["justification"] == "ignore rule labels-are-fine"
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_falls_back_to_the_desired_file() -> None:
    (item,) = [i for i in _fixture_items() if i.key.name == "checkout"]
    report = _report(
        EnvironmentReport("local", items=(item,), sources={item.key: "manifests/pdb.yaml"})
    )
    (result,) = report_to_sarif(report)["runs"][0]["results"]
    assert (
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "manifests/pdb.yaml"
    )
    assert result["ruleId"] == "K8S-DRIFT-OTHER"


def test_junit_has_a_suite_per_environment_and_a_case_per_resource() -> None:
    root = ET.fromstring(render(ALL, "junit").split("\n", 1)[1])
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"fixtures", "prod", "staging"}
    fixtures = suites["fixtures"]
    cases = fixtures.findall("testcase")
    assert len(cases) == len(
        [i for i in _fixture_items() if i.status is not ResourceStatus.UNMANAGED]
    )
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert "fixtures/deployer" in failed
    assert "fixtures/catalog" not in failed
    prod = suites["prod"]
    by_name = {c.get("name"): c for c in prod.findall("testcase")}
    assert by_name["shop/unreadable"].find("error") is not None
    assert by_name["shop/backend-api"].find("failure") is not None
    assert "shop/stray" not in by_name  # unmanaged objects are not tests
    staging = suites["staging"].findall("testcase")
    assert [c.find("error") is not None for c in staging] == [True]
    assert int(root.get("failures", "0")) == sum(
        int(s.get("failures", "0")) for s in suites.values()
    )


def test_ignored_only_resources_pass_in_junit() -> None:
    item = _hand_items()[0]
    quiet = DriftItem(item.key, item.api_version, ResourceStatus.IN_SYNC, (item.fields[1],), "prod")
    root = ET.fromstring(
        render(_report(EnvironmentReport("prod", items=(quiet,))), "junit").split("\n", 1)[1]
    )
    (case,) = root.iter("testcase")
    assert case.find("failure") is None
    assert case.find("error") is None


def test_table_shows_attribution_markers_cost_and_summary() -> None:
    text = render(ALL, "table")
    assert "kubectl (scale), time unknown" in text
    assert "owner ConfigHub" in text
    assert "rolling out" in text
    assert "HPA backend-api 2-4" in text
    assert "cost +$26.13/month" in text
    assert "ignored (labels-are-fine)" in text
    assert "ERROR: cannot watch apps/v1 Deployment: 403 Forbidden" in text
    assert text.rstrip().splitlines()[-1].startswith("Summary: ")
    assert "\x1b[" not in text
    assert "\x1b[" in render(ALL, "table", color=True)


def test_table_of_a_clean_report_says_so() -> None:
    item = DriftItem(
        ResourceKey("", "ConfigMap", "a", "b"), "v1", ResourceStatus.IN_SYNC, environment="x"
    )
    text = render(_report(EnvironmentReport("x", items=(item,))), "table")
    assert "no drift" in text
    assert "1 in sync" in text


def test_markdown_for_pull_requests() -> None:
    text = render(ALL, "markdown")
    assert text.startswith("## drifttui drift report")
    assert "| Severity | Resource | Field | Change | Desired | Live | Who |" in text
    assert "`y\\|z`" in text  # pipes escaped inside cells
    assert "kubectl (scale), time unknown" in text
    assert "rolling out" in text
    assert "+$26.13/month" in text
    assert "❌ errors" in text


def test_yaml_matches_json() -> None:
    import yaml

    assert yaml.safe_load(render(ALL, "yaml")) == json.loads(render(ALL, "json"))


def test_exit_codes() -> None:
    clean = DriftItem(ResourceKey("", "ConfigMap", "a", "b"), "v1", ResourceStatus.IN_SYNC)
    assert _report(EnvironmentReport("x", items=(clean,))).exit_code == 0
    assert _report(EnvironmentReport("x", items=(clean, _hand_items()[0]))).exit_code == 1
    assert (
        _report(
            EnvironmentReport("x", items=(clean,)), EnvironmentReport("y", error="down")
        ).exit_code
        == 2
    )


def test_parse_outputs() -> None:
    assert parse_outputs(None) == [OutputSpec("table")]
    assert parse_outputs(["json", "sarif=out/d.sarif", "md=d.md"]) == [
        OutputSpec("json"),
        OutputSpec("sarif", "out/d.sarif"),
        OutputSpec("markdown", "d.md"),
    ]
    with pytest.raises(ConfigError, match="unknown output format 'xlsx'"):
        parse_outputs(["xlsx"])
    with pytest.raises(ConfigError, match="no file after ="):
        parse_outputs(["json="])
    with pytest.raises(ConfigError, match="-o json and -o yaml would both go to standard output"):
        parse_outputs(["json", "table=t.txt", "yaml"])
    with pytest.raises(ConfigError, match="name the same file"):
        parse_outputs(["json=r.out", "sarif=r.out"])
    assert [o.path for o in parse_outputs(["table", "json=r.json", "sarif=r.sarif"])] == [
        None,
        "r.json",
        "r.sarif",
    ]


def test_write_outputs_writes_files_and_stdout(tmp_path: Path) -> None:
    out = io.StringIO()
    write_outputs(ALL, [OutputSpec("json", str(tmp_path / "r.json")), OutputSpec("table")], out)
    assert json.loads((tmp_path / "r.json").read_text())["schemaVersion"] == "drifttui.report/v1"
    assert out.getvalue().startswith("drifttui ")
    with pytest.raises(InputError, match="cannot write the json report"):
        write_outputs(ALL, [OutputSpec("json", str(tmp_path / "no" / "dir" / "r.json"))], out)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert use_color(_Tty(), {"TERM": "xterm"}) is True
    assert use_color(_Tty(), {"TERM": "xterm", "NO_COLOR": ""}) is False
    assert use_color(io.StringIO(), {"TERM": "xterm"}) is False
