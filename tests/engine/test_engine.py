"""The engine on the demo world: the story's drift exactly, event-driven updates, and every
remediation (patch, accept, promote, rollback) ending in the state a user expects."""

from __future__ import annotations

import threading

import pytest

from drifttui.core.models import ResourceKey, ResourceStatus
from drifttui.demo import DemoWorld
from drifttui.engine import DriftEvent
from drifttui.remediation import ReadOnlyError, autofix_decision
from tests.engine.conftest import wait_until

NS = "drift-test"
BACKEND = ResourceKey("apps", "Deployment", NS, "backend-api")
FRONTEND = ResourceKey("apps", "Deployment", NS, "frontend-web")
APP_CONFIG = ResourceKey("", "ConfigMap", NS, "app-config")
FLAGS = ResourceKey("", "ConfigMap", NS, "feature-flags")
SECRET = ResourceKey("", "Secret", NS, "api-credentials")
SERVICE = ResourceKey("", "Service", NS, "backend-api")
CHECKOUT = ResourceKey("apps", "Deployment", NS, "checkout-worker")


def findings(world: DemoWorld, env: str) -> set[tuple[str, str, str]]:
    return {
        (i.key.name if i.key.kind != "Service" else "svc/" + i.key.name, f.path_str, str(f.change))
        for i in world.engine.store.drifted(env)
        for f in i.counted or i.fields
    }


def test_the_story_shows_up_exactly_as_scripted(world: DemoWorld) -> None:
    assert findings(world, "prod") == {
        ("backend-api", "spec.replicas", "changed"),
        ("backend-api", "metadata.labels.debug", "added"),
        ("frontend-web", "spec.replicas", "changed"),
        ("frontend-web", "spec.template.spec.containers[name=web].image", "changed"),
        ("app-config", "data.LOG_LEVEL", "changed"),
        ("api-credentials", "data.DATABASE_PASSWORD", "changed"),
        ("svc/backend-api", "spec.ports[name=http].targetPort", "changed"),
        ("feature-flags", "", "missing"),
    }
    assert findings(world, "staging") == set()
    # the HPA's own scaling of checkout-worker is not drift
    checkout = world.engine.store.get("prod", CHECKOUT)
    assert checkout is not None
    assert checkout.status is ResourceStatus.IN_SYNC


def test_secret_values_never_reach_the_store(world: DemoWorld) -> None:
    item = world.engine.store.get("prod", SECRET)
    assert item is not None
    text = repr(item)
    assert "rotated-by-hand" not in text
    assert "cm90YXRlZC1ieS1oYW5k" not in text  # base64 of the rotated value


def test_watch_events_update_the_store_and_emit_one_event_per_change(
    watched: tuple[DemoWorld, threading.Event],
) -> None:
    world, _ = watched
    events: list[DriftEvent] = []
    world.engine.subscribe(events.append)
    world.clusters["prod"].scale("Deployment", NS, "backend-api", 7, manager="kubectl")
    wait_until(lambda: any(e.key == BACKEND and e.opened for e in events), what="drift opened")
    item = world.engine.store.get("prod", BACKEND)
    assert item is not None
    (replicas,) = [f for f in item.counted if f.path_str == "spec.replicas"]
    assert (replicas.desired, replicas.live) == (3, 7)
    assert replicas.attribution is not None
    assert replicas.attribution.manager == "kubectl"
    assert [e for e in events if e.environment != "prod"] == []
    world.clusters["prod"].scale("Deployment", NS, "backend-api", 3, manager="kubectl")
    wait_until(lambda: any(e.key == BACKEND and e.closed for e in events), what="drift closed")


def test_patch_live_puts_the_cluster_back_and_closes_the_record(world: DemoWorld) -> None:
    rem = world.runtime.remediator
    records = world.runtime.records
    assert records is not None
    records.open_or_update("prod", world.engine.store.get("prod", BACKEND))
    plan = rem.plan_patch("prod", BACKEND)
    assert plan.production
    assert plan.confirm_name == "backend-api"
    assert "spec.replicas: 5 -> 3" in plan.lines
    preview = rem.preview(plan)
    assert preview.ok
    assert preview.dry_run
    assert (
        world.clusters["prod"].get("apps/v1", "Deployment", NS, "backend-api")["spec"]["replicas"]
        == 5
    )  # a dry-run writes nothing
    outcome = rem.execute(plan)
    assert outcome.ok, outcome.message
    live = world.clusters["prod"].get("apps/v1", "Deployment", NS, "backend-api")
    assert live["spec"]["replicas"] == 3
    assert "debug" not in live["metadata"].get("labels", {})
    assert world.engine.store.get("prod", BACKEND).status is ResourceStatus.IN_SYNC
    (info,) = [r for r in records.list() if r.name == "backend-api" and r.environment == "prod"]
    assert info.status == "corrected"


def test_patch_recreates_a_missing_object(world: DemoWorld) -> None:
    rem = world.runtime.remediator
    outcome = rem.execute(rem.plan_patch("prod", FLAGS))
    assert outcome.ok, outcome.message
    assert world.clusters["prod"].get("v1", "ConfigMap", NS, "feature-flags") is not None
    assert world.engine.store.get("prod", FLAGS).status is ResourceStatus.IN_SYNC


def test_accept_writes_a_new_revision_with_the_live_value(world: DemoWorld) -> None:
    hub, rem = world.runtime.hub, world.runtime.remediator
    before = hub.get_unit("demo-prod", "app-config").head_revision
    plan = rem.plan_accept("prod", APP_CONFIG)
    assert "data.LOG_LEVEL: info -> debug" in plan.lines
    assert rem.execute(plan).ok
    unit = hub.get_unit("demo-prod", "app-config")
    assert unit.head_revision == before + 1
    assert "LOG_LEVEL: debug" in hub.get_unit_data("demo-prod", "app-config")
    assert world.engine.store.get("prod", APP_CONFIG).status is ResourceStatus.IN_SYNC
    revisions = hub.list_revisions("demo-prod", "app-config")
    assert "Accept live values" in revisions[-1].description or "Accept live values" in (
        revisions[0].description
    )


def test_promote_upgrades_the_downstream_unit(world: DemoWorld) -> None:
    hub, rem = world.runtime.hub, world.runtime.remediator
    text = hub.get_unit_data("demo-dev", "frontend-web").replace("replicas: 2", "replicas: 4")
    hub.update_unit_data("demo-dev", "frontend-web", text, "dev runs 4 replicas")
    plan = rem.plan_promote("dev", FRONTEND)
    assert plan.environment == "staging"
    assert plan.target_space == "demo-staging"
    assert any("spec.replicas" in line for line in plan.lines)
    assert rem.execute(plan).ok
    assert "replicas: 4" in hub.get_unit_data("demo-staging", "frontend-web")
    with pytest.raises(Exception, match="nothing downstream"):
        rem.plan_promote("prod", FRONTEND)


def test_rollback_restores_the_chosen_revision_and_reapplies(world: DemoWorld) -> None:
    hub, rem = world.runtime.hub, world.runtime.remediator
    original = hub.get_unit_data("demo-staging", "backend-api")
    hub.update_unit_data(
        "demo-staging",
        "backend-api",
        original.replace("replicas: 3", "replicas: 6"),
        "scale up for the sale",
    )
    world.engine.load_desired("staging")
    assert world.engine.store.get("staging", BACKEND).is_drifted  # desired moved, live did not
    head = hub.get_unit("demo-staging", "backend-api").head_revision
    plan = rem.plan_rollback("staging", "backend-api")
    assert plan.revision == head - 1
    outcome = rem.execute(plan)
    assert outcome.ok, outcome.message
    assert hub.get_unit("demo-staging", "backend-api").head_revision == head + 1
    assert "replicas: 3" in hub.get_unit_data("demo-staging", "backend-api")
    assert not world.engine.store.get("staging", BACKEND).is_drifted


def test_read_only_refuses_every_write(world: DemoWorld) -> None:
    rem = world.runtime.remediator
    rem.read_only = True
    plan = rem.plan_patch("prod", BACKEND)
    with pytest.raises(ReadOnlyError, match="read-only"):
        rem.execute(plan)
    live = world.clusters["prod"].get("apps/v1", "Deployment", NS, "backend-api")
    assert live["spec"]["replicas"] == 5


def test_autofix_never_touches_production_and_only_safe_findings(world: DemoWorld) -> None:
    from dataclasses import replace

    prod = replace(world.engine.state("prod").env, auto_fix=True)
    dev = replace(world.engine.state("dev").env, auto_fix=True)
    backend = world.engine.store.get("prod", BACKEND)
    ok, why = autofix_decision(prod, backend, global_auto_fix=True, selected_by_filter=True)
    assert not ok
    assert "production" in why
    allowed = replace(prod, allow_auto_fix_in_production=True)
    secret = world.engine.store.get("prod", SECRET)
    ok, why = autofix_decision(allowed, secret, global_auto_fix=True, selected_by_filter=True)
    assert not ok
    assert "not safe" in why
    frontend_dev = world.engine.store.get("dev", FRONTEND)
    assert autofix_decision(dev, frontend_dev, global_auto_fix=True, selected_by_filter=True)[0]
    assert not autofix_decision(dev, frontend_dev, global_auto_fix=False, selected_by_filter=True)[
        0
    ]
    assert not autofix_decision(dev, frontend_dev, global_auto_fix=True, selected_by_filter=False)[
        0
    ]


def test_missing_is_never_reported_before_the_first_list() -> None:
    from drifttui.demo import build_demo

    w = build_demo()
    try:
        w.engine.load_desired("prod")
        assert w.engine.store.drifted("prod") == []
        assert not any(i.status is ResourceStatus.MISSING for i in w.engine.items("prod"))
    finally:
        w.close()


def test_unit_with_bad_yaml_is_an_error_not_clean(world: DemoWorld) -> None:
    import sqlite3

    from drifttui.snapshot import engine_report

    hub = world.runtime.hub
    hub.create_unit("demo-dev", "broken", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    # another client (the real ConfigHub accepts any text) left data we cannot parse
    with sqlite3.connect(world.hub_path) as db:
        db.execute("UPDATE units SET data = ? WHERE slug = 'broken'", ("kind: [unclosed\n",))
    world.engine.snapshot_environment("dev")
    report = engine_report(world.engine, ["dev"])
    assert report.exit_code == 2
    errors = [i for i in report.environments[0].items if i.status is ResourceStatus.ERROR]
    assert errors
    assert "demo-dev/broken" in (errors[0].error or "")


def test_rollback_plan_hides_credential_values_but_counts_their_change(world: DemoWorld) -> None:
    """Rolling back a ConfigMap whose DB_PASSWORD changed: the preview (the TUI's R key)
    names the other changes and counts the hidden one; the hub gets the real old value."""
    hub, rem = world.runtime.hub, world.runtime.remediator
    original = hub.get_unit_data("demo-staging", "app-config")
    first = original.replace("\ndata:\n", "\ndata:\n  DB_PASSWORD: first-pass-4242\n", 1)
    assert first != original
    hub.update_unit_data("demo-staging", "app-config", first, "add the password")
    second = first.replace("first-pass-4242", "second-pass-8686").replace("LOG_LEVEL", "LOGLEVEL")
    hub.update_unit_data("demo-staging", "app-config", second, "rotate it")
    plan = rem.plan_rollback("staging", "app-config")
    text = "\n".join(plan.lines)
    assert "first-pass-4242" not in text
    assert "second-pass-8686" not in text
    assert "1 credential value(s) change (values hidden)" in plan.lines
    assert any("LOG_LEVEL" in line for line in plan.lines)  # the rest is still shown
    assert rem.execute(plan).ok
    assert "DB_PASSWORD: first-pass-4242" in hub.get_unit_data("demo-staging", "app-config")
