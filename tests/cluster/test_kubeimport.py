"""The official client imported without its unused parts (``cluster/kubeimport.py``): what
is left out, that the package still behaves as usual afterwards, and that the deferred
OIDC modules do their job when a kubeconfig's token has expired.

Each check runs in a fresh interpreter: the test process has imported ``kubernetes`` the
ordinary way long before."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import cli_env

LEFT_OUT = (
    "requests",
    "requests_oauthlib",
    "oauthlib.oauth2",
    "websocket",
    "kubernetes.dynamic",
    "kubernetes.stream",
    "kubernetes.watch",
    "kubernetes.informer",
    "kubernetes.leaderelection",
)


def python(code: str, tmp_path: Path, env: dict[str, str] | None = None) -> Any:
    """Run ``code`` in a fresh interpreter; the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_only_the_client_and_config_are_imported_and_the_rest_still_loads_on_demand(
    tmp_path: Path,
) -> None:
    out = python(
        f"""
import json, sys
from drifttui.cluster.kubeimport import client_and_config
client, config = client_and_config()
out = {{"left_out": [m for m in {LEFT_OUT!r} if m in sys.modules],
        "has": [client.ApiClient.__name__, client.Configuration.__name__,
                config.load_kube_config.__name__, config.ConfigException.__name__]}}
import importlib.metadata, kubernetes
out["version"] = [kubernetes.__version__, importlib.metadata.version("kubernetes")]
from kubernetes import watch, dynamic
import requests_oauthlib
out["later"] = [watch.Watch.__name__, dynamic.DynamicClient.__name__,
                requests_oauthlib.OAuth2Session.__name__, type(requests_oauthlib).__name__]
print(json.dumps(out))
""",
        tmp_path,
    )
    assert out["left_out"] == []
    assert out["has"] == ["ApiClient", "Configuration", "load_kube_config", "ConfigException"]
    assert out["version"][0] == out["version"][1]
    assert out["later"] == ["Watch", "DynamicClient", "OAuth2Session", "module"]


def test_an_earlier_ordinary_import_is_used_as_it_is(tmp_path: Path) -> None:
    out = python(
        """
import json, sys, kubernetes
from drifttui.cluster.kubeimport import client_and_config
client, config = client_and_config()
print(json.dumps([client is kubernetes.client, config is kubernetes.config,
                  "kubernetes.dynamic" in sys.modules, type(kubernetes).__name__]))
""",
        tmp_path,
    )
    assert out == [True, True, True, "module"]


def _jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2ln"


@pytest.fixture
def identity_provider() -> Iterator[dict[str, Any]]:
    """An OIDC provider on loopback: discovery and a token endpoint that refreshes."""
    seen: dict[str, Any] = {"refreshes": 0}
    fresh = _jwt({"sub": "me", "exp": int(time.time()) + 3600})

    class Handler(BaseHTTPRequestHandler):
        def _json(self, doc: dict[str, Any]) -> None:
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._json({"token_endpoint": f"{seen['url']}/token"})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["refreshes"] += 1
            self._json(
                {
                    "id_token": fresh,
                    "refresh_token": "refresh-2",
                    "access_token": "access-2",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            )

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    seen["fresh"] = fresh
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield seen
    server.shutdown()
    server.server_close()


def test_an_expired_oidc_token_is_refreshed_through_the_deferred_modules(
    tmp_path: Path, identity_provider: dict[str, Any]
) -> None:
    expired = _jwt({"sub": "me", "exp": int(time.time()) - 600})
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [
                    {
                        "name": "u",
                        "user": {
                            "auth-provider": {
                                "name": "oidc",
                                "config": {
                                    "client-id": "drifttui",
                                    "client-secret": "s3cret",
                                    "id-token": expired,
                                    "refresh-token": "refresh-1",
                                    "idp-issuer-url": identity_provider["url"],
                                },
                            }
                        },
                    }
                ],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    out = python(
        f"""
import json, sys
from drifttui.cluster.kube import load_configuration
cfg, context, _ = load_configuration({str(kubeconfig)!r})
print(json.dumps([context, cfg.api_key.get("BearerToken"), "requests_oauthlib" in sys.modules]))
""",
        tmp_path,
        # the provider speaks plain HTTP on loopback; oauthlib refuses that otherwise
        env={"OAUTHLIB_INSECURE_TRANSPORT": "1"},
    )
    assert identity_provider["refreshes"] == 1
    assert out == ["c", f"Bearer {identity_provider['fresh']}", True]
