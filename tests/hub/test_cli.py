"""The hub commands as a user runs them: init, import, promote, rollback, hub ... and
hub serve with the HTTP client pointed at it (subprocesses, clean HOME)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drifttui.manifests import detector_objects
from tests.hub.conftest import deployment
from tests.support import cli_env, run_cli


def ok(*args: str, home: Path, env: dict[str, str] | None = None) -> str:
    r = run_cli(*args, home=home, env=env)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def fails(*args: str, home: Path, env: dict[str, str] | None = None) -> str:
    r = run_cli(*args, home=home, env=env)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    err = r.stderr.strip().splitlines()
    assert err, r.stderr
    assert err[-1].startswith("drifttui: error: "), r.stderr
    assert "Traceback" not in r.stderr
    return err[-1]


@pytest.fixture
def embedded(tmp_path: Path) -> dict[str, str]:
    return {"DRIFTTUI_HUB": str(tmp_path / "hub.db")}


def test_init_chain_and_list_spaces_as_json(tmp_path: Path, embedded: dict[str, str]) -> None:
    out = ok("init", "--prefix", "bar", home=tmp_path, env=embedded)
    assert "created space bar-base" in out
    assert out.strip().endswith("change(s)")
    spaces = json.loads(ok("hub", "spaces", "-o", "json", home=tmp_path, env=embedded))
    assert {s["Slug"] for s in spaces} >= {"bar-base", "bar-dev", "bar-staging", "bar-prod"}
    assert all({"Slug", "SpaceID", "Labels", "TotalUnitCount"} <= set(s) for s in spaces)
    again = ok("init", "--prefix", "bar", home=tmp_path, env=embedded)
    assert again.strip().endswith("already complete")
    tree = ok("hub", "tree", "--node", "space", home=tmp_path, env=embedded)
    assert re.search(rf"└── bar-base\s+base\s+{len(detector_objects())}", tree)
    assert re.search(rf"\s+└── bar-prod\s+prod\s+{len(detector_objects())}\s+0\s+yes", tree)


def test_default_hub_lives_in_the_data_dir(tmp_path: Path) -> None:
    ok("init", "--prefix", "d", "--envs", "dev", home=tmp_path)
    assert (tmp_path / ".local/share/drifttui/hub.db").is_file()


def test_a_new_hub_file_is_private_to_its_owner(tmp_path: Path) -> None:
    """The hub keeps Secret units (and live Secret values accepted into them): the database
    and its WAL files are 0600 whatever the umask, like the token file and the cache."""
    secret = tmp_path / "s.yaml"
    secret.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\n"
        "stringData: {password: hunter2-in-the-hub}\n"
    )
    ok("init", "--prefix", "p", "--envs", "dev", home=tmp_path)
    ok("import", str(secret), "--space", "p-base", home=tmp_path)
    files = list((tmp_path / ".local/share/drifttui").glob("hub.db*"))
    assert tmp_path / ".local/share/drifttui/hub.db" in files
    for f in files:
        assert f.stat().st_mode & 0o077 == 0, f"{f.name}: {oct(f.stat().st_mode)}"


SECRETS_V1 = """\
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData: {password: pw-one-1111}
data: {key: cGxhaW4ta2V5LW9uZQ==}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {DB_PASSWORD: cm-pw-one-2222, LOG_LEVEL: info}
"""


def test_promote_and_rollback_plans_never_print_secret_values(tmp_path: Path) -> None:
    """The plans name every changed path, values masked for a Secret and under credential
    names; the hub still holds (and promotes) the real values."""
    v2 = SECRETS_V1.replace("pw-one-1111", "pw-two-3333").replace("cm-pw-one", "cm-pw-two")
    v2 = v2.replace("cGxhaW4ta2V5LW9uZQ==", "cGxhaW4ta2V5LXR3bw==").replace("info", "debug")
    (tmp_path / "v1.yaml").write_text(SECRETS_V1)
    (tmp_path / "v2.yaml").write_text(v2)
    ok("init", "--prefix", "q", "--envs", "dev", home=tmp_path)
    ok("import", str(tmp_path / "v1.yaml"), "--space", "q-base", home=tmp_path)
    ok("promote", "q-base", "q-dev", "--yes", home=tmp_path)
    ok("import", str(tmp_path / "v2.yaml"), "--space", "q-base", home=tmp_path)
    shown = [
        ok("promote", "q-base", "q-dev", "--dry-run", home=tmp_path),
        ok("promote", "q-base", "q-dev", "--yes", home=tmp_path),
        run_cli("rollback", "db", "--space", "q-dev", home=tmp_path).stdout,
        run_cli("rollback", "cfg", "--space", "q-dev", home=tmp_path).stdout,
    ]
    plain = ("pw-one-1111", "pw-two-3333", "cm-pw-one-2222", "cm-pw-two-2222")
    encoded = ("cGxhaW4ta2V5LW9uZQ", "cGxhaW4ta2V5LXR3bw")  # plain-key-one, plain-key-two
    for out in shown:
        for value in plain + encoded:
            assert value not in out, out
    assert "~ data.DB_PASSWORD: *** -> ***" in shown[0]
    assert "~ data.LOG_LEVEL: info -> debug" in shown[0]  # not a credential: shown
    assert "~ stringData.password: *** -> ***" in shown[0]
    assert "~ data.key: *** -> ***" in shown[0]
    assert "~ data.password" not in shown[2]  # nothing is invented
    assert "~ stringData.password: *** -> ***" in shown[2]
    promoted = ok("hub", "data", "db", "--space", "q-dev", home=tmp_path)
    assert "pw-two-3333" in promoted
    assert "cGxhaW4ta2V5LXR3bw==" in promoted


def test_import_promote_rollback_through_the_cli(tmp_path: Path, embedded: dict[str, str]) -> None:
    e, h = embedded, tmp_path
    ok("init", "--prefix", "p", home=h, env=e)
    app = tmp_path / "app.yaml"
    app.write_text(deployment())
    out = ok("import", str(app), "--space", "p-base", home=h, env=e)
    assert re.search(r"created\s+backend-api\s+Deployment/backend-api\s+1", out)
    ok("promote", "p-base", "p-dev", "--yes", home=h, env=e)
    ok("promote", "dev", "staging", "--yes", home=h, env=e)  # environment names work too
    (tmp_path / "stg.yaml").write_text(deployment(replicas=5))
    ok("import", str(tmp_path / "stg.yaml"), "--space", "p-staging", home=h, env=e)
    (tmp_path / "dev.yaml").write_text(deployment(image="nginx:1.27"))
    ok("import", str(tmp_path / "dev.yaml"), "--space", "p-dev", "-m", "new image", home=h, env=e)
    units = json.loads(ok("hub", "units", "--space", "p-staging", "-o", "json", home=h, env=e))
    api = next(u for u in units if u["Slug"] == "backend-api")
    assert api["UpgradeNeeded"] == "Yes"
    assert api["Status"] == "NoLive"
    plan = ok("promote", "p-dev", "p-staging", "--dry-run", home=h, env=e)
    assert "~ spec.template.spec.containers[name=web].image: nginx:1.25 -> nginx:1.27" in plan
    assert "dry run" in plan
    ok("promote", "p-dev", "p-staging", "--yes", "-m", "ship 1.27", home=h, env=e)
    data = ok("hub", "data", "backend-api", "--space", "p-staging", home=h, env=e)
    assert "nginx:1.27" in data
    assert "replicas: 5" in data
    revs = ok("hub", "revisions", "backend-api", "--space", "p-staging", home=h, env=e)
    assert re.search(r"3\s+\S+\s+\S+\s+UpgradeUnit\s+ship 1.27", revs)
    ok("rollback", "backend-api", "--space", "p-staging", "--yes", home=h, env=e)
    data = ok("hub", "data", "backend-api", "--space", "p-staging", home=h, env=e)
    assert "nginx:1.25" in data
    assert "replicas: 5" in data
    old = ok("hub", "data", "backend-api", "--space", "p-staging", "--revision", "1", home=h, env=e)
    assert "replicas: 3" in old
    audit = ok("hub", "audit", "--space", "p-staging", "--limit", "3", home=h, env=e)
    assert "RestoreUnit" in audit.splitlines()[1]
    cs = json.loads(ok("hub", "changesets", "--space", "p-staging", "-o", "json", home=h, env=e))
    assert any(
        c["Description"] == "ship 1.27" and c["Units"] == ["p-staging/backend-api"] for c in cs
    )


def test_promote_without_a_terminal_needs_yes(tmp_path: Path, embedded: dict[str, str]) -> None:
    ok("init", "--prefix", "n", "--envs", "dev", home=tmp_path, env=embedded)
    app = tmp_path / "app.yaml"
    app.write_text(deployment())
    ok("import", str(app), "--space", "n-base", home=tmp_path, env=embedded)
    line = fails("promote", "n-base", "n-dev", home=tmp_path, env=embedded)
    assert "pass --yes" in line
    units = json.loads(
        ok("hub", "units", "--space", "n-dev", "-o", "json", home=tmp_path, env=embedded)
    )
    assert "backend-api" not in {u["Slug"] for u in units}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("hub", "units", "--where", "Slug = 'a' OR Slug = 'b'"), "at position 11"),
        (("hub", "units", "--space", "ghost"), "no space 'ghost'"),
        (("hub", "data", "nope", "--space", "x-base"), "no unit 'nope' in space 'x-base'"),
        (("rollback", "drift-detector", "--space", "x-dev", "--yes"), "no earlier revision"),
        (("promote", "x-dev", "nowhere", "--yes"), "no space or environment named 'nowhere'"),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, embedded: dict[str, str], args: tuple[str, ...], expected: str
) -> None:
    ok("init", "--prefix", "x", "--envs", "dev", home=tmp_path, env=embedded)
    assert expected in fails(*args, home=tmp_path, env=embedded)


def test_import_of_a_broken_file_names_it(tmp_path: Path, embedded: dict[str, str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\n")
    line = fails("import", str(bad), "--space", "s", home=tmp_path, env=embedded)
    assert str(bad) in line
    assert "metadata.name" in line


def test_help_has_examples(tmp_path: Path) -> None:
    for cmd in (("init",), ("import",), ("promote",), ("rollback",), ("hub",), ("hub", "serve")):
        out = ok(*cmd, "--help", home=tmp_path)
        assert "example" in out, cmd


# --------------------------------------------------------------------------- hub serve

TOKEN = "serve-token-0123456789abcdef"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    server_home = tmp_path / "server"
    server_home.mkdir()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drifttui",
            "hub",
            "serve",
            "--port",
            "0",
            "--token-file",
            str(token_file),
        ],
        env=cli_env(server_home, {"DRIFTTUI_HUB": str(tmp_path / "served.db")}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    m = re.search(r"at (http://127\.0\.0\.1:\d+/api)", first)
    assert m, first
    yield m.group(1), tmp_path, proc
    proc.terminate()
    proc.wait(timeout=10)


def test_hub_serve_shares_the_hub_with_token_auth(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, tmp_path, proc = served
    assert httpx.get(f"{url}/space").status_code == 401
    assert httpx.get(f"{url}/space", headers={"Authorization": "Bearer nope"}).status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{url}/space", headers=good).json() == []
    client_home = tmp_path / "client"
    client_home.mkdir()
    env = {"CUB_API_URL": url, "CUB_TOKEN": TOKEN}
    ok("init", "--prefix", "shared", "--envs", "dev,prod", home=client_home, env=env)
    assert not (client_home / ".local/share/drifttui").exists()
    spaces = json.loads(ok("hub", "spaces", "-o", "json", home=client_home, env=env))
    assert "shared-prod" in {s["Slug"] for s in spaces}
    body = httpx.get(f"{url}/space", headers=good).text
    assert "shared-dev" in body
    # a second client sees the same hub
    other = tmp_path / "other"
    other.mkdir()
    units = json.loads(
        ok("hub", "units", "--space", "shared-prod", "-o", "json", home=other, env=env)
    )
    assert len(units) == len(detector_objects())
    wrong = run_cli("hub", "spaces", home=client_home, env={**env, "CUB_TOKEN": "wrong-secret-x"})
    assert wrong.returncode == 2
    assert "wrong-secret-x" not in wrong.stdout + wrong.stderr
    assert "token rejected" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    proc.terminate()
    proc.wait(timeout=10)
    assert proc.stderr is not None
    log = proc.stderr.read()
    assert TOKEN not in log
    assert "GET /api/space" in log


def test_hub_serve_generates_and_names_a_token_file(tmp_path: Path) -> None:
    env = cli_env(tmp_path, {"DRIFTTUI_HUB": str(tmp_path / "d" / "hub.db")})
    proc = subprocess.Popen(
        [sys.executable, "-m", "drifttui", "hub", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        token_file = tmp_path / "d" / "hub-serve.token"
        assert f"new token written to {token_file}" in line
        token = token_file.read_text().strip()
        assert len(token) >= 32
        assert token not in line
        assert oct(os.stat(token_file).st_mode & 0o777) == "0o600"
        url = re.search(r"at (http://\S+/api)", line)
        assert url
        r = httpx.get(f"{url.group(1)}/space", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_v1_suffix_is_dropped_with_one_warning(tmp_path: Path) -> None:
    r = run_cli(
        "hub",
        "spaces",
        home=tmp_path,
        env={"CUB_API_URL": "http://127.0.0.1:9/api/v1", "CUB_TOKEN": "t0ken-abc"},
    )
    assert r.returncode == 2
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "/v1" in warnings[0]
    assert "http://127.0.0.1:9/api" in r.stderr
    assert "t0ken-abc" not in r.stderr
