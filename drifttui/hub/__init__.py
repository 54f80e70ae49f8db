"""ConfigHub, real or embedded: ``open_hub(settings)`` gives the one the settings name.

- ``ConfigHubClient`` (``hub/http.py``) when ``CUB_API_URL`` or ``CUB_TOKEN`` is set: the
  token is ``CUB_TOKEN``, else the ``cub`` CLI's stored login; nothing is written locally.
- ``SqliteHub`` (``hub/local.py``) otherwise, at ``settings.hub_path`` (``DRIFTTUI_HUB`` /
  ``--hub``, default ``<data dir>/hub.db``), creating its directory.

Importing this package is cheap: implementations load only when opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drifttui.config import Settings
    from drifttui.hub.protocol import Hub


def open_hub(settings: Settings, *, home: Path | None = None, author: str | None = None) -> Hub:
    """The hub the settings select. Raises AuthError when a URL is set but no token can be
    found (CUB_TOKEN or a ``cub auth login``)."""
    if settings.uses_embedded_hub:
        from drifttui.hub.local import SqliteHub

        return SqliteHub(settings.hub_path, author=author)
    from drifttui.config import DEFAULT_CUB_API_URL, SecretValue
    from drifttui.errors import AuthError
    from drifttui.hub.http import ConfigHubClient, cub_login_token

    token = settings.cub_token
    if not token:
        found = cub_login_token(home)
        if not found:
            raise AuthError(
                "no ConfigHub token",
                settings.cub_api_url or DEFAULT_CUB_API_URL,
                "set CUB_TOKEN, or run `cub auth login`",
            )
        token = SecretValue(found)
    return ConfigHubClient(settings.cub_api_url or DEFAULT_CUB_API_URL, token, author=author)
