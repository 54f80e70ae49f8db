"""Redaction: what leaves for an analyst never holds a Secret value, a credential or a token."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.analysis.redact import (
    MAX_SCANNED_CHARS,
    MAX_STRING_CHARS,
    Redactor,
    find_leaks,
    findings_for_analysis,
    is_credential_env_name,
    is_credential_key,
    prepare_findings,
)
from drifttui.core.models import (
    MASK,
    Autoscaler,
    Category,
    Change,
    Environment,
    ResourceKey,
    ResourceStatus,
    Sel,
)
from tests.analysis.builders import KUBECTL_EDIT, container, fd, item, replicas, secret_item

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def sent(items: list, **kw: object) -> str:
    return json.dumps(findings_for_analysis(items, **kw))  # type: ignore[arg-type]


def test_secret_values_plain_and_base64_never_leave() -> None:
    items = [
        secret_item("db", "s3cret-value-A", b64("s3cret-value-B")),
        item(
            "Secret",
            "api",
            [fd(("stringData",), {"token": "s3cret-value-C"}, {"token": "s3cret-value-D"})],
        ),
    ]
    text = sent(items)
    for s in ("s3cret-value-A", "s3cret-value-B", "s3cret-value-C", "s3cret-value-D"):
        assert s not in text
        assert b64(s) not in text
    findings = json.loads(text)
    assert [f["desired"] for f in findings] == [MASK, {"token": MASK}]
    assert all(f["redacted"] for f in findings)


def test_secret_labels_and_type_stay_visible() -> None:
    f1 = fd(("metadata", "labels", "team"), "a", "b", Category.LABELS)
    f2 = fd(("type",), "Opaque", "kubernetes.io/tls", Category.OTHER)
    findings = findings_for_analysis([item("Secret", "db", [f1, f2])])
    assert [(f["desired"], f["live"]) for f in findings] == [
        ("a", "b"),
        ("Opaque", "kubernetes.io/tls"),
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASSWORD", "hunter2-value"),
        ("API_KEY", "plain-value-1"),
        ("STRIPE_SECRET", "stripe-value-1"),
        ("GITHUB_TOKEN", "token-value-1"),
        ("AWS_CREDENTIALS", "creds-value-1"),
        ("SENTRY_DSN", "https://abcdef@sentry.io/1"),
        ("clientSecret", "client-value-1"),
        ("KEY", "key-value-1"),
    ],
)
def test_env_var_with_credential_name_is_masked(name: str, value: str) -> None:
    env_item = item(
        "Deployment",
        "web",
        [
            fd(container("env", Sel((("name", name),)), "value"), "old-" + value, value),
            fd(container("env"), [], [{"name": name, "value": value}]),
        ],
    )
    findings = findings_for_analysis([env_item])
    assert findings[0]["live"] == MASK
    assert findings[0]["desired"] == MASK
    assert findings[1]["live"] == [{"name": name, "value": MASK}]
    assert value not in json.dumps(findings)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("postgres://app:pa55word@db:5432/shop", f"postgres://app:{MASK}@db:5432/shop"),
        ("Bearer abcdefghijklmnop", f"Bearer {MASK}"),
        (JWT, MASK),
        ("Server=db;User Id=app;Password=pa55word;", f"Server=db;User Id=app;Password={MASK};"),
        ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz", MASK),
        ("AKIAIOSFODNN7EXAMPLE", MASK),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", MASK),
        ("d41d8cd98f00b204e9800998ecf8427e0123abcd", MASK),  # long hex
        ("QWxhZGRpbjpvcGVuIHNlc2FtZSBsb25nZXI=", MASK),  # long base64
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", MASK),
    ],
)
def test_credential_looking_values_are_masked_whatever_the_name(value: str, shown: str) -> None:
    findings = findings_for_analysis(
        [
            item(
                "Deployment",
                "web",
                [fd(container("env", Sel((("name", "X"),)), "value"), "", value)],
            )
        ]
    )
    assert findings[0]["live"] == shown


@pytest.mark.parametrize(
    "value",
    [
        "registry.example/api:2.4.1",
        "registry.example/api@sha256:" + "ab" * 32,
        "debug",
        "backend-api-7f9c8d6b5-x2x9z",
        "/var/run/secrets/kubernetes.io/serviceaccount",
        "123e4567-e89b-12d3-a456-426614174000",
        "http://backend-api.shop.svc:8080/health",
    ],
)
def test_ordinary_values_are_kept(value: str) -> None:
    findings = findings_for_analysis(
        [item("Deployment", "web", [fd(container("image"), "x", value, Category.IMAGE)])]
    )
    assert findings[0]["live"] == value


def test_configmap_credential_keys_and_binary_data_are_masked() -> None:
    cm = item(
        "ConfigMap",
        "app",
        [
            fd(("data", "db.password"), "one", "two", Category.CONFIG_DATA),
            fd(("data", "log.level"), "info", "debug", Category.CONFIG_DATA),
            fd(("data",), {"api-key": "k1", "color": "blue"}, {"api-key": "k2"}),
            fd(("binaryData", "blob"), None, "AAEC", Category.CONFIG_DATA, Change.ADDED),
        ],
    )
    f = findings_for_analysis([cm])
    assert (f[0]["desired"], f[0]["live"]) == (MASK, MASK)
    assert (f[1]["desired"], f[1]["live"]) == ("info", "debug")
    assert f[2]["desired"] == {"api-key": MASK, "color": "blue"}
    assert f[3]["live"] == MASK


def test_last_applied_annotation_is_masked() -> None:
    last = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"p": b64("s3cret-X")}})
    d = item(
        "Deployment",
        "web",
        [
            fd(
                ("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"),
                None,
                last,
                Category.LABELS,
                Change.ADDED,
            ),
            fd(("metadata", "annotations"), {}, {"note": last}, Category.LABELS),
        ],
    )
    text = sent([d])
    assert b64("s3cret-X") not in text
    assert "s3cret-X" not in text


def test_kubeconfig_text_is_masked() -> None:
    kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    client-key-data: LS0tLS1\n"
    f = findings_for_analysis([item("ConfigMap", "k", [fd(("data", "config"), "", kubeconfig)])])
    assert f[0]["live"] == MASK


def test_known_secrets_are_scrubbed_everywhere_with_their_base64() -> None:
    token = "cub-token-must-not-leak"
    d = item(
        "Deployment",
        "web",
        [
            fd(container("args"), [], ["--token-file=/x", f"--hub={token}"]),
            fd(("metadata", "annotations", "note"), None, b64(token), Category.LABELS),
        ],
        owner=f"ConfigHub ({token})",
    )
    text = sent([d], known_secrets=[token])
    assert token not in text
    assert b64(token) not in text
    assert find_leaks(text, [token]) == []
    assert find_leaks(f"x{b64(token)}x", [token]) == ["known secret #1 (23 chars)"]


def test_findings_keep_ids_and_the_context_an_analyst_needs() -> None:
    hpa = Autoscaler("web", ResourceKey("apps", "Deployment", "shop", "web"), 2, 10)
    r = replicas("web", 3, 5, env="production", cost=26.13, autoscaler=hpa, rolling_out=True)
    (f,) = findings_for_analysis(
        [r], environments=[Environment("production", "s", production=True)]
    )
    assert f["id"] == r.fields[0].id
    assert f["id"].startswith("DRIFT-")
    assert (f["resource"], f["path"], f["change"], f["desired"], f["live"]) == (
        "Deployment/shop/web",
        "spec.replicas",
        "changed",
        3,
        5,
    )
    assert f["production"] is True
    assert f["rolling_out"] is True
    assert f["autoscaler"] == {"name": "web", "min_replicas": 2, "max_replicas": 10}
    assert f["changed_by"] == {
        "manager": "kubectl",
        "operation": "Update",
        "human": True,
        "subresource": "scale",
    }
    assert f["resource_monthly_cost_impact_usd"] == 26.13


def test_only_counted_findings_and_missing_objects_are_analysed() -> None:
    ignored = dataclasses.replace(
        fd(("spec", "replicas"), 1, 2, Category.REPLICAS), ignored_by="hpa"
    )
    operational = fd(("metadata", "annotations", "restartedAt"), None, "t", Category.OPERATIONAL)
    counted = fd(container("image"), "a:1", "a:2", Category.IMAGE, attribution=KUBECTL_EDIT)
    missing = item("Service", "gone", [], status=ResourceStatus.MISSING)
    error = item("Deployment", "err", [counted], status=ResourceStatus.ERROR)
    prepared = prepare_findings(
        [item("Deployment", "web", [ignored, operational, counted]), missing, error]
    )
    assert [p.payload["path"] for p in prepared] == [
        "spec.template.spec.containers[name=api].image",
        "",
    ]
    assert prepared[1].payload["change"] == "missing"
    assert prepared[1].field is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("apiKey", True),
        ("db.password", True),
        ("tls.key", True),
        ("client_secret", True),
        ("serviceAccountToken", True),
        ("key", False),
        ("secretName", False),
        ("secretKeyRef", False),
        ("tokenPath", False),
        ("replicas", False),
        ("monkey", False),
    ],
)
def test_credential_key_names(name: str, expected: bool) -> None:
    assert is_credential_key(name) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("KEY", True), ("ADMIN_PASS", True), ("AUTH_HEADER", True), ("LOG_LEVEL", False)],
)
def test_credential_env_names(name: str, expected: bool) -> None:
    assert is_credential_env_name(name) is expected


_secret_text = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=6, max_size=40
).map(lambda s: "S3cr3t-" + s)
_credential_names = st.sampled_from(
    ["PASSWORD", "DB_PASSWORD", "apiKey", "API_TOKEN", "secret", "AWS_SECRET_ACCESS_KEY", "DSN"]
)


@settings(max_examples=60)
@given(secret=_secret_text, name=_credential_names, in_b64=st.booleans())
def test_no_secret_reaches_the_findings(secret: str, name: str, in_b64: bool) -> None:
    value = b64(secret) if in_b64 else secret
    items = [
        secret_item("db", value, value + "x", key=name),
        item(
            "Deployment",
            "web",
            [
                fd(
                    container("env", Sel((("name", name),)), "value"),
                    value,
                    None,
                    change=Change.REMOVED,
                ),
                fd(container("env"), [{"name": name, "value": value}], []),
            ],
        ),
        item("ConfigMap", "cfg", [fd(("data", name), value, "y", Category.CONFIG_DATA)]),
        item("Deployment", "api", [fd(container("args"), [], [f"--x={secret}"])]),
    ]
    text = sent(items, known_secrets=[secret])
    assert secret not in text
    assert b64(secret) not in text


@settings(max_examples=40)
@given(value=st.text(max_size=80))
def test_redaction_is_idempotent_and_total(value: str) -> None:
    r = Redactor.with_secrets(["known-secret-value"])
    once = r.text(value)
    assert r.text(once) == once
    assert "known-secret-value" not in once


def test_overlong_strings_are_masked_unread() -> None:
    r = Redactor()
    assert r.text("x" * (MAX_SCANNED_CHARS + 1)) == MASK
    shown = r.text("word " * 1000)
    assert len(shown) < MAX_STRING_CHARS + 20
    assert shown.endswith("chars]")


@pytest.mark.parametrize(
    "unit", ["eyJa.", "a.b-", "sk-", "apiVersion: kind: ", "known-", "://u:", "a:b@", "password"]
)
def test_hostile_repetitions_are_redacted(unit: str) -> None:
    # these once made the patterns backtrack quadratically; the suite's timeout guards them
    r = Redactor.with_secrets(["known-secret-1"])
    text = (unit * (MAX_SCANNED_CHARS // len(unit)))[: MAX_SCANNED_CHARS - 1]
    assert len(r.text(text)) <= MAX_STRING_CHARS + 20
