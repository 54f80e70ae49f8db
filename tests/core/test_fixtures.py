"""The 15 cases captured from a real kube-apiserver v1.28.7 (tests/fixtures/k8s-v1.28)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drifttui.core.diff import DiffContext, diff_objects
from drifttui.core.models import MASK, ResourceStatus

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures" / "k8s-v1.28").glob("*.json"))


def _case(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_all_fifteen_fixtures_are_present() -> None:
    assert len(FIXTURES) == 15


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_findings_match_exactly(path: Path) -> None:
    case = _case(path)
    items = diff_objects(
        case["desired"],
        [o for o in case["live"] if o],
        DiffContext(environment="fixtures", default_namespace=case["namespace"]),
    )
    got = {(i.key.kind, i.key.name, f.path_str, str(f.change)) for i in items for f in i.fields}
    assert got == {tuple(e) for e in case["expected"]}
    drifted = [i for i in items if i.is_drifted]
    if path.stem.startswith("nd-"):
        assert drifted == []
        assert all(i.status is ResourceStatus.IN_SYNC for i in items)
    else:
        assert drifted, "a d- case must report drift"
        assert all(f.counts for i in items for f in i.fields)


@pytest.mark.parametrize(
    ("stem", "manager", "time"),
    [
        ("d-annotation-by-human", "kubectl-annotate", "2026-11-25T03:40:11Z"),
        ("d-configmap-binarydata-added", "kubectl-patch", "2026-11-25T03:40:14Z"),
        ("d-nodeport-changed", "kubectl-patch", "2026-11-25T03:40:13Z"),
        ("d-role-rule-added", "kubectl-patch", "2026-11-25T03:40:15Z"),
        ("d-serviceaccount-set", "kubectl-set", "2026-11-25T03:40:10Z"),
        ("d-toleration-added", "kubectl-patch", "2026-11-25T03:40:12Z"),
        ("d-pdb-minavailable", "kubectl-patch", "2026-11-25T03:40:15Z"),
    ],
)
def test_fixture_findings_name_the_person_who_wrote_them(
    stem: str, manager: str, time: str
) -> None:
    case = _case(next(p for p in FIXTURES if p.stem == stem))
    items = diff_objects(case["desired"], [o for o in case["live"] if o], DiffContext())
    (finding,) = [f for i in items for f in i.fields]
    assert finding.attribution is not None
    assert (finding.attribution.manager, finding.attribution.time) == (manager, time)
    assert finding.attribution.is_human


def test_removed_env_var_has_no_owner_because_removals_leave_no_trace() -> None:
    case = _case(next(p for p in FIXTURES if p.stem == "d-env-removed"))
    (item,) = diff_objects(case["desired"], case["live"], DiffContext())
    (finding,) = item.fields
    assert finding.attribution is None
    assert finding.desired == {"name": "SMTP_PORT", "value": "587"}
    assert finding.live is None
    assert finding.pointer == "/spec/template/spec/containers/0/env/1"


def test_fixture_values_are_reported_as_people_see_them() -> None:
    case = _case(next(p for p in FIXTURES if p.stem == "d-nodeport-changed"))
    (item,) = diff_objects(case["desired"], case["live"], DiffContext())
    (finding,) = item.fields
    assert (finding.desired, finding.live) == (30443, 30444)
    assert finding.pointer == "/spec/ports/0/nodePort"
    assert MASK not in json.dumps([finding.desired, finding.live])
