"""Secrets: compared by hash, always reported when changed, never shown."""

from __future__ import annotations

import base64
import json
from typing import Any

from drifttui.core.models import MASK, Category, Change, Severity

from .k8s import diff, edit, nest, served

PLAIN = "hunter2-very-secret"
B64 = base64.b64encode(PLAIN.encode()).decode()


def _secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def _dump(item: Any) -> str:
    return json.dumps([[f.desired, f.live, f.note, f.path_str] for f in item.fields], default=str)


def test_changed_secret_value_is_reported_masked_and_high() -> None:
    d = _secret(password="old-password")
    live = served(d)
    live["data"]["password"] = B64
    edit(live, "kubectl-edit", nest("data|password"))
    item = diff(d, live)
    (f,) = item.fields
    assert (f.path_str, f.change, f.desired, f.live) == (
        "data.password",
        Change.CHANGED,
        MASK,
        MASK,
    )
    assert f.category is Category.SECRET
    assert f.severity.rank >= Severity.HIGH.rank
    assert not f.safe_to_autofix
    assert f.attribution is not None
    assert f.attribution.manager == "kubectl-edit"
    assert PLAIN not in _dump(item)
    assert B64 not in _dump(item)


def test_secret_key_added_is_reported_even_without_managed_fields() -> None:
    d = _secret(password="p")
    live = served(d)
    del live["metadata"]["managedFields"]
    live["data"]["extra"] = B64
    (f,) = diff(d, live).fields
    assert (f.path_str, f.change, f.desired, f.live) == ("data.extra", Change.ADDED, None, MASK)


def test_secret_key_written_by_a_controller_is_not_drift() -> None:
    d = _secret(password="p")
    live = served(d)
    live["data"]["tls.crt"] = B64
    edit(live, "cert-manager-certificates-issuing", nest("data|tls.crt"))
    assert diff(d, live).fields == ()


def test_service_account_token_keys_are_the_controllers() -> None:
    d = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "t", "namespace": "shop"},
        "type": "kubernetes.io/service-account-token",
    }
    live = served(d)
    live["data"] = {"token": B64, "ca.crt": B64, "namespace": "c2hvcA=="}
    assert diff(d, live).fields == ()


def test_removed_secret_key() -> None:
    d = _secret(password="p", user="u")
    live = served(d)
    del live["data"]["user"]
    (f,) = diff(d, live).fields
    assert (f.path_str, f.change, f.desired, f.live) == ("data.user", Change.REMOVED, MASK, None)


def test_string_data_compares_with_data_and_a_change_is_found() -> None:
    d = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "stringData": {"password": PLAIN},
    }
    live = served(_secret(password=PLAIN))
    assert diff(d, live).fields == ()
    live["data"]["password"] = base64.b64encode(b"rotated").decode()
    (f,) = diff(d, live).fields
    assert f.path_str == "data.password"
    assert (f.desired, f.live) == (MASK, MASK)


def test_fingerprints_change_with_the_secret_value_without_revealing_it() -> None:
    d = _secret(password="a")
    live = served(d)
    live["data"]["password"] = base64.b64encode(b"b").decode()
    one = diff(d, live).fields[0]
    live["data"]["password"] = base64.b64encode(b"c").decode()
    two = diff(d, live).fields[0]
    assert one.id == two.id
    assert one.fingerprint != two.fingerprint


def test_last_applied_annotation_of_a_secret_is_masked_when_compared() -> None:
    d = _secret(password=PLAIN)
    d["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(d)
    }
    live = served(_secret(password=PLAIN))
    live["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    item = diff(d, live)
    assert [f.desired for f in item.fields] == [MASK]
    assert B64 not in _dump(item)


def test_missing_secret_is_critical() -> None:
    item = diff(_secret(password="p"), None)
    (f,) = item.fields
    assert f.category is Category.SECRET
    assert f.severity is Severity.CRITICAL
