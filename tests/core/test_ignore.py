"""User ignore rules: compile errors, matching forms, scope, and the silence preview."""

from __future__ import annotations

from typing import Any

import pytest

from drifttui.core.ignore import compile_rules, count_silenced, silenced_findings
from drifttui.core.models import ResourceStatus
from drifttui.errors import ConfigError

from .k8s import container, ctx, deployment, diff, diff_objects, edit, nest, served


def _drifted() -> tuple[dict[str, Any], dict[str, Any]]:
    d = deployment()
    live = served(d)
    live["spec"]["replicas"] = 5
    edit(live, "kubectl", nest("spec|replicas"), subresource="scale")
    live["spec"]["template"]["spec"]["containers"].append(
        {"name": "istio-proxy", "image": "istio/proxyv2"}
    )
    edit(
        live,
        "kubectl-edit",
        nest(
            "spec|template|spec|containers|" + 'k:{"name":"istio-proxy"}', {".": {}, "f:image": {}}
        ),
    )
    container(live)["image"] = "web:hotfix"
    edit(live, "vpa-recommender", nest("spec|template|spec|containers|" + 'k:{"name":"web"}|image'))
    return d, live


def _ignored(rules: list[dict[str, Any]], **kw: Any) -> dict[str, str | None]:
    d, live = _drifted()
    item = diff(d, live, ignore_rules=compile_rules(rules), **kw)
    return {f.path_str: f.ignored_by for f in item.fields}


def test_selector_path_rule_silences_the_container_and_names_itself() -> None:
    got = _ignored(
        [
            {
                "name": "istio",
                "path": "spec.template.spec.containers[name=istio-proxy]",
                "kind": "Deployment",
            }
        ]
    )
    assert got == {
        "spec.replicas": None,
        "spec.template.spec.containers[name=istio-proxy]": "istio",
        "spec.template.spec.containers[name=web].image": None,
    }


def test_pointer_rule_and_managers_rule() -> None:
    got = _ignored(
        [{"pointer": "/spec/replicas"}, {"name": "vpa", "managers": ["vpa-recommender"]}]
    )
    assert got["spec.replicas"] == "rule-1"
    assert got["spec.template.spec.containers[name=web].image"] == "vpa"
    assert got["spec.template.spec.containers[name=istio-proxy]"] is None


def test_wildcards() -> None:
    assert (
        _ignored([{"path": "**.containers[*].image"}])[
            "spec.template.spec.containers[name=web].image"
        ]
        == "rule-1"
    )
    assert (
        _ignored([{"pointer": "/spec/template/spec/containers/*/image"}])[
            "spec.template.spec.containers[name=web].image"
        ]
        == "rule-1"
    )
    assert _ignored([{"path": "spec.*"}])["spec.replicas"] == "rule-1"


def test_path_rules_match_at_element_boundaries_only() -> None:
    assert _ignored([{"path": "spec.replica"}])["spec.replicas"] is None
    assert _ignored([{"path": "spec"}])["spec.replicas"] == "rule-1"


@pytest.mark.parametrize(
    ("scope", "silenced"),
    [
        ({"kind": "Deployment"}, True),
        ({"kind": "StatefulSet"}, False),
        ({"kind": ["StatefulSet", "Deploy.*"]}, True),
        ({"namespace": "sh.p"}, True),
        ({"resourceName": "api"}, False),
        ({"environment": "prod"}, False),
        ({"environment": "test"}, True),
        ({"group": "apps"}, True),
    ],
)
def test_scope(scope: dict[str, Any], silenced: bool) -> None:
    got = _ignored([{"path": "spec.replicas", **scope}])
    assert (got["spec.replicas"] is not None) is silenced


def test_ignored_findings_do_not_count_and_the_object_can_be_in_sync() -> None:
    d, live = _drifted()
    rules = compile_rules([{"path": "spec"}])
    item = diff(d, live, ignore_rules=rules)
    assert item.status is ResourceStatus.IN_SYNC
    assert not item.is_drifted
    assert all(f.ignored_by == "rule-1" for f in item.fields)


def test_a_rule_never_hides_a_missing_object() -> None:
    rules = compile_rules([{"path": "**", "kind": "Deployment"}, {"pointer": "/"}])
    (item,) = diff_objects([deployment()], [], ctx(ignore_rules=rules))
    assert item.status is ResourceStatus.MISSING
    assert item.is_drifted


def test_count_silenced_previews_a_rule_over_many_items() -> None:
    d, live = _drifted()
    d2 = deployment("api")
    live2 = served(d2)
    live2["spec"]["replicas"] = 9
    items = diff_objects([d, d2], [live, live2], ctx())
    (rule,) = compile_rules([{"pointer": "/spec/replicas"}])
    assert count_silenced(rule, items) == 2
    (narrow,) = compile_rules([{"pointer": "/spec/replicas", "resourceName": "api"}])
    assert count_silenced(narrow, items) == 1
    assert [f.path_str for _, f in silenced_findings(narrow, items)] == ["spec.replicas"]
    # already ignored findings are not counted twice
    items = diff_objects(
        [d, d2], [live, live2], ctx(ignore_rules=compile_rules([{"path": "spec.replicas"}]))
    )
    assert count_silenced(rule, items) == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("spec.replicas", "list of mappings"),
        ([42], "must be a mapping"),
        ([{"kind": "Deployment"}], "names nothing to ignore"),
        ([{"path": ""}], "is empty"),
        ([{"path": "spec.containers[name=x"}], "unbalanced"),
        ([{"path": "spec..replicas"}], "empty element"),
        ([{"pointer": "spec/replicas"}], "must start with /"),
        ([{"path": "a", "kind": "("}], "not a valid regular expression"),
        ([{"path": "a", "color": "red"}], "unknown key 'color'"),
        ([{"managers": 7}], "must be a string or a list"),
        ([{"name": "x", "path": "a"}, {"name": "x", "path": "b"}], "repeat: x"),
        ([{"path": "a", "kind": "A", "kinds": "B"}], "given twice"),
    ],
)
def test_bad_rules_give_one_clear_line(raw: Any, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        compile_rules(raw)
    text = str(exc.value)
    assert message in text
    assert "\n" not in text
    if isinstance(raw, list) and raw and "repeat" not in message:
        assert "ignore[" in text
