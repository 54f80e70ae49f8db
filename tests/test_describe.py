"""Finding sentences as the service log, the TUI and the records print them."""

from __future__ import annotations

from drifttui.core.describe import describe_finding, describe_item
from drifttui.core.models import (
    MASK,
    Attribution,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Sel,
    Severity,
)


def make(kind: str, name: str, *fields: FieldDrift, status=ResourceStatus.DRIFTED) -> DriftItem:
    return DriftItem(ResourceKey("apps", kind, "shop", name), "apps/v1", status, fields)


def test_replicas_sentence_matches_the_seed() -> None:
    f = FieldDrift(("spec", "replicas"), Change.CHANGED, 3, 5, Category.REPLICAS, Severity.MEDIUM)
    assert describe_finding(make("Deployment", "backend-api", f), f) == (
        "backend-api has 5 replicas, expected 3"
    )
    one = FieldDrift(("spec", "replicas"), Change.CHANGED, 2, 1, Category.REPLICAS, Severity.HIGH)
    assert describe_finding(make("Deployment", "frontend-web", one), one) == (
        "frontend-web has 1 replica, expected 2"
    )


def test_image_sentence_names_the_container() -> None:
    path = ("spec", "template", "spec", "containers", Sel((("name", "web"),)), "image")
    f = FieldDrift(path, Change.CHANGED, "nginx:1.25", "nginx:1.27", Category.IMAGE, Severity.HIGH)
    text = describe_finding(make("Deployment", "frontend-web", f), f)
    assert text == "frontend-web runs image nginx:1.27 (container web), expected nginx:1.25"


def test_secret_sentence_never_shows_values() -> None:
    f = FieldDrift(("data", "password"), Change.CHANGED, MASK, MASK, Category.SECRET, Severity.HIGH)
    text = describe_finding(make("Secret", "db", f), f)
    assert "values hidden" in text
    assert "password" in text


def test_added_sentence_names_who_added_it() -> None:
    who = Attribution("kubectl-label", "Update", "2026-11-25T10:00:00Z", None, True)
    f = FieldDrift(
        ("metadata", "labels", "debug"),
        Change.ADDED,
        None,
        "true",
        Category.LABELS,
        Severity.LOW,
        attribution=who,
    )
    assert describe_finding(make("Deployment", "api", f), f) == (
        "api: metadata.labels.debug = true added in the cluster by kubectl-label"
    )


def test_missing_object_is_one_sentence() -> None:
    item = make("Service", "backend-api", status=ResourceStatus.MISSING)
    assert describe_item(item) == ["Service/backend-api is missing from the cluster"]
