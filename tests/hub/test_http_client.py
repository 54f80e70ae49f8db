"""ConfigHubClient details against a scripted server (httpx.MockTransport stands in for
ConfigHub): retries and backoff, Retry-After, paging, reconciliation of retried writes,
G1 shapes, token sources and secrecy."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from drifttui.config import load_settings
from drifttui.errors import AuthError, HubError
from drifttui.hub import open_hub
from drifttui.hub.http import ConfigHubClient, cub_login_token
from drifttui.hub.local import SqliteHub
from tests.hub.conftest import deployment
from tests.support import run_cli

SECRET = "tok-very-secret-123"
SPACE = {"Space": {"SpaceID": "sid-1", "Slug": "s", "Labels": {}}, "TotalUnitCount": 0}


def client(
    handler: Callable[[httpx.Request], httpx.Response], **kw: Any
) -> tuple[ConfigHubClient, list[float]]:
    waits: list[float] = []
    c = ConfigHubClient(
        "https://hub.example/api",
        SECRET,
        author="alice",
        transport=httpx.MockTransport(handler),
        sleep=waits.append,
        rng=lambda: 1.0,
        **kw,
    )
    return c, waits


def spaces_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=[SPACE])


def test_429_waits_for_retry_after_then_succeeds() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return spaces_ok(request)

    c, waits = client(handler)
    assert [s.slug for s in c.list_spaces()] == ["s"]
    assert waits == [7.0, 7.0]
    assert len(calls) == 3
    assert calls[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert calls[0].headers["User-Agent"].endswith("(user=alice)")


def test_retry_after_as_an_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        if len(seen) == 1:
            return httpx.Response(503, headers={"Retry-After": later})
        return spaces_ok(request)

    c, waits = client(handler)
    c.list_spaces()
    assert len(waits) == 1
    assert 25 <= waits[0] <= 30


def test_backoff_grows_jittered_and_capped_then_gives_up_clearly() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502)

    c, waits = client(handler, max_attempts=6, backoff_base_s=0.5, backoff_cap_s=3.0)
    with pytest.raises(HubError) as err:
        c.list_spaces()
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]  # rng() == 1.0: the top of each jitter range
    assert "502" in str(err.value)
    assert "\n" not in str(err.value)
    assert SECRET not in str(err.value)


def test_full_jitter_draws_from_zero_up() -> None:
    c = ConfigHubClient("https://h/api", SECRET, rng=lambda: 0.25, backoff_base_s=1.0)
    assert c._backoff(3, None) == 1.0  # 0.25 * 1.0 * 2**2
    assert c._backoff(1, 90.0) == 60.0  # Retry-After is capped


def test_client_errors_are_not_retried_and_carry_the_servers_message() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"Code": "400", "Message": "invalid attribute X"})

    c, waits = client(handler)
    with pytest.raises(HubError, match="invalid attribute X"):
        c.list_spaces()
    assert len(calls) == 1
    assert waits == []


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_token_is_an_auth_error_without_the_token(status: int) -> None:
    c, _ = client(lambda r: httpx.Response(status, json={"Message": "nope"}))
    with pytest.raises(AuthError, match="token rejected") as err:
        c.get_space("s")
    assert err.value.status == status
    assert SECRET not in str(err.value)
    assert SECRET not in repr(c)


@pytest.mark.parametrize("status", [401, 0])
def test_a_password_in_the_hub_url_is_used_but_never_shown(status: int) -> None:
    """CUB_API_URL=https://user:password@host/api: httpx sends the credentials, and errors
    and reprs name the URL with the password masked."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if not status:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(status, json={"Message": "nope"})

    c = ConfigHubClient(
        "https://ops:url-password-77@hub.example/api",
        SECRET,
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
        max_attempts=1,
    )
    with pytest.raises(HubError) as err:
        c.get_space("s")
    assert seen
    assert seen[0] is not None
    assert "https://***@hub.example/api" in str(err.value)
    for text in (str(err.value), repr(c), c.name):
        assert "url-password-77" not in text


def test_config_shows_the_hub_url_without_its_password(tmp_path: Path) -> None:
    env = {"CUB_API_URL": "https://ops:url-password-77@hub.example/api", "CUB_TOKEN": SECRET}
    r = run_cli("config", home=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "https://***@hub.example/api" in r.stdout
    assert "url-password-77" not in r.stdout + r.stderr
    assert SECRET not in r.stdout + r.stderr


def test_connection_failures_are_retried_then_reported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    c, waits = client(handler, max_attempts=3)
    with pytest.raises(HubError, match="cannot connect") as err:
        c.list_spaces()
    assert len(waits) == 2
    assert "CUB_API_URL" in str(err.value)


def test_lists_follow_continue_tokens_through_empty_pages() -> None:
    pages = {
        "": ([SPACE], "t1"),
        "t1": ([], "t2"),  # an empty page can still be followed by more
        "t2": ([{**SPACE, "Space": {**SPACE["Space"], "SpaceID": "sid-2", "Slug": "t"}}], ""),
    }
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("continue", "")
        seen.append(token)
        assert request.url.params["limit"] == "1000"
        body, nxt = pages[token]
        return httpx.Response(200, json=body, headers={"ConfigHub-Continue": nxt} if nxt else {})

    c, _ = client(handler)
    assert [s.slug for s in c.list_spaces()] == ["s", "t"]
    assert seen == ["", "t1", "t2"]


def unit_json(data: str, head: int = 1) -> dict[str, Any]:
    from drifttui.hub.documents import data_hash

    return {
        "UnitID": "uid-1",
        "SpaceID": "sid-1",
        "SpaceSlug": "s",
        "Slug": "u",
        "HeadRevisionNum": head,
        "DataHash": data_hash(data),
        "Version": head,
        "Labels": {},
    }


def test_a_create_whose_answer_was_lost_is_reconciled_not_duplicated() -> None:
    """The first POST reaches the server but its answer is lost; the repeat gets 409 and
    the client reads the unit back: same data, so the create succeeded once."""
    posts: list[int] = []
    created: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/space":
            return spaces_ok(request)
        if request.method == "POST" and path == "/api/space/sid-1/unit":
            posts.append(1)
            if len(posts) == 1:
                body = json.loads(request.content)
                created["data"] = base64.b64decode(body["Data"]).decode()
                raise httpx.ReadError("connection reset", request=request)
            return httpx.Response(409, json={"Message": "already exists"})
        if path == "/api/space/sid-1/unit" and request.method == "GET":
            return httpx.Response(200, json=[{"Unit": unit_json(created["data"])}])
        if path == "/api/space/sid-1/unit/uid-1":
            return httpx.Response(200, json={"Unit": unit_json(created["data"])})
        if path == "/api/space/sid-1/unit/uid-1/data":
            return httpx.Response(200, text=created["data"])
        raise AssertionError(path)

    c, _ = client(handler)
    u = c.create_unit("s", "u", deployment())
    assert u.data == deployment()
    assert u.head_revision == 1
    assert len(posts) == 2


def test_a_genuine_duplicate_create_is_a_conflict() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/space":
            return spaces_ok(request)
        return httpx.Response(409, json={"Message": "exists"})

    c, _ = client(handler)
    from drifttui.errors import ConflictError

    with pytest.raises(ConflictError, match="already exists"):
        c.create_unit("s", "u", deployment())


def test_g1_inline_base64_data_is_read_without_the_data_endpoint() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/api/space":
            return spaces_ok(request)
        unit = {**unit_json(deployment()), "Data": base64.b64encode(deployment().encode()).decode()}
        if request.url.path == "/api/space/sid-1/unit":
            return httpx.Response(200, json=[{"Unit": unit}])
        return httpx.Response(200, json=unit)  # G1: a bare Unit, not an envelope

    c, _ = client(handler)
    assert c.get_unit("s", "u").data == deployment()
    assert not any(p.endswith("/data") for p in paths)


def test_v1_is_dropped_from_the_base_url() -> None:
    c = ConfigHubClient("https://hub.confighub.com/api/v1/", SECRET)
    assert c.base_url == "https://hub.confighub.com/api"
    assert repr(c) == "ConfigHubClient(base_url='https://hub.confighub.com/api', token='***')"


# --------------------------------------------------------------------------- token sources


def test_cub_login_token_from_the_current_context(tmp_path: Path) -> None:
    base = tmp_path / ".confighub"
    (base / "tokens").mkdir(parents=True)
    (base / "config.yaml").write_text(
        "apiVersion: v1\nkind: Config\ncurrentContext: work\ncontexts:\n"
        "- name: home\n  coordinate: {serverURL: https://x}\n  metadata: {tokenFile: home.json}\n"
        "- name: work\n  coordinate: {serverURL: https://y}\n  metadata: {tokenFile: work.json}\n"
    )
    (base / "tokens" / "home.json").write_text('{"accessToken": "home-tok"}')
    (base / "tokens" / "work.json").write_text('{"accessToken": "work-tok", "refreshToken": "r"}')
    assert cub_login_token(tmp_path) == "work-tok"


def test_cub_login_token_from_a_g1_session(tmp_path: Path) -> None:
    base = tmp_path / ".confighub"
    base.mkdir()
    (base / "session.json").write_text('{"user": "a", "access_token": "g1-tok"}')
    assert cub_login_token(tmp_path) == "g1-tok"


def test_no_or_broken_cub_login_is_none(tmp_path: Path) -> None:
    assert cub_login_token(tmp_path) is None
    base = tmp_path / ".confighub"
    base.mkdir()
    (base / "config.yaml").write_text("contexts: [\n")
    assert cub_login_token(tmp_path) is None


def test_open_hub_picks_the_embedded_hub_without_credentials(tmp_path: Path) -> None:
    settings = load_settings(env={"HOME": str(tmp_path)})
    hub = open_hub(settings)
    assert isinstance(hub, SqliteHub)
    assert hub.path == tmp_path / ".local/share/drifttui/hub.db"
    hub.close()


def test_open_hub_uses_the_client_and_writes_nothing_locally(tmp_path: Path) -> None:
    settings = load_settings(
        env={"HOME": str(tmp_path), "CUB_API_URL": "http://h/api", "CUB_TOKEN": SECRET}
    )
    hub = open_hub(settings)
    assert isinstance(hub, ConfigHubClient)
    assert not (tmp_path / ".local").exists()
    hub.close()


def test_open_hub_falls_back_to_the_cub_login(tmp_path: Path) -> None:
    settings = load_settings(env={"HOME": str(tmp_path), "CUB_API_URL": "http://h/api"})
    with pytest.raises(AuthError, match="no ConfigHub token"):
        open_hub(settings, home=tmp_path)
    (tmp_path / ".confighub").mkdir()
    (tmp_path / ".confighub" / "session.json").write_text('{"access_token": "from-cub"}')
    hub = open_hub(settings, home=tmp_path)
    assert isinstance(hub, ConfigHubClient)
    assert hub._token.reveal() == "from-cub"
    hub.close()
