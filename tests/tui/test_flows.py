"""Every key of the TUI, driven through Pilot on the demo world, checked on screen AND in
the hub and the simulated clusters (what an operator would verify with kubectl and cub)."""

from __future__ import annotations

import pytest
import yaml

from drifttui.core.models import ResourceStatus
from drifttui.demo import DemoWorld
from drifttui.tui.screens.confirm import ConfirmScreen
from drifttui.tui.screens.detail import DetailScreen
from drifttui.tui.screens.help import HelpScreen
from drifttui.tui.screens.ignore import IgnoreScreen
from drifttui.tui.screens.rollback import RollbackScreen
from tests.tui.conftest import (
    BACKEND,
    CHECKOUT,
    FRONTEND,
    NS,
    SECRET,
    filter_to,
    settle,
    tui,
    wait_for,
)


def live_replicas(world: DemoWorld, env: str, name: str) -> int:
    obj = world.clusters[env].get("apps/v1", "Deployment", NS, name)
    assert obj is not None
    return int(obj["spec"]["replicas"])


def unit_doc(world: DemoWorld, space: str, unit: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(world.runtime.hub.get_unit_data(space, unit))  # type: ignore[no-any-return]


def shown(app: object) -> list[tuple[str, str, str]]:
    return [(r.environment, r.key.name, r.field) for r in app.main.table.rows]  # type: ignore[attr-defined]


async def test_the_story_shows_up_as_rows_with_the_pulse_counting_it(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        rows = shown(app)
        assert ("prod", "backend-api", "spec.replicas") in rows
        assert ("prod", "feature-flags", "(whole object)") in rows
        assert ("dev", "frontend-web", "spec.replicas") in rows
        assert len(rows) == 10
        pulse = {line.environment: line for line in app.main.query_one("Pulse").lines}  # type: ignore[attr-defined]
        assert pulse["prod"].figures.drifted == 6
        assert pulse["staging"].figures.drifted == 0
        assert pulse["prod"].figures.monthly_cost_usd > 0  # backend-api runs 2 more replicas
        secret_row = next(r for r in app.main.table.rows if r.key == SECRET)
        assert (secret_row.desired, secret_row.live) == ("***", "***")


async def test_patch_puts_live_back_to_desired_and_the_row_clears(world: DemoWorld) -> None:
    assert live_replicas(world, "prod", "backend-api") == 5
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "backend-api replicas")
        assert shown(app) == [("prod", "backend-api", "spec.replicas")]
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.proposal.production
        assert "spec.replicas: 5 -> 3" in confirm.proposal.plans[0].lines
        assert confirm.proposal.previews[0].ok  # the server dry-run accepted it
        await pilot.press(*"backend-api", "enter")
        await settle(pilot)
        assert live_replicas(world, "prod", "backend-api") == 3
        live = world.clusters["prod"].get("apps/v1", "Deployment", NS, "backend-api")
        assert "debug" not in live["metadata"].get("labels", {})  # type: ignore[index]
        assert shown(app) == []
        item = world.engine.store.get("prod", BACKEND)
        assert item is not None
        assert item.status is ResourceStatus.IN_SYNC
        prod = next(p for p in app.main.query_one("Pulse").lines if p.environment == "prod")  # type: ignore[attr-defined]
        assert prod.fixes == 1


async def test_production_needs_the_resource_name_typed(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "backend-api replicas")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("enter")  # nothing typed
        await pilot.press(*"frontend-web", "enter")  # the wrong name
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConfirmScreen)
        assert live_replicas(world, "prod", "backend-api") == 5
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert live_replicas(world, "prod", "backend-api") == 5
        assert shown(app) == [("prod", "backend-api", "spec.replicas")]


async def test_accept_writes_the_live_value_as_a_new_revision(world: DemoWorld) -> None:
    hub = world.runtime.hub
    before = len(hub.list_revisions("demo-dev", "frontend-web"))
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev frontend-web")
        assert shown(app) == [("dev", "frontend-web", "spec.replicas")]
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert not app.screen.proposal.production  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert unit_doc(world, "demo-dev", "frontend-web")["spec"]["replicas"] == 3
        revisions = hub.list_revisions("demo-dev", "frontend-web")
        assert len(revisions) == before + 1
        assert "Accept live values" in revisions[-1].description
        assert live_replicas(world, "dev", "frontend-web") == 3  # the cluster is left as it was
        assert shown(app) == []


async def test_promote_upgrades_the_downstream_unit(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev frontend-web")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "accept")
        await pilot.press("enter")
        await settle(pilot)
        assert unit_doc(world, "demo-staging", "frontend-web")["spec"]["replicas"] == 2
        # in sync now, so :all shows the resource to promote
        await filter_to(pilot, ":all :env dev deploy/frontend-web")
        assert shown(app) == [("dev", "frontend-web", "")]
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "promote")
        proposal = app.screen.proposal  # type: ignore[attr-defined]
        assert proposal.plans[0].target_space == "demo-staging"
        assert any("spec.replicas" in line for line in proposal.plans[0].lines)
        await pilot.press("enter")
        await settle(pilot)
        assert unit_doc(world, "demo-staging", "frontend-web")["spec"]["replicas"] == 3
        assert unit_doc(world, "demo-prod", "frontend-web")["spec"]["replicas"] == 2
        # staging's cluster still runs 2: the promotion shows up as drift to patch there
        await filter_to(pilot, ":env staging")
        rows = [r for r in app.main.table.rows if r.key == FRONTEND]
        assert [(r.field, r.desired, r.live) for r in rows] == [("spec.replicas", "3", "2")]


async def test_promote_from_the_last_environment_says_there_is_nowhere_to_go(
    world: DemoWorld,
) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "backend-api replicas")
        await pilot.press("P")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("Nothing downstream of prod" in n.message for n in app._notifications)


async def test_rollback_restores_the_chosen_revision_and_reapplies_it(world: DemoWorld) -> None:
    hub = world.runtime.hub
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev frontend-web")
        await pilot.press("a")  # revision 2: replicas 3 (the live value)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "accept")
        await pilot.press("enter")
        await settle(pilot)
        assert [r.num for r in hub.list_revisions("demo-dev", "frontend-web")] == [1, 2]
        await filter_to(pilot, ":all :env dev deploy/frontend-web")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, RollbackScreen), "the revisions")
        modal = app.screen
        assert isinstance(modal, RollbackScreen)
        assert [r.num for r in modal.choice.revisions] == [2, 1]
        await wait_for(pilot, lambda: 1 in modal.diffs, "the diff to revision 1")
        assert "-  replicas: 3" in modal.diffs[1]
        assert "+  replicas: 2" in modal.diffs[1]
        await pilot.press("enter")  # revision 1 is highlighted (the newest but head)
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert app.screen.proposal.plans[0].revision == 1  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        revisions = hub.list_revisions("demo-dev", "frontend-web")
        assert [r.num for r in revisions] == [1, 2, 3]
        assert hub.get_unit_data("demo-dev", "frontend-web") == hub.get_unit_data(
            "demo-dev", "frontend-web", 1
        )
        assert live_replicas(world, "dev", "frontend-web") == 2  # re-applied to the cluster


async def test_bulk_fix_patches_every_row_the_filter_shows(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev")
        assert len(shown(app)) == 2
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert len(app.screen.proposal.plans) == 2  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert live_replicas(world, "dev", "frontend-web") == 2
        checkout = world.clusters["dev"].get("apps/v1", "Deployment", NS, "checkout-worker")
        assert "owner" not in checkout["metadata"].get("labels", {})  # type: ignore[index]
        assert shown(app) == []
        assert live_replicas(world, "prod", "backend-api") == 5  # outside the filter


async def test_marked_rows_limit_the_bulk_fix(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev")
        first = app.main.table.current_row
        assert first is not None
        await pilot.press("space")
        assert app.main.table.marked == {first.row_key}
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        plans = app.screen.proposal.plans  # type: ignore[attr-defined]
        assert [p.key for p in plans] == [first.key]
        await pilot.press("enter")
        await settle(pilot)
        assert len(shown(app)) == 1
        assert shown(app)[0][1] != first.key.name


async def test_filters_narrow_the_list(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "replicas")
        assert {(e, n) for e, n, _ in shown(app)} == {
            ("prod", "backend-api"),
            ("prod", "frontend-web"),
            ("dev", "frontend-web"),
        }
        await filter_to(pilot, "replicas !dev")
        assert {e for e, _, _ in shown(app)} == {"prod"}
        await filter_to(pilot, ":env pr")  # a prefix names prod
        assert len(shown(app)) == 8
        assert app.main.has_class("-production-view")
        await filter_to(pilot, ":filter security-drift")  # a saved filter on the hub
        assert shown(app) == [("prod", "api-credentials", "data.DATABASE_PASSWORD")]
        await filter_to(pilot, ":set replica-drifts :env prod")  # a drift-record set
        assert {n for _, n, _ in shown(app)} == {"backend-api", "frontend-web"}
        await pilot.press("slash", *" :nonsense", "enter")  # appended to the current line
        await settle(pilot)
        assert {n for _, n, _ in shown(app)} == {"backend-api", "frontend-web"}  # unchanged
        assert any("unknown command :nonsense" in n.message for n in app._notifications)
        await pilot.press("slash", "escape")  # esc in the filter clears it
        await settle(pilot)
        assert len(shown(app)) == 10


async def test_command_key_opens_the_prompt_with_a_colon(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"env dev", "enter")
        await settle(pilot)
        assert {e for e, _, _ in shown(app)} == {"dev"}


async def test_read_only_refuses_every_write_and_says_so(world: DemoWorld) -> None:
    world.runtime.remediator.read_only = True
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev frontend-web")
        for key in ("p", "a", "P", "R", "b"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert not isinstance(app.screen, ConfirmScreen | RollbackScreen), key
        await settle(pilot)
        refusals = [n for n in app._notifications if "read-only" in n.message]
        assert len(refusals) == 5
        assert live_replicas(world, "dev", "frontend-web") == 3
        assert len(world.runtime.hub.list_revisions("demo-dev", "frontend-web")) == 1
        assert app.main.query_one("Pulse")._title.read_only  # type: ignore[attr-defined]


async def test_ignore_previews_what_the_rule_silences_then_applies_it(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "labels")
        assert {(e, n) for e, n, _ in shown(app)} == {
            ("prod", "backend-api"),
            ("dev", "checkout-worker"),
        }
        await filter_to(pilot, "metadata.labels.debug")
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, IgnoreScreen), "the ignore modal")
        choices = app.screen.choices  # type: ignore[attr-defined]
        assert [c.silenced for c in choices[:3]] == [1, 1, 1]
        assert choices[0].raw["path"] == "metadata.labels.debug"
        await pilot.press("enter")
        await settle(pilot)
        assert shown(app) == []
        item = world.engine.store.get("prod", BACKEND)
        assert item is not None
        debug = next(f for f in item.fields if f.path_str == "metadata.labels.debug")
        assert debug.ignored_by == choices[0].rule.name
        # the replicas drift of the same resource is still there
        await filter_to(pilot, "backend-api")
        assert ("prod", "backend-api", "spec.replicas") in shown(app)


async def test_analysis_pane_shows_the_analysts_verdicts(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "backend-api replicas")
        await pilot.press("c")
        await settle(pilot)
        assert app.main.analysis is not None
        assert app.main.analysis.source == "offline"
        # what the filter shows (backend-api: replicas and a label), not all ten findings
        assert len(app.main.analysis.verdicts) == 2
        markdown = app.main.query_one("#analysis").source  # type: ignore[attr-defined]
        assert "Offline analysis" in markdown
        assert "/month" in markdown
        await wait_for(pilot, lambda: "Offline analysis:" in "\n".join(log_lines(app)), "log")


def log_lines(app: object) -> list[str]:
    rich_log = app.main.query_one("#log")  # type: ignore[attr-defined]
    return [line.text for line in rich_log.lines]


async def test_log_pane_tells_the_story_in_the_seeds_words(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: len(log_lines(app)) > 5, "log lines")
        text = "\n".join(log_lines(app))
        assert "DRIFT DETECTED: backend-api has 5 replicas, expected 3 (prod)" in text
        assert "16:05:00" in text  # the app's clock, not the wall clock


async def test_enter_opens_the_detail_and_escape_comes_back(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "backend-api")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
        assert app.screen.data.item.key == BACKEND  # type: ignore[attr-defined]
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert not isinstance(app.screen, DetailScreen)


async def test_detail_pane_follows_the_cursor_and_loads_revisions(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":env dev")
        detail = app.main.query_one("#detail")
        first = detail.data.item.key  # type: ignore[attr-defined]
        await pilot.press("down")
        await wait_for(pilot, lambda: detail.data.item.key != first, "the detail to follow")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: detail.data.revisions is not None, "revisions")  # type: ignore[attr-defined]
        assert [r.num for r in detail.data.revisions] == [1]  # type: ignore[attr-defined]
        assert {first, detail.data.item.key} == {FRONTEND, CHECKOUT}  # type: ignore[attr-defined]


async def test_help_names_every_write_key(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        text = str(app.screen.query_one("#help-text").render())
        for word in ("Patch live", "Accept", "Promote", "Roll the unit back", "ctrl+p"):
            assert word in text
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert not isinstance(app.screen, HelpScreen)


async def test_resync_reads_desired_state_again(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, "backend-api replicas")
        assert len(shown(app)) == 1
        doc = unit_doc(world, "demo-prod", "backend-api")
        doc["spec"]["replicas"] = 5  # someone changes ConfigHub behind the TUI's back
        world.runtime.hub.update_unit_data(
            "demo-prod", "backend-api", yaml.safe_dump(doc), "scale to 5 in the hub"
        )
        assert len(shown(app)) == 1
        await pilot.press("r")
        await settle(pilot)
        assert shown(app) == []


async def test_sort_key_cycles_the_order(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main.view.sort.value == "severity"
        await pilot.press("s")
        assert app.main.view.sort.value == "age"
        ages = [r.changed_at or 0 for r in app.main.table.rows]
        assert ages == sorted(ages, reverse=True)


async def test_palette_runs_the_same_actions_as_the_keys(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"env: show dev")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert {e for e, _, _ in shown(app)} == {"dev"}


async def test_q_quits_with_exit_code_zero(world: DemoWorld) -> None:
    app = tui(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_auto_fix_corrects_safe_drift_outside_production() -> None:
    from drifttui.demo import build_demo
    from tests.tui.conftest import FIXED_NOW

    world = build_demo(clock=lambda: FIXED_NOW, auto_fix=True)
    try:
        world.advance_to_end()
        app = tui(world)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await wait_for(
                pilot,
                lambda: not any(r.environment == "dev" for r in app.main.table.rows),
                "dev's drift to be corrected",
            )
            await settle(pilot)
            assert live_replicas(world, "dev", "frontend-web") == 2
            assert live_replicas(world, "prod", "backend-api") == 5  # production: a person decides
            dev = next(p for p in app.main.query_one("Pulse").lines if p.environment == "dev")  # type: ignore[attr-defined]
            assert (dev.fixes, dev.auto_fixes) == (2, 2)
            assert any("Applying fix" in line for line in log_lines(app))
    finally:
        world.close()


async def test_promote_a_unit_chosen_in_the_tree(world: DemoWorld) -> None:
    from drifttui.tui.widgets.env_tree import EnvTree

    doc = unit_doc(world, "demo-dev", "log-shipper")
    doc["metadata"].setdefault("labels", {})["team"] = "platform"  # a change made in dev
    world.runtime.hub.update_unit_data("demo-dev", "log-shipper", yaml.safe_dump(doc), "label")
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = app.main.query_one(EnvTree)
        await pilot.press("shift+tab")
        assert tree.has_focus
        for _ in range(3):  # chain -> base -> dev
            if tree.highlighted and tree.highlighted.environment == "dev":
                break
            await pilot.press("down")
        assert tree.highlighted is not None
        assert tree.highlighted.kind == "space"
        await pilot.press("space")  # open dev: its units
        for _ in range(40):
            node = tree.highlighted
            if node is not None and node.unit == "log-shipper":
                break
            await pilot.press("down")
        assert tree.highlighted is not None
        assert tree.highlighted.unit == "log-shipper"
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "promote")
        assert app.screen.proposal.plans[0].unit == "log-shipper"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert unit_doc(world, "demo-staging", "log-shipper")["metadata"]["labels"]["team"] == (
            "platform"
        )


async def test_nothing_repaints_while_nothing_changes(world: DemoWorld) -> None:
    from drifttui.tui.widgets.pulse import Pulse

    app = tui(world)
    app.services.health_interval_s = 0.05
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table, pulse = app.main.table, app.main.query_one(Pulse)
        before = (table.paints, pulse.repaints, app.main.batches)
        await pilot.pause(0.6)  # a dozen health polls and flushes with nothing to show
        assert (table.paints, pulse.repaints, app.main.batches) == before


async def test_no_color_renders_in_grey_and_keeps_every_label(
    world: DemoWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    monkeypatch.setenv("NO_COLOR", "1")
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        svg = app.export_screenshot()
    fills = set(re.findall(r"fill: #([0-9a-f]{6})", svg)) - {"c5c8c6"}  # the window frame
    assert fills
    assert all(f[0:2] == f[2:4] == f[4:6] for f in fills)  # greys only
    for word in ("HIGH", "MED", "LOW", "snapshot", "drifted"):
        assert word in svg  # severities and health are words, not only colours


async def test_rollback_diff_hides_a_credential_in_a_config_map(world: DemoWorld) -> None:
    """R on a ConfigMap whose DB_PASSWORD was rotated: the revision diff shows the other
    lines and counts the hidden change, never the password."""
    hub = world.runtime.hub
    original = hub.get_unit_data("demo-dev", "app-config")
    first = original.replace("\ndata:\n", "\ndata:\n  DB_PASSWORD: first-pass-4242\n", 1)
    hub.update_unit_data("demo-dev", "app-config", first, "add the password")
    second = first.replace("first-pass-4242", "second-pass-8686")
    hub.update_unit_data("demo-dev", "app-config", second, "rotate it")
    app = tui(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await filter_to(pilot, ":all :env dev cm/app-config")
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, RollbackScreen), "the revisions")
        modal = app.screen
        assert isinstance(modal, RollbackScreen)
        newest_but_head = modal.choice.revisions[1].num
        await wait_for(pilot, lambda: newest_but_head in modal.diffs, "the diff")
        shown = "\n".join(modal.diffs[newest_but_head])
        assert "1 credential value(s) change (values hidden)" in shown
        assert "first-pass-4242" not in shown
        assert "second-pass-8686" not in shown
