"""Drift records as units: deterministic identity, labels, sets in step with status,
revisions per status change, idempotent writes, no Secret value ever stored."""

from __future__ import annotations

import pytest
import yaml

from drifttui.core.models import (
    MASK,
    Attribution,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Severity,
)
from drifttui.hub import documents as docs
from drifttui.hub.chain import init_chain
from drifttui.hub.protocol import Hub
from drifttui.hub.records import DriftRecords, record_slug
from tests.hub.conftest import replicas_drift

SPACE = "t-drift-records"


@pytest.fixture
def records(hub: Hub) -> DriftRecords:
    init_chain(hub, "t", ["dev", "prod"], base_objects=[])
    return DriftRecords(hub, SPACE)


def replicas_item(name: str = "web", live: int = 5, *, autofix: bool = True) -> DriftItem:
    attribution = Attribution("kubectl", "Update", None, "scale", True)
    return replicas_drift(
        name, live, attribution=attribution, autofix=autofix, unit="web", space="t-prod"
    )


def secret_item() -> DriftItem:
    return DriftItem(
        key=ResourceKey("", "Secret", "shop", "db-creds"),
        api_version="v1",
        status=ResourceStatus.DRIFTED,
        fields=(
            FieldDrift(
                path=("data", "password"),
                change=Change.CHANGED,
                desired="c2VjcmV0LW9uZQ==",  # a Secret value that reached us unmasked
                live="c2VjcmV0LXR3bw==",
                category=Category.SECRET,
                severity=Severity.CRITICAL,
            ),
        ),
    )


def labels_of(hub: Hub, slug: str) -> dict[str, str]:
    return dict(hub.get_unit(SPACE, slug).labels)


def test_open_creates_one_labelled_record_with_the_field_drift(
    hub: Hub, records: DriftRecords
) -> None:
    slug = records.open_or_update("prod", replicas_item(), "over-scaled by hand")
    assert slug == record_slug("prod", replicas_item().key)
    lab = labels_of(hub, slug)
    assert {k: lab[k] for k in ("environment", "category", "severity", "status", "kind")} == {
        "environment": "prod",
        "category": "replicas",
        "severity": "medium",
        "status": "open",
        "kind": "Deployment",
    }
    assert (lab["name"], lab["namespace"]) == ("web", "shop")
    assert lab["production"] == "true"
    assert lab["auto-correctable"] == "true"
    doc = yaml.safe_load(hub.get_unit_data(SPACE, slug))
    assert doc["kind"] == "DriftRecord"
    spec = doc["spec"]
    assert spec["status"] == "open"
    assert spec["analysis"] == "over-scaled by hand"
    (field,) = spec["fields"]
    assert (field["path"], field["desired"], field["live"]) == ("spec.replicas", 3, 5)
    assert field["attribution"]["manager"] == "kubectl"
    assert records.list() == records.list("open")
    assert [r.slug for r in records.list()] == [slug]


def test_identity_is_deterministic_per_environment_and_resource() -> None:
    k = ResourceKey("apps", "Deployment", "shop", "web")
    assert record_slug("prod", k) == record_slug("prod", k)
    assert record_slug("prod", k) != record_slug("dev", k)
    assert record_slug("prod", k) != record_slug(
        "prod", ResourceKey("apps", "Deployment", "x", "web")
    )
    long = ResourceKey("apps", "Deployment", "shop", "w" * 300)
    s = record_slug("prod", long)
    assert len(s) <= 128
    assert docs.SLUG_RE.match(s)


def test_same_item_again_writes_nothing(hub: Hub, records: DriftRecords) -> None:
    slug = records.open_or_update("prod", replicas_item(), "why")
    unit = hub.get_unit(SPACE, slug)
    records.open_or_update("prod", replicas_item())  # analysis kept when not given
    again = hub.get_unit(SPACE, slug)
    assert (again.head_revision, again.version) == (unit.head_revision, unit.version)


def test_changed_item_is_a_new_revision_of_the_same_record(hub: Hub, records: DriftRecords) -> None:
    slug = records.open_or_update("prod", replicas_item(live=5))
    records.open_or_update("prod", replicas_item(live=7))
    revs = hub.list_revisions(SPACE, slug)
    assert [r.num for r in revs] == [1, 2]
    assert len(hub.list_units(SPACE)) == 1


def test_sets_follow_status(hub: Hub, records: DriftRecords) -> None:
    slug = records.open_or_update("prod", replicas_item())
    sets = {s.slug: s.members for s in hub.list_sets(SPACE)}
    assert sets["replica-drifts"] == (f"{SPACE}/{slug}",)
    assert sets["corrected-drifts"] == ()
    assert records.close("prod", replicas_item().key, "corrected", "patched back") == slug
    sets = {s.slug: s.members for s in hub.list_sets(SPACE)}
    assert sets["replica-drifts"] == ()
    assert sets["corrected-drifts"] == (f"{SPACE}/{slug}",)
    assert labels_of(hub, slug)["status"] == "corrected"
    doc = yaml.safe_load(hub.get_unit_data(SPACE, slug))
    assert doc["spec"]["actions"] == [{"action": "corrected", "note": "patched back"}]
    assert [r.slug for r in records.list("corrected")] == [slug]
    assert records.list("open") == []


def test_status_changes_are_revisions_and_closing_twice_is_a_no_op(
    hub: Hub, records: DriftRecords
) -> None:
    key = replicas_item().key
    slug = records.open_or_update("prod", replicas_item())
    records.close("prod", key, "accepted", "live is right")
    records.close("prod", key, "accepted", "again")
    revs = hub.list_revisions(SPACE, slug)
    assert [r.num for r in revs] == [1, 2]
    assert "accepted" in revs[-1].description
    # drift comes back: the record reopens, keeping its history of actions
    records.open_or_update("prod", replicas_item(live=9))
    spec = yaml.safe_load(hub.get_unit_data(SPACE, slug))["spec"]
    assert spec["status"] == "open"
    assert [a["action"] for a in spec["actions"]] == ["accepted", "reopened"]


def test_close_without_a_record_returns_none(records: DriftRecords) -> None:
    assert records.close("prod", ResourceKey("", "Service", "x", "y"), "ignored") is None


def test_secret_values_are_never_stored(hub: Hub, records: DriftRecords) -> None:
    slug = records.open_or_update("dev", secret_item())
    text = hub.get_unit_data(SPACE, slug)
    assert "c2VjcmV0" not in text
    spec = yaml.safe_load(text)["spec"]
    assert spec["fields"][0]["desired"] == MASK
    assert spec["fields"][0]["live"] == MASK
    lab = labels_of(hub, slug)
    assert (lab["category"], lab["severity"], lab["production"]) == ("secret", "critical", "false")
    sets = {s.slug: s.members for s in hub.list_sets(SPACE)}
    assert sets["critical-drifts"] == (f"{SPACE}/{slug}",)


def test_init_filters_select_records(hub: Hub, records: DriftRecords) -> None:
    web = records.open_or_update("prod", replicas_item("web"))
    api = records.open_or_update("dev", replicas_item("api", autofix=False))
    sec = records.open_or_update("dev", secret_item())

    def sel(name: str) -> list[str]:
        return sorted(u.slug for u in hub.evaluate_filter("t-filters", name))

    assert sel("production-drift") == [web]
    assert sel("auto-correctable") == [web]
    assert sel("manual-review") == sorted([api, sec])
    assert sel("security-drift") == [sec]
    records.close("dev", secret_item().key, "ignored")
    assert sel("security-drift") == []
