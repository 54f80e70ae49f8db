"""The headless CLI given bad or odd input: one clear line on stderr, exit 2, nothing else.

Each test drives ``python -m drifttui`` the way an operator does on first use."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drifttui.hub.local import SqliteHub
from tests.cluster.apiserver import EmulatorThread
from tests.support import run_cli

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread()
    yield emu
    emu.close()


@pytest.fixture
def drifted(tmp_path: Path, emulator: EmulatorThread) -> Any:
    """``cli(*args)`` on chain shop (base -> dev) with web applied to dev and scaled 2 -> 5."""
    env = {
        "KUBECONFIG": str(emulator.write_kubeconfig(tmp_path / "kubeconfig")),
        "DRIFTTUI_HUB": str(tmp_path / "hub.db"),
    }
    for obj in emulator.objects("apps/v1", "Deployment", "shop"):
        emulator.delete("apps/v1", "Deployment", "shop", obj["metadata"]["name"])

    def cli(*args: str) -> Any:
        return run_cli(*args, home=tmp_path, env=env)

    assert cli("init", "--prefix", "shop", "--envs", "dev").returncode == 0
    hub = SqliteHub(tmp_path / "hub.db")
    for space in ("shop-dev", "shop-base"):
        for unit in hub.list_units(space):
            hub.delete_unit(space, unit.slug)
    hub.close()
    (tmp_path / "web.yaml").write_text(WEB)
    assert cli("import", str(tmp_path / "web.yaml"), "--space", "shop-base").returncode == 0
    assert cli("promote", "shop-base", "shop-dev", "--yes").returncode == 0
    assert cli("apply", "dev", "--yes").returncode == 0
    emulator.modify("apps/v1", "Deployment", "shop", "web", lambda o: o["spec"].update(replicas=5))
    return cli


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _kubeconfig(path: Path, server: str, token: str = "kube-token-0123456789") -> Path:
    path.write_text(
        f"""\
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "{server}"}}
contexts:
- name: ctx
  context: {{cluster: c, user: u}}
current-context: ctx
users:
- name: u
  user: {{token: {token}}}
"""
    )
    return path


def test_an_unreachable_cluster_is_one_error_line_not_a_flood_of_retry_warnings(
    tmp_path: Path,
) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{_closed_port()}")
    env = {"KUBECONFIG": str(kubeconfig), "DRIFTTUI_HUB": str(tmp_path / "hub.db")}
    assert (
        run_cli("init", "--prefix", "shop", "--envs", "dev", home=tmp_path, env=env).returncode == 0
    )

    result = run_cli(
        "--once", home=tmp_path, env={**env, "CUB_SPACE": "shop-dev", "NAMESPACE": "shop"}
    )

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "Retrying" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "kube-token-0123456789" not in result.stderr + result.stdout
    errors = [line for line in lines if line.startswith("drifttui: error: ")]
    assert len(errors) == 1, lines
    assert "connection refused" in errors[0]
    assert "check that the cluster is reachable" in errors[0]
    assert len(lines) == 1, lines


def test_a_service_port_in_use_or_out_of_range_is_one_error_line_and_exit_2(
    tmp_path: Path,
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        in_use = run_cli("demo", "--headless", "--port", str(port), home=tmp_path, timeout=60)
        hub_in_use = run_cli("hub", "serve", "--port", str(port), home=tmp_path, timeout=60)
    too_big = run_cli("demo", "--headless", "--port", "99999", home=tmp_path, timeout=60)
    hub_too_big = run_cli("hub", "serve", "--port", "70000", home=tmp_path, timeout=60)

    for result, where in (
        (in_use, f"127.0.0.1:{port}"),
        (hub_in_use, f"127.0.0.1:{port}"),
        (too_big, "127.0.0.1:99999"),
        (hub_too_big, "127.0.0.1:70000"),
    ):
        assert result.returncode == 2, result.stderr
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("drifttui: error: ")]
        assert len(errors) == 1, result.stderr
        assert f"cannot listen on {where}" in errors[0]
        assert "internal error" not in result.stderr
        assert "Traceback" not in result.stderr
        assert "ERROR:" not in result.stderr  # uvicorn's own line
        assert "Serving /health" not in result.stderr  # never announced what it cannot serve
    assert "in use" in in_use.stderr
    assert "0-65535" in too_big.stderr


def test_demo_once_refuses_an_unknown_environment_instead_of_reporting_all(
    tmp_path: Path,
) -> None:
    result = run_cli("demo", "--once", "--env", "dev", "--env", "qa", home=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "drifttui: error: --env: no environment named qa; the demo has dev, staging, prod"
    ]


def test_demo_once_with_env_reports_that_environment_only(tmp_path: Path) -> None:
    out = tmp_path / "drift.json"
    result = run_cli("demo", "--once", "--env", "prod", "-o", f"json={out}", home=tmp_path)

    assert result.returncode in (0, 1), result.stderr
    assert [e["name"] for e in json.loads(out.read_text())["environments"]] == ["prod"]


def test_demo_once_and_headless_together_are_refused(tmp_path: Path) -> None:
    result = run_cli("demo", "--once", "--headless", home=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "--once and --headless do not go together" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_cub_api_url_without_api_says_to_fix_cub_api_url(tmp_path: Path) -> None:
    from drifttui.hub.local import SqliteHub
    from drifttui.hub.server import ServerThread, create_app

    hub = SqliteHub(tmp_path / "served.db")
    server = ServerThread(create_app(hub, "hub-token-0123456789"))
    api = server.start()
    try:
        result = run_cli(
            "hub",
            "spaces",
            home=tmp_path,
            env={"CUB_API_URL": api.removesuffix("/api"), "CUB_TOKEN": "hub-token-0123456789"},
        )
    finally:
        server.stop()
        hub.close()

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"drifttui: error: {api.removesuffix('/api')}: no ConfigHub API at this address "
        "(404, for list spaces); check CUB_API_URL: it is the API's base, ending in /api "
        "(e.g. https://hub.confighub.com/api)"
    ]


def test_a_web_page_where_the_hub_should_be_is_not_pasted_into_the_error(
    tmp_path: Path,
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class WebSite(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/old"):
                self.send_response(301)
                self.send_header("Location", "/new/")
                self.end_headers()
                return
            self.send_error(404)  # an HTML error page

        def log_message(self, *args: object) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), WebSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        missing = run_cli(
            "hub", "units", home=tmp_path, env={"CUB_API_URL": base, "CUB_TOKEN": "t0k3n-abcdef"}
        )
        moved = run_cli(
            "hub",
            "spaces",
            home=tmp_path,
            env={"CUB_API_URL": f"{base}/old", "CUB_TOKEN": "t0k3n-abcdef"},
        )
    finally:
        site.shutdown()
        site.server_close()

    for result in (missing, moved):
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1, lines
        assert "<" not in lines[0]  # no HTML
        assert "check CUB_API_URL" in lines[0]
        assert "try again later" not in lines[0]
        assert "t0k3n-abcdef" not in result.stderr
    assert "(404" in missing.stderr
    assert "(301, redirected to /new/" in moved.stderr


def test_init_names_the_bad_prefix_or_environment_as_typed(tmp_path: Path) -> None:
    prefix = run_cli("init", "--prefix", "bad prefix!", home=tmp_path)
    env = run_cli("init", "--prefix", "shop", "--envs", "dev,bad env", home=tmp_path)

    assert (prefix.returncode, env.returncode) == (2, 2)
    assert "invalid prefix 'bad prefix!';" in prefix.stderr
    assert "drift-records" not in prefix.stderr
    assert "invalid environment name 'bad env';" in env.stderr
    assert "shop-bad env" not in env.stderr
    listed = run_cli("hub", "spaces", "-o", "json", home=tmp_path)
    assert json.loads(listed.stdout) == []  # nothing half-created


def test_promoting_backwards_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    assert run_cli("init", "--prefix", "shop", home=tmp_path).returncode == 0
    before = run_cli("hub", "audit", "--limit", "1000", "-o", "json", home=tmp_path)

    result = run_cli("promote", "prod", "dev", "--yes", home=tmp_path)

    assert result.returncode == 2
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("drifttui: error: ")]
    assert len(errors) == 1, result.stderr
    assert "is upstream of shop-prod/" in errors[0]
    assert "did you mean: drifttui promote shop-dev shop-prod" in errors[0]
    after = run_cli("hub", "audit", "--limit", "1000", "-o", "json", home=tmp_path)
    assert json.loads(after.stdout) == json.loads(before.stdout)  # nothing written


def test_fix_with_an_unknown_filter_or_set_fails_before_writing_anything(drifted: Any) -> None:
    before = json.loads(drifted("hub", "audit", "--limit", "1000", "-o", "json").stdout)

    no_filter = drifted("fix", "--env", "dev", "--filter", "nope", "--yes")
    no_set = drifted("fix", "--env", "dev", "--set", "nope", "--yes")

    assert (no_filter.returncode, no_set.returncode) == (2, 2)
    assert "no filter 'nope'" in no_filter.stderr
    assert "no set named 'nope'" in no_set.stderr
    after = json.loads(drifted("hub", "audit", "--limit", "1000", "-o", "json").stdout)
    assert after == before  # no drift record opened by a run that failed
    records = drifted("hub", "units", "--space", "shop-drift-records", "-o", "json")
    assert json.loads(records.stdout) == []
    still = drifted("--once", "--env", "dev", "-o", "json")
    assert still.returncode == 1  # and the cluster was not touched


def test_a_password_in_a_hub_or_cluster_url_is_never_printed(tmp_path: Path) -> None:
    hub_url = f"http://admin:hub-pass-4242@127.0.0.1:{_closed_port()}/api"
    kubeconfig = _kubeconfig(
        tmp_path / "kubeconfig", f"https://kube:kube-pass-4242@127.0.0.1:{_closed_port()}"
    )
    env = {"CUB_API_URL": hub_url, "CUB_TOKEN": "cub-token-4242"}

    shown = run_cli("config", home=tmp_path, env=env)  # warns: cannot read the hub at URL
    assert run_cli("init", "--prefix", "shop", "--envs", "dev", home=tmp_path).returncode == 0
    once = run_cli(
        "--once",
        "-o",
        "json",
        "--log-format",
        "json",
        home=tmp_path,
        env={"KUBECONFIG": str(kubeconfig), "CUB_SPACE": "shop-dev", "NAMESPACE": "shop"},
    )

    assert "http://***@127.0.0.1:" in shown.stderr  # still says where
    assert "ConfigHub http://***@127.0.0.1:" in shown.stdout
    assert "https://***@127.0.0.1:" in json.loads(once.stdout)["environments"][0]["error"]
    for result in (shown, once):
        text = result.stdout + result.stderr
        assert "pass-4242" not in text
        assert "token-4242" not in text


def test_config_json_stays_json_when_the_hub_cannot_be_read(tmp_path: Path) -> None:
    env = {"CUB_API_URL": f"http://127.0.0.1:{_closed_port()}/api", "CUB_TOKEN": "t-123456"}

    result = run_cli("config", "-o", "json", home=tmp_path, env=env)

    assert result.returncode == 0
    shown = json.loads(result.stdout)  # the warning is not mixed into it
    assert shown["settings"]["cub token"]["value"] == "set (hidden)"
    assert result.stderr.startswith("drifttui: warning: cannot read the hub: http://127.0.0.1:")


def test_a_kubeconfig_without_current_context_works_with_kube_context(
    tmp_path: Path, emulator: EmulatorThread
) -> None:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    text = kubeconfig.read_text()
    assert "current-context: emu\n" in text
    kubeconfig.write_text(text.replace("current-context: emu\n", ""))
    assert run_cli("init", "--prefix", "shop", "--envs", "dev", home=tmp_path).returncode == 0
    env = {"KUBECONFIG": str(kubeconfig), "CUB_SPACE": "shop-dev", "NAMESPACE": "empty-ns"}

    named = run_cli("--once", home=tmp_path, env={**env, "KUBE_CONTEXT": "emu"})
    unnamed = run_cli("--once", home=tmp_path, env=env)

    # read the cluster: the chain's detector units are not deployed there (missing, exit 1)
    assert named.returncode == 1, named.stderr
    assert " missing · 0 unmanaged · 0 errors;" in named.stdout
    assert unnamed.returncode == 2
    assert unnamed.stderr.splitlines() == [
        f"drifttui: error: {kubeconfig}: the kubeconfig has no current context; pick one with "
        "KUBE_CONTEXT or an environment's context: in --config (emu)"
    ]


def test_a_kubeconfig_that_is_a_directory_or_bad_yaml_says_so(tmp_path: Path) -> None:
    (tmp_path / "kube.d").mkdir()
    (tmp_path / "bad-kubeconfig").write_text("apiVersion: v1\nusers: [\n  token: abc-secret\n")

    folder = run_cli("--once", home=tmp_path, env={"KUBECONFIG": str(tmp_path / "kube.d")})
    broken = run_cli("--once", home=tmp_path, env={"KUBECONFIG": str(tmp_path / "bad-kubeconfig")})

    assert (folder.returncode, broken.returncode) == (2, 2)
    assert "cannot read the kubeconfig (Is a directory)" in folder.stderr
    assert "the kubeconfig does not parse at line " in broken.stderr
    assert "kubectl config view" in broken.stderr
    assert "abc-secret" not in broken.stderr


def test_reading_a_hub_file_that_is_not_there_says_so_and_creates_nothing(
    tmp_path: Path,
) -> None:
    typo = tmp_path / "hbu.db"
    (tmp_path / "app.yaml").write_text(WEB)
    for args in (
        ("hub", "spaces"),
        ("hub", "units", "--space", "shop-dev"),
        ("import", str(tmp_path / "app.yaml"), "--space", "shop-dev"),
        ("promote", "dev", "prod", "--yes"),
        ("rollback", "web", "--space", "shop-dev", "--yes"),
    ):
        result = run_cli(*args, "--hub", str(typo), home=tmp_path)
        assert result.returncode == 2, args
        assert result.stderr.splitlines() == [
            f"drifttui: error: {typo}: no hub database here; create one with: drifttui init "
            "(or check --hub / DRIFTTUI_HUB)"
        ]
    assert not typo.exists()


def test_the_tui_without_a_terminal_is_refused_instead_of_hanging(
    tmp_path: Path, emulator: EmulatorThread
) -> None:
    # run_cli gives the process pipes, as cron, CI or `drifttui demo > log` do
    assert run_cli("init", "--prefix", "shop", "--envs", "dev", home=tmp_path).returncode == 0
    env = {"KUBECONFIG": str(emulator.write_kubeconfig(tmp_path / "kubeconfig"))}
    demo = run_cli("demo", home=tmp_path, timeout=60)
    root = run_cli(home=tmp_path, env=env, timeout=60)
    watch = run_cli("watch", home=tmp_path, env=env, timeout=60)

    for result in (demo, root, watch):
        assert result.returncode == 2
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, lines
        assert "the TUI needs a terminal" in lines[0]
        assert "\x1b" not in result.stderr  # no screen painted into the log
    assert "drifttui demo --once or --headless" in demo.stderr
    assert "--once (a report) or drifttui watch --headless" in root.stderr
