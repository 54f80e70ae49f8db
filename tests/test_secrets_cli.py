"""Secrets end to end through ``drifttui diff``: every shape of Secret drift is found, and no
output format (stdout or FORMAT=PATH file) holds a secret value, plain or base64. A
credential kept outside a Secret (an env var named API_TOKEN, a ConfigMap key
DB_PASSWORD) is shown the same way: masked, still detected."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import yaml

from tests.support import run_cli

FORMATS = ("table", "json", "yaml", "markdown", "sarif", "junit")

# every value below must never be printed; each is unique so a leak names itself
VALUES = {
    "desired password": "pw-desired-7781",
    "live password": "pw-live-9932",
    "key added live": "added-live-4411",
    "key removed live": "removed-live-5522",
    "desired stringData": "string-data-6633",
    "live data for stringData": "live-data-7744",
    "missing Secret": "missing-secret-8855",
    "last-applied": "last-applied-4400",
    "desired ConfigMap password": "cm-pw-desired-9966",
    "live ConfigMap password": "cm-pw-live-1177",
    "desired env token": "env-token-desired-2288",
    "live env token": "env-token-live-3399",
    "env password added live": "env-added-live-5050",
}
V = VALUES


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(name: str, **fields: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": "shop"}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", **fields}


def deployment(env: list[dict[str, Any]]) -> dict[str, Any]:
    container = {"name": "api", "image": "api:1", "env": env}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [container]},
            },
        },
    }


def world(tmp: Path) -> tuple[Path, Path]:
    desired = [
        secret(
            "s1", data={"password": b64(V["desired password"]), "old": b64(V["key removed live"])}
        ),
        secret("s2", stringData={"token": V["desired stringData"]}),
        secret("s3", data={"key": b64(V["missing Secret"])}),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop"},
            "data": {"DB_PASSWORD": V["desired ConfigMap password"], "LOG_LEVEL": "info"},
        },
        deployment([{"name": "API_TOKEN", "value": V["desired env token"]}]),
    ]
    # desired saved from a cluster: it declares kubectl's annotation, which embeds the token
    applied_api = json.dumps(deployment([{"name": "API_TOKEN", "value": V["desired env token"]}]))
    desired[4]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": applied_api
    }
    live = copy.deepcopy(desired[:2] + desired[3:])
    live[0]["data"] = {"password": b64(V["live password"]), "new": b64(V["key added live"])}
    del live[1]["stringData"]
    live[1]["data"] = {"token": b64(V["live data for stringData"])}
    applied = json.dumps(secret("s2", stringData={"token": V["last-applied"]}))
    live[1]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": applied
    }
    live[2]["data"] = {"DB_PASSWORD": V["live ConfigMap password"], "LOG_LEVEL": "debug"}
    live[3]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": applied_api.replace(
            V["desired env token"], V["live env token"]
        )
    }
    live[3]["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "API_TOKEN", "value": V["live env token"]},
        {"name": "DB_PASSWORD", "value": V["env password added live"]},
    ]
    env_item = {'k:{"name":"DB_PASSWORD"}': {".": {}, "f:name": {}, "f:value": {}}}
    containers = {'k:{"name":"api"}': {"f:env": env_item}}
    live[3]["metadata"]["managedFields"] = [
        {
            "manager": "kubectl-edit",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": containers}}}},
        }
    ]
    d = tmp / "desired.yaml"
    d.write_text(yaml.safe_dump_all(desired))
    lv = tmp / "live.json"
    lv.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": live}))
    return d, lv


def shown(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value)


def leaks(text: str) -> list[str]:
    found = []
    for what, value in VALUES.items():
        for form in (value, b64(value), b64(value).rstrip("=")):
            if form in text:
                found.append(f"{what} ({'plain' if form == value else 'base64'})")
    return found


def test_every_secret_shape_is_found_and_no_format_shows_a_value(
    tmp_path: Path, home: Path
) -> None:
    desired, live = world(tmp_path)
    base = ("diff", "--desired", str(desired), "--live", str(live), "-n", "shop")
    files = [f"{fmt}={tmp_path / ('out.' + fmt)}" for fmt in FORMATS]
    r = run_cli(*base, *[a for f in files for a in ("-o", f)], "--analyze", home=home)
    assert r.returncode == 1, r.stderr
    for fmt in FORMATS:
        text = (tmp_path / f"out.{fmt}").read_text()
        assert leaks(text) == [], fmt
    for fmt in FORMATS:
        out = run_cli(*base, "-o", fmt, home=home)
        assert out.returncode == 1, out.stderr
        assert leaks(out.stdout + out.stderr) == [], fmt

    report = json.loads((tmp_path / "out.json").read_text())
    found = {
        (res["name"], f["path"], f["change"], shown(f["desired"]), shown(f["live"]))
        for env in report["environments"]
        for res in env["resources"]
        for f in res["findings"]
    }
    assert found == {
        ("s1", "data.password", "changed", "***", "***"),
        ("s1", "data.old", "removed", "***", None),
        ("s1", "data.new", "added", None, "***"),
        ("s2", "data.token", "changed", "***", "***"),  # stringData desired, data live
        ("s3", "", "missing", None, None),
        ("cfg", "data.DB_PASSWORD", "changed", "***", "***"),
        ("cfg", "data.LOG_LEVEL", "changed", "info", "debug"),  # not a credential: shown
        ("api", "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration",
         "changed", "***", "***"),
        ("api", "spec.template.spec.containers[name=api].env[name=API_TOKEN].value",
         "changed", "***", "***"),
        ("api", "spec.template.spec.containers[name=api].env[name=DB_PASSWORD]",
         "added", None, '{"name": "DB_PASSWORD", "value": "***"}'),
    }  # fmt: skip


def test_a_rotated_credential_outside_a_secret_gets_a_new_fingerprint(
    tmp_path: Path, home: Path
) -> None:
    """Masked values still tell rotations apart (hashes): a record keyed by fingerprint sees
    the second rotation as new drift."""
    desired, live = world(tmp_path)
    base = ("diff", "--desired", str(desired), "-n", "shop", "-o", "json")
    first = json.loads(run_cli(*base, "--live", str(live), home=home).stdout)
    rotated = live.read_text().replace(V["live env token"], "env-token-live-again-0042")
    (tmp_path / "rotated.json").write_text(rotated)
    second = json.loads(run_cli(*base, "--live", str(tmp_path / "rotated.json"), home=home).stdout)

    def prints(report: dict[str, Any]) -> dict[str, str]:
        return {
            f["path"]: f["fingerprint"]
            for res in report["environments"][0]["resources"]
            for f in res["findings"]
            if res["name"] == "api"
        }

    path = "spec.template.spec.containers[name=api].env[name=API_TOKEN].value"
    assert prints(first)[path] != prints(second)[path]
    assert "env-token-live-again-0042" not in json.dumps(second)
