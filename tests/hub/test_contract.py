"""The Hub contract: one suite, run against the embedded hub and against the HTTP client
talking to ``hub serve`` (see conftest ``hut``)."""

from __future__ import annotations

import pytest
import yaml

from drifttui.errors import AuthError, ConflictError, HubError, NotFoundError
from drifttui.hub.protocol import Hub
from tests.hub.conftest import TOKEN, HubUnderTest, deployment


def doc(hub: Hub, space: str, unit: str, revision: int | None = None) -> dict:
    return yaml.safe_load(hub.get_unit_data(space, unit, revision))


def image(d: dict) -> str:
    return d["spec"]["template"]["spec"]["containers"][0]["image"]


def test_implements_the_protocol(hub: Hub) -> None:
    assert isinstance(hub, Hub)
    assert "token" not in repr(hub).lower() or "***" in repr(hub)
    assert TOKEN not in repr(hub)
    assert TOKEN not in hub.name


# --------------------------------------------------------------------------- spaces


def test_spaces_are_created_listed_and_found_by_slug(hub: Hub) -> None:
    hub.create_space("shop-dev", {"env": "dev"}, display_name="Shop dev")
    hub.create_space("shop-prod", {"env": "prod"})
    assert [s.slug for s in hub.list_spaces()] == ["shop-dev", "shop-prod"]
    dev = hub.get_space("shop-dev")
    assert dev.labels == {"env": "dev"}
    assert dev.id
    assert [s.slug for s in hub.list_spaces("Labels.env = 'prod'")] == ["shop-prod"]


def test_creating_a_space_twice_is_a_conflict(hub: Hub) -> None:
    hub.create_space("a")
    with pytest.raises(ConflictError):
        hub.create_space("a")


def test_unknown_space_is_not_found_with_its_name(hub: Hub) -> None:
    with pytest.raises(NotFoundError, match="no space 'ghost'"):
        hub.get_space("ghost")
    with pytest.raises(NotFoundError, match="no space 'ghost'"):
        hub.list_units("ghost")


def test_invalid_slug_is_refused_before_anything_is_written(hub: Hub) -> None:
    with pytest.raises(HubError, match="invalid space slug"):
        hub.create_space("bad slug!")
    assert hub.list_spaces() == []


# --------------------------------------------------------------------------- units


def test_unit_from_manifest_round_trips_its_data_and_labels(hub: Hub) -> None:
    hub.create_space("s")
    u = hub.create_unit("s", "backend-api", deployment(), labels={"tier": "critical"})
    assert (u.slug, u.space, u.head_revision) == ("backend-api", "s", 1)
    got = hub.get_unit("s", "backend-api")
    assert got.data == deployment()
    assert got.labels == {"tier": "critical"}
    assert got.data_hash == u.data_hash
    assert len(got.data_hash) == 64
    assert hub.get_unit_data("s", "backend-api") == deployment()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("kind: Deployment\n", "lacks apiVersion"),
        ("a: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "not a mapping"),
        (deployment() + "---\n" + deployment("other"), "2 documents"),
    ],
)
def test_invalid_manifest_is_a_clear_400(hub: Hub, data: str, message: str) -> None:
    hub.create_space("s")
    with pytest.raises(HubError, match=message) as err:
        hub.create_unit("s", "u", data)
    assert err.value.status == 400
    assert hub.list_units("s") == []


def test_unknown_unit_error_names_unit_and_space(hub: Hub) -> None:
    hub.create_space("s")
    with pytest.raises(NotFoundError, match="no unit 'nope' in space 's'"):
        hub.get_unit("s", "nope")
    with pytest.raises(NotFoundError, match="no unit 'nope' in space 's'"):
        hub.update_unit_data("s", "nope", deployment(), "x")


def test_duplicate_unit_is_a_conflict(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    with pytest.raises(ConflictError):
        hub.create_unit("s", "u", deployment(replicas=1))
    assert hub.get_unit("s", "u").head_revision == 1


def test_list_units_by_space_and_where_clause(hub: Hub) -> None:
    for s in ("a", "b"):
        hub.create_space(s)
    hub.create_unit("a", "web", deployment("web"), labels={"tier": "critical"})
    hub.create_unit("a", "db", deployment("db"), labels={"tier": "data"})
    hub.create_unit("b", "web", deployment("web"), labels={"tier": "critical"})
    assert [u.slug for u in hub.list_units("a")] == ["db", "web"]
    crit = hub.list_units(None, "Labels.tier = 'critical'")
    assert [(u.space, u.slug) for u in crit] == [("a", "web"), ("b", "web")]
    assert [u.slug for u in hub.list_units("a", "Labels.tier IN ('data', 'x')")] == ["db"]
    assert [u.slug for u in hub.list_units(None, "Slug LIKE 'w%' AND Space.Slug = 'b'")] == ["web"]
    with_data = hub.list_units("a", with_data=True)
    assert {u.slug: u.data for u in with_data} == {"db": deployment("db"), "web": deployment("web")}


def test_delete_unit(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    hub.delete_unit("s", "u")
    assert hub.list_units("s") == []
    with pytest.raises(NotFoundError):
        hub.get_unit("s", "u")


def test_a_unit_with_clones_cannot_be_deleted(chain: Hub) -> None:
    with pytest.raises(ConflictError):
        chain.delete_unit("base", "backend-api")
    assert chain.get_unit("base", "backend-api")


# --------------------------------------------------------------------------- revisions


def test_every_data_change_is_a_numbered_revision_with_message_and_author(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment(), description="first")
    u = hub.update_unit_data("s", "u", deployment(replicas=5), "scale to 5")
    assert u.head_revision == 2
    hub.update_unit_data("s", "u", deployment(replicas=5, image="nginx:1.27"), "new image")
    revs = hub.list_revisions("s", "u")
    assert [(r.num, r.description) for r in revs] == [
        (1, "first"),
        (2, "scale to 5"),
        (3, "new image"),
    ]
    assert {r.author for r in revs} == {"tester"}
    assert [r.source for r in revs][:2] == ["CreateUnit", "Update"]
    assert doc(hub, "s", "u", 2)["spec"]["replicas"] == 5
    assert image(doc(hub, "s", "u", 2)) == "nginx:1.25"
    assert doc(hub, "s", "u", 1)["spec"]["replicas"] == 3


def test_identical_data_writes_no_revision(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    u = hub.update_unit_data("s", "u", deployment(), "no-op")
    assert u.head_revision == 1
    assert len(hub.list_revisions("s", "u")) == 1


def test_unknown_revision_is_not_found(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    with pytest.raises(NotFoundError, match="revision 7"):
        hub.get_unit_data("s", "u", 7)


def test_restore_writes_a_new_head_with_the_old_data(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    hub.update_unit_data("s", "u", deployment(replicas=9), "oops")
    u = hub.restore_revision("s", "u", 1, "undo")
    assert u.head_revision == 3
    assert hub.get_unit_data("s", "u") == deployment()
    revs = hub.list_revisions("s", "u")
    assert [r.num for r in revs] == [1, 2, 3]
    assert revs[-1].description == "undo"
    assert revs[-1].restored_from == 1
    with pytest.raises(NotFoundError):
        hub.restore_revision("s", "u", 42)


def test_stale_if_match_is_a_conflict_and_writes_nothing(hub: Hub) -> None:
    hub.create_space("s")
    first = hub.create_unit("s", "u", deployment())
    hub.update_unit_data("s", "u", deployment(replicas=4), "someone else", if_match=first.data_hash)
    with pytest.raises(ConflictError, match="changed since read"):
        hub.update_unit_data("s", "u", deployment(replicas=7), "me", if_match=first.data_hash)
    assert doc(hub, "s", "u")["spec"]["replicas"] == 4


def test_stale_version_on_labels_is_a_conflict(hub: Hub) -> None:
    hub.create_space("s")
    u = hub.create_unit("s", "u", deployment(), labels={"a": "1"})
    hub.update_unit_labels("s", "u", {"b": "2"}, version=u.version)
    with pytest.raises(ConflictError):
        hub.update_unit_labels("s", "u", {"c": "3"}, version=u.version)
    assert hub.get_unit("s", "u").labels == {"a": "1", "b": "2"}


def test_label_update_merges_and_none_removes(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment(), labels={"a": "1", "b": "2"})
    u = hub.update_unit_labels("s", "u", {"b": None, "c": "3"})
    assert u.labels == {"a": "1", "c": "3"}
    assert u.head_revision == 1  # labels are metadata, not a data revision


def test_mark_applied_drives_unapplied_changes(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    assert hub.get_unit("s", "u").unapplied_changes
    assert not hub.mark_applied("s", "u", 1).unapplied_changes
    hub.update_unit_data("s", "u", deployment(replicas=2), "scale")
    u = hub.get_unit("s", "u")
    assert u.applied_revision == 1
    assert u.unapplied_changes


# --------------------------------------------------------------------------- clone / upgrade


def test_clone_copies_data_and_links_upstream(chain: Hub) -> None:
    base = chain.get_unit("base", "backend-api")
    dev = chain.get_unit("dev", "backend-api")
    assert dev.data == base.data
    assert dev.labels == {"tier": "critical"}
    assert dev.upstream_unit_id == base.id
    assert dev.upstream_revision == 1
    assert dev.upgrade_needed is False
    assert base.upgrade_needed is None
    assert [(u.space, u.slug) for u in chain.list_downstream("base", "backend-api")] == [
        ("dev", "backend-api")
    ]
    assert chain.list_revisions("dev", "backend-api")[0].source == "CloneUnit"


def test_upgrade_keeps_downstream_customisation(chain: Hub) -> None:
    chain.update_unit_data("stg", "backend-api", deployment(replicas=5), "stg local")
    chain.update_unit_data("dev", "backend-api", deployment(image="nginx:1.27"), "new image")
    assert chain.get_unit("stg", "backend-api").upgrade_needed is True
    res = chain.upgrade_unit("stg", "backend-api")
    assert res.ok
    assert res.revision == 3
    assert res.changed_paths == ("spec.template.spec.containers[name=web].image",)
    assert res.conflicts == ()
    d = doc(chain, "stg", "backend-api")
    assert image(d) == "nginx:1.27"
    assert d["spec"]["replicas"] == 5
    stg = chain.get_unit("stg", "backend-api")
    assert stg.upstream_revision == 2
    assert stg.upgrade_needed is False
    assert chain.list_revisions("stg", "backend-api")[-1].source == "UpgradeUnit"


def test_upgrade_conflict_keeps_local_value_and_reports_the_path(chain: Hub) -> None:
    chain.update_unit_data("dev", "backend-api", deployment(replicas=5), "dev local")
    chain.update_unit_data("base", "backend-api", deployment(replicas=2, image="x:2"), "base")
    res = chain.upgrade_unit("dev", "backend-api")
    assert res.ok
    assert res.conflicts == ("spec.replicas",)
    d = doc(chain, "dev", "backend-api")
    assert d["spec"]["replicas"] == 5
    assert image(d) == "x:2"
    assert chain.get_unit("dev", "backend-api").conflicts == ("spec.replicas",)


def test_upgrade_of_a_non_clone_is_refused(chain: Hub) -> None:
    with pytest.raises(HubError, match="not a clone"):
        chain.upgrade_unit("base", "backend-api")


def test_upgrade_when_up_to_date_writes_nothing(chain: Hub) -> None:
    res = chain.upgrade_unit("dev", "backend-api")
    assert res.ok
    assert res.revision is None
    assert chain.get_unit("dev", "backend-api").head_revision == 1


# --------------------------------------------------------------------------- bulk


def test_push_upgrade_is_one_bulk_call_over_downstream_units(hub: Hub) -> None:
    for s in ("base", "dev", "qa"):
        hub.create_space(s)
    for name in ("web", "api"):
        hub.create_unit("base", name, deployment(name))
        hub.clone_unit("base", name, "dev")
        hub.clone_unit("base", name, "qa")
    hub.update_unit_data("qa", "web", deployment("web", replicas=7), "qa local")
    hub.update_unit_data("base", "web", deployment("web", image="nginx:2"), "image")
    base_web = hub.get_unit("base", "web")
    cs = hub.create_changeset("base", "push-web", "push the new image")
    where = (
        f"UpstreamUnitID = '{base_web.id}' AND "
        "Unit.UpstreamRevisionNum < UpstreamUnit.HeadRevisionNum"
    )
    res = hub.bulk_patch(where, upgrade=True, description="push-upgrade", changeset_id=cs.id)
    assert res.ok
    assert sorted((r.space, r.unit, r.revision) for r in res.results) == [
        ("dev", "web", 2),
        ("qa", "web", 3),
    ]
    assert image(doc(hub, "dev", "web")) == "nginx:2"
    qa = doc(hub, "qa", "web")
    assert image(qa) == "nginx:2"
    assert qa["spec"]["replicas"] == 7
    assert hub.get_unit("dev", "api").head_revision == 1  # not selected
    (listed,) = [c for c in hub.list_changesets("base") if c.id == cs.id]
    assert listed.units == ("dev/web", "qa/web")
    assert hub.list_revisions("qa", "web")[-1].changeset_id == cs.id
    # nothing left to push: the same call selects nothing
    assert hub.bulk_patch(where, upgrade=True).results == ()


def test_bulk_label_patch_scoped_to_a_space(hub: Hub) -> None:
    for s in ("a", "b"):
        hub.create_space(s)
        for n in ("x", "y"):
            hub.create_unit(s, n, deployment(n), labels={"team": "t1"})
    res = hub.bulk_patch("Labels.team = 't1'", space="a", labels={"reviewed": "yes"})
    assert sorted(r.unit for r in res.results) == ["x", "y"]
    assert {u.space for u in hub.list_units(None, "Labels.reviewed = 'yes'")} == {"a"}


def test_bulk_set_paths_changes_every_selected_unit_once(hub: Hub) -> None:
    hub.create_space("s")
    for i in range(5):
        hub.create_unit("s", f"app{i}", deployment(f"app{i}"), labels={"fix": str(i % 2)})
    res = hub.bulk_set_paths(
        "Labels.fix = '1'",
        {"spec.replicas": 2, "spec.template.spec.containers[name=web].image": "nginx:9"},
        space="s",
        description="bulk fix",
    )
    assert res.ok
    assert sorted(r.unit for r in res.results) == ["app1", "app3"]
    assert all(r.revision == 2 for r in res.results)
    for n in ("app1", "app3"):
        d = doc(hub, "s", n)
        assert d["spec"]["replicas"] == 2
        assert image(d) == "nginx:9"
        assert hub.list_revisions("s", n)[-1].description == "bulk fix"
    assert doc(hub, "s", "app0")["spec"]["replicas"] == 3
    again = hub.bulk_set_paths("Labels.fix = '1'", {"spec.replicas": 2}, space="s")
    assert all(r.ok and r.revision is None for r in again.results)
    assert hub.get_unit("s", "app1").head_revision == 2


def test_bulk_set_paths_refuses_non_scalars(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    with pytest.raises(HubError, match="only strings, integers and booleans"):
        hub.bulk_set_paths("Slug = 'u'", {"spec.template": {"a": 1}})


def test_bad_where_clause_names_the_position_and_changes_nothing(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment())
    with pytest.raises(HubError, match="position 11") as err:
        hub.bulk_patch("Slug = 'u' OR Slug = 'v'", upgrade=True)
    assert "IN" in str(err.value)
    assert err.value.status == 400
    with pytest.raises(HubError, match="unknown attribute 'LiveRevisionNum'"):
        hub.list_units(None, "LiveRevisionNum > 0")
    assert hub.get_unit("s", "u").head_revision == 1


# --------------------------------------------------------------------------- sets and filters


def test_sets_are_labels_plus_a_saved_filter(hub: Hub) -> None:
    for s in ("records", "other"):
        hub.create_space(s)
    for n in ("a", "b", "c"):
        hub.create_unit("records", n, deployment(n))
    hub.create_unit("other", "a", deployment("a"))
    info = hub.create_set("records", "critical-drifts", "Critical")
    assert info.label == "set-critical-drifts=records"
    hub.add_to_set(
        "records", "critical-drifts", [("records", "a"), ("records", "c"), ("other", "a")]
    )
    (got,) = hub.list_sets("records")
    assert (got.slug, got.description) == ("critical-drifts", "Critical")
    assert got.members == ("other/a", "records/a", "records/c")
    hub.remove_from_set("records", "critical-drifts", [("records", "c")])
    assert hub.list_sets("records")[0].members == ("other/a", "records/a")
    f = hub.get_filter("records", got.filter_slug)
    assert [u.slug for u in hub.evaluate_filter("records", f.slug, "Space.Slug = 'records'")] == [
        "a"
    ]
    with pytest.raises(NotFoundError):
        hub.add_to_set("records", "no-such-set", [("records", "a")])


def test_filters_select_units_by_their_where_clause(hub: Hub) -> None:
    hub.create_space("f")
    hub.create_space("s")
    hub.create_unit("s", "web", deployment("web"), labels={"tier": "critical", "env": "prod"})
    hub.create_unit("s", "db", deployment("db"), labels={"tier": "critical", "env": "dev"})
    hub.create_unit("s", "log", deployment("log"), labels={"tier": "low"})
    f = hub.create_filter("f", "critical", "Labels.tier = 'critical'")
    assert (f.slug, f.where, f.from_) == ("critical", "Labels.tier = 'critical'", "Unit")
    assert [x.slug for x in hub.list_filters("f")] == ["critical"]
    assert [u.slug for u in hub.evaluate_filter("f", "critical")] == ["db", "web"]
    assert [u.slug for u in hub.evaluate_filter("f", "critical", "Labels.env = 'prod'")] == ["web"]
    with pytest.raises(HubError, match="position 0"):
        hub.create_filter("f", "bad", "(Labels.tier = 'x')")
    with pytest.raises(NotFoundError, match="no filter 'nope'"):
        hub.evaluate_filter("f", "nope")


# --------------------------------------------------------------------------- audit


def test_audit_lists_who_did_what_to_which_units(hub: Hub) -> None:
    hub.create_space("s")
    hub.create_unit("s", "u", deployment(), description="create it")
    hub.update_unit_data("s", "u", deployment(replicas=4), "scale to 4")
    entries = hub.list_audit("s", limit=10)
    scale = [e for e in entries if e.description == "scale to 4"]
    assert len(scale) == 1
    assert scale[0].author == "tester"
    assert scale[0].units == ("s/u",)
    assert scale[0].action == "UpdateUnit"
    assert scale[0].at
    assert entries[0].description == "scale to 4"  # newest first
    assert len(hub.list_audit("s", limit=1)) == 1


def test_audit_of_a_bulk_change_covers_every_unit(chain: Hub) -> None:
    chain.update_unit_data("base", "backend-api", deployment(replicas=1), "base change")
    chain.bulk_patch(
        "Unit.UpstreamRevisionNum < UpstreamUnit.HeadRevisionNum", upgrade=True, description="push"
    )
    units = {u for e in chain.list_audit(None, 50) if e.description == "push" for u in e.units}
    assert units == {"dev/backend-api"}


# --------------------------------------------------------------------------- paging


def test_lists_page_past_a_thousand_units(hut: HubUnderTest) -> None:
    hut.backing.create_space("big")
    n = 1205
    hut.backing.create_units(
        "big", [(f"u{i:04d}", deployment(f"u{i:04d}"), {"i": str(i % 3)}) for i in range(n)]
    )
    before = getattr(hut.hub, "request_count", 0)
    units = hut.hub.list_units("big")
    assert len(units) == n
    assert len({u.slug for u in units}) == n
    assert len(hut.hub.list_units(None, "Labels.i = '0'")) == len(range(0, n, 3))
    if hut.kind == "http":
        # two pages for 1,205 (limit 1,000) plus the space lookup: bounded, not per unit
        assert 2 <= getattr(hut.hub, "request_count", 0) - before <= 4


# --------------------------------------------------------------------------- auth


def test_wrong_token_is_rejected_without_showing_it(hut: HubUnderTest) -> None:
    if hut.kind != "http":
        pytest.skip("tokens exist only over HTTP")
    from drifttui.hub.http import ConfigHubClient

    client = ConfigHubClient(
        hut.hub.base_url,
        "wrong-token-must-not-print",
        max_attempts=1,  # type: ignore[attr-defined]
    )
    with pytest.raises(AuthError, match="token rejected") as err:
        client.list_spaces()
    assert "wrong-token-must-not-print" not in str(err.value)
    assert "wrong-token-must-not-print" not in repr(client)
    client.close()
