"""Names that hold credentials: which map keys and environment variables carry a secret.

Pure rules on names (``DB_PASSWORD``, ``apiKey``, ``tls.key``), shared by what people see
(:func:`mask_credentials`, used by the diff for every finding's ``desired`` and ``live``)
and by what an analyst may see (``drifttui.analysis.redact``, which masks more). A name
ending in a reference word (``secretName``, ``secretKeyRef``, ``tokenPath``) refers to a
secret, it does not hold one.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence
from typing import Any

from drifttui.core.models import MASK, FieldPath, Sel

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")

_STRONG_TOKENS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "apikey",
        "credential",
        "credentials",
        "creds",
        "dsn",
        "privatekey",
        "accesskey",
        "secretkey",
        "connectionstring",
    }
)
_ENV_TOKENS = _STRONG_TOKENS | {"key", "pass", "auth", "authorization", "cookie", "conn"}
# a name ending in one of these refers to a secret, it does not hold one
_REFERENCE_TAILS = frozenset(
    {
        "name",
        "names",
        "ref",
        "refs",
        "path",
        "file",
        "mode",
        "ttl",
        "seconds",
        "expiration",
        "audience",
        "optional",
        "items",
        "enabled",
        "type",
        "length",
        "id",
    }
)


def name_tokens(name: str) -> list[str]:
    """``"DB_PASSWORD"`` -> ``["db", "password"]``; ``"apiKey"`` -> ``["api", "key"]``."""
    out: list[str] = []
    for part in _SPLIT.split(name):
        out.extend(t.lower() for t in _CAMEL.split(part) if t)
    return out


def _joined_pairs(tokens: Sequence[str]) -> set[str]:
    return {a + b for a, b in itertools.pairwise(tokens)}


@functools.lru_cache(maxsize=8192)
def is_credential_key(name: str) -> bool:
    """True when a map key names a credential (``apiKey``, ``db.password``, ``tls.key``).

    A bare ``key`` (tolerations, ``secretKeyRef.key``) is not one; names ending in a reference
    word (``secretName``, ``secretKeyRef``, ``tokenPath``) are not either.
    """
    tokens = name_tokens(name)
    if not tokens or tokens[-1] in _REFERENCE_TAILS:
        return False
    if any(t in _STRONG_TOKENS for t in tokens) or _joined_pairs(tokens) & _STRONG_TOKENS:
        return True
    # "key" qualified by something: api_key, private-key, tls.key, sshKey
    return len(tokens) > 1 and tokens[-1] == "key"


@functools.lru_cache(maxsize=8192)
def is_credential_env_name(name: str) -> bool:
    """True when an environment variable's name looks like a credential (stricter than
    :func:`is_credential_key`: ``KEY``, ``AUTH_...`` and ``..._PASS`` count)."""
    tokens = name_tokens(name)
    if not tokens or tokens[-1] in _REFERENCE_TAILS - {"id"}:
        return False
    return any(t in _ENV_TOKENS for t in tokens) or bool(_joined_pairs(tokens) & _ENV_TOKENS)


def _masked(value: Any) -> Any:
    """Every scalar of ``value`` masked (structure and map keys kept); nulls stay null."""
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return None if value is None else MASK


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        name = value.get("name")
        env = isinstance(name, str) and "value" in value and is_credential_env_name(name)
        out: dict[str, Any] = {}
        for k, v in value.items():
            if (k == "value" and env) or (isinstance(k, str) and is_credential_key(k)):
                out[k] = _masked(v)
            else:
                out[k] = _walk(v)
        return out
    if isinstance(value, list):
        return [_walk(v) for v in value]
    return value


def holds_credential(path: FieldPath) -> bool:
    """Does the value at ``path`` sit under a credential name: its own key
    (``data.DB_PASSWORD``, ``...apiKey``) or an env var's (``env[name=API_TOKEN]`` and its
    ``.value``)?"""
    if not path:
        return False
    last = path[-1]
    if isinstance(last, str) and last != "value":
        return is_credential_key(last)
    i = len(path) - 2 if last == "value" else len(path) - 1
    sel = path[i] if i >= 1 else None
    if isinstance(sel, Sel) and path[i - 1] == "env":
        name = dict(sel.keys).get("name")
        return isinstance(name, str) and is_credential_env_name(name)
    return False


def mask_credentials(path: FieldPath, value: Any) -> Any:
    """``value`` as a person may see it at ``path``: masked when its name says it holds a
    credential, else with every credential-named key (and credential env var) inside it
    masked. References (``secretKeyRef``, ``valueFrom``, ``imagePullSecrets`` names) stay."""
    if value is None:
        return None
    if holds_credential(path):
        if isinstance(value, dict) and isinstance(path[-1], Sel):
            return _walk(value)  # an env item: its name stays, its value is masked
        return _masked(value)
    return _walk(value)
