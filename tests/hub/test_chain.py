"""The environment chain: init (idempotent), discovery from labels, import, promote with
local customisations kept, rollback; on both hubs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drifttui.errors import InputError, NotFoundError
from drifttui.hub.chain import (
    clean_object,
    describe_change,
    discover_chain,
    execute_promotion,
    execute_rollback,
    import_objects,
    init_chain,
    plan_promotion,
    plan_rollback,
    read_manifest_files,
    resolve_space,
)
from drifttui.hub.protocol import Hub
from drifttui.manifests import detector_objects
from tests.hub.conftest import deployment


def obj(text: str) -> dict:
    return yaml.safe_load(text)


def test_init_builds_the_chain_once(hub: Hub) -> None:
    first = init_chain(hub, "shop")
    assert first.changed
    spaces = {s.slug: s for s in hub.list_spaces()}
    assert sorted(spaces) == [
        "shop-base",
        "shop-dev",
        "shop-drift-records",
        "shop-filters",
        "shop-prod",
        "shop-staging",
    ]
    assert spaces["shop-staging"].labels["drifttui.upstream"] == "shop-dev"
    assert spaces["shop-prod"].labels["drifttui.production"] == "true"
    base = hub.list_units("shop-base")
    assert len(base) == len(detector_objects())
    assert "drift-detector" in {u.slug for u in base}
    kinds = {yaml.safe_load(hub.get_unit_data("shop-base", u.slug))["kind"] for u in base}
    assert {"Namespace", "Deployment", "Service", "ClusterRole", "ServiceAccount"} <= kinds
    prod = hub.list_units("shop-prod")
    staging_ids = {u.id for u in hub.list_units("shop-staging")}
    assert len(prod) == len(detector_objects())
    assert all(u.upstream_unit_id in staging_ids for u in prod)
    assert [s.slug for s in hub.list_sets("shop-drift-records")] == [
        "corrected-drifts",
        "critical-drifts",
        "replica-drifts",
        "resource-drifts",
    ]
    assert [f.slug for f in hub.list_filters("shop-filters")] == [
        "auto-correctable",
        "manual-review",
        "production-drift",
        "security-drift",
    ]
    again = init_chain(hub, "shop")
    assert again.actions == []
    assert len(hub.list_units(None)) == 4 * len(detector_objects())


def test_detector_rbac_is_least_privilege(hub: Hub) -> None:
    init_chain(hub, "p", ["dev"])
    read = obj(hub.get_unit_data("p-base", "drift-detector-read"))
    verbs = {v for rule in read["rules"] for v in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    patch = hub.get_unit("p-base", "drift-detector-patch")
    assert patch.labels["drifttui-requires"] == "auto-fix"
    dep = obj(hub.get_unit_data("p-base", "drift-detector"))
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_discover_chain_orders_environments(hub: Hub) -> None:
    init_chain(hub, "a", ["dev", "prod"], base_objects=[])
    init_chain(hub, "b", ["qa"], base_objects=[])
    chain_a = discover_chain(hub, "a")
    assert [(e.name, e.space, e.upstream) for e in chain_a] == [
        ("base", "a-base", None),
        ("dev", "a-dev", "a-base"),
        ("prod", "a-prod", "a-dev"),
    ]
    assert chain_a[0].is_base
    assert chain_a[-1].production
    assert not chain_a[1].production
    assert [e.space for e in discover_chain(hub)] == ["a-base", "a-dev", "a-prod", "b-base", "b-qa"]
    assert resolve_space(hub, "qa") == "b-qa"
    assert resolve_space(hub, "a-dev") == "a-dev"
    with pytest.raises(InputError, match="several chains"):
        resolve_space(hub, "base")
    with pytest.raises(NotFoundError, match="no space or environment named 'zz'"):
        resolve_space(hub, "zz")


def test_import_makes_revisions_not_new_units(hub: Hub, tmp_path: Path) -> None:
    hub.create_space("s")
    f = tmp_path / "app.yaml"
    svc = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: backend-api}\n"
        "spec: {ports: [{port: 80}]}\n"
    )
    f.write_text(deployment() + "---\n" + svc)
    first = import_objects(hub, "s", read_manifest_files([f]))
    assert [(r.slug, r.action) for r in first] == [
        ("backend-api", "created"),
        ("service-backend-api", "created"),
    ]
    f.write_text(deployment(replicas=4) + "---\n" + svc)
    second = import_objects(hub, "s", read_manifest_files([f]))
    assert [(r.slug, r.action, r.revision) for r in second] == [
        ("backend-api", "updated", 2),
        ("service-backend-api", "unchanged", 1),
    ]
    assert len(hub.list_units("s")) == 2


def test_import_drops_server_fields_and_reads_lists(tmp_path: Path) -> None:
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "c",
            "uid": "1",
            "resourceVersion": "9",
            "managedFields": [],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        },
        "data": {"a": "b"},
        "status": {},
    }
    assert clean_object(live) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "b"},
    }
    f = tmp_path / "list.yaml"
    f.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [live, live]}))
    assert len(read_manifest_files([tmp_path])) == 2
    (tmp_path / "bad.yml").write_text("kind: x\n")
    with pytest.raises(InputError, match=r"bad\.yml"):
        read_manifest_files([tmp_path])
    with pytest.raises(InputError, match="file not found"):
        read_manifest_files([tmp_path / "nope.yaml"])


def test_promote_clones_new_units_and_upgrades_keeping_local_edits(hub: Hub) -> None:
    init_chain(hub, "c", ["dev", "staging"], base_objects=[])
    import_objects(hub, "c-base", [obj(deployment())])
    plan = plan_promotion(hub, "c-base", "c-dev")
    assert [(p.action, p.unit) for p in plan.units] == [("clone", "backend-api")]
    execute_promotion(hub, plan)
    execute_promotion(hub, plan_promotion(hub, "c-dev", "c-staging"))
    import_objects(hub, "c-staging", [obj(deployment(replicas=5))])  # local customisation
    import_objects(hub, "c-dev", [obj(deployment(image="nginx:1.27"))])
    plan = plan_promotion(hub, "c-dev", "c-staging")
    (p,) = plan.units
    assert p.action == "upgrade"
    assert [describe_change(c) for c in p.changes] == [
        "~ spec.template.spec.containers[name=web].image: nginx:1.25 -> nginx:1.27"
    ]
    result = execute_promotion(hub, plan, "release 1.27")
    assert result.ok
    assert result.changeset_id
    d = obj(hub.get_unit_data("c-staging", "backend-api"))
    assert d["spec"]["replicas"] == 5
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    (cs,) = [c for c in hub.list_changesets("c-staging") if c.id == result.changeset_id]
    assert cs.units == ("c-staging/backend-api",)
    assert cs.description == "release 1.27"
    again = plan_promotion(hub, "c-dev", "c-staging")
    assert [p.action for p in again.units] == ["up-to-date"]
    assert not again.writes


def test_promote_reports_conflicts_and_skips_non_clones(hub: Hub) -> None:
    init_chain(hub, "c", ["dev"], base_objects=[])
    import_objects(hub, "c-base", [obj(deployment())])
    execute_promotion(hub, plan_promotion(hub, "c-base", "c-dev"))
    import_objects(hub, "c-dev", [obj(deployment(replicas=9))])
    import_objects(hub, "c-base", [obj(deployment(replicas=1))])
    import_objects(hub, "c-dev", [obj(deployment("local-only"))])
    import_objects(hub, "c-base", [obj(deployment("local-only", replicas=2))])
    plan = plan_promotion(hub, "c-base", "c-dev")
    by = {p.unit: p for p in plan.units}
    assert by["backend-api"].conflicts == ("spec.replicas",)
    assert by["local-only"].action == "skip"
    assert "not a clone" in by["local-only"].reason
    execute_promotion(hub, plan)
    assert obj(hub.get_unit_data("c-dev", "backend-api"))["spec"]["replicas"] == 9
    assert hub.get_unit("c-dev", "local-only").upstream_unit_id is None


def test_rollback_restores_the_previous_revision_as_a_new_one(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    hub.update_unit_data("s", "u", deployment(image="nginx:2"), "upgrade")
    plan = plan_rollback(hub, "s", "u")
    assert (plan.head, plan.revision) == (2, 1)
    assert [c.path for c in plan.changes] == ["spec.template.spec.containers[name=web].image"]
    u = execute_rollback(hub, plan)
    assert u.head_revision == 3
    assert hub.get_unit_data("s", "u") == deployment()
    assert plan_rollback(hub, "s", "u", 2).changes  # rolling back the rollback
    with pytest.raises(NotFoundError, match="no revision 9"):
        plan_rollback(hub, "s", "u", 9)


def test_rollback_of_a_fresh_unit_is_refused(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    with pytest.raises(InputError, match="no earlier revision"):
        plan_rollback(hub, "s", "u")
