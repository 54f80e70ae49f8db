"""Redaction: what an analyst may see of a drift, and nothing more.

Every analyst (Claude and the offline rules alike) reads drift through
:func:`findings_for_analysis`: one JSON-ready mapping per counted finding, keyed by the
finding's stable ``id``, holding the resource, the dotted path, the change, the desired and
live values *after redaction*, who changed it and the cost-model figure. Raw objects, managed
fields, kubeconfigs and tokens never reach it.

What is masked (replaced by :data:`~drifttui.core.models.MASK`, structure kept so the analyst
still sees *which* key changed):

- every value of a ``Secret`` (plain ``stringData`` or base64 ``data``), except its labels
  and ``type``;
- the value of an environment variable whose *name* looks like a credential (PASSWORD,
  TOKEN, SECRET, KEY, CREDENTIALS, DSN, AUTH, ...), and any value under a map key that looks
  like one (``apiKey``, ``db.password``, ``tls.key``; references such as ``secretKeyRef`` or
  ``secretName`` are kept), including ConfigMap ``data`` keys; all ConfigMap ``binaryData``;
- annotations that can embed whole manifests (``kubectl.kubernetes.io/last-applied-
  configuration``) and any string that holds a manifest or a kubeconfig;
- inside any string: JWTs, ``Bearer``/``Basic`` credentials, the password of
  ``scheme://user:pass@host`` URLs, ``password=...``/``token: ...`` pairs, well-known token
  formats (``sk-...``, ``ghp_...``, ``AKIA...``), PEM private keys, long base64 or hex blobs
  (image digests ``sha256:...`` excepted), and every caller-supplied secret (hub token, API
  key) together with its base64 form.

Redaction errs on the side of hiding: a masked harmless value costs a little analysis
quality, a leaked one cannot be taken back.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from drifttui.core.models import (
    JSON,
    MASK,
    Category,
    Change,
    DriftItem,
    Environment,
    FieldDrift,
    FieldPath,
    ResourceStatus,
    Sel,
    finding_id,
    format_path,
    stable_hash,
)
from drifttui.core.sensitive import (  # the name rules live in core; kept importable here
    is_credential_env_name as is_credential_env_name,
)
from drifttui.core.sensitive import is_credential_key as is_credential_key
from drifttui.core.sensitive import name_tokens as name_tokens

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_SCANNED_CHARS = 20_000
"""Longer strings are masked whole, unread (bounded work on hostile values)."""
MAX_STRING_CHARS = 400
"""Longer strings are cut (after redaction) so one huge value cannot flood a request."""

_PRODUCTION_NAMES = frozenset({"prod", "production", "prd", "live"})

# --------------------------------------------------------------------------- strings

_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|CERTIFICATE REQUEST)[A-Z ]*-----")
_KUBECONFIG_MARKERS = (
    "client-key-data",
    "client-certificate-data",
    "certificate-authority-data",
    "auth-provider",
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|token)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://)([^/\s:@]{0,256}):([^/\s@]{1,256})@")
_PAIR = re.compile(
    r"(?i)\b([a-z0-9_.-]{0,40}(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|credentials?))(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s;&,'\"}]+)"
)
_KNOWN_TOKENS = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{8,}|ghp_[A-Za-z0-9]{16,}|gho_[A-Za-z0-9]{16,}"
    r"|github_pat_[A-Za-z0-9_]{16,}|glpat-[A-Za-z0-9_-]{10,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|npm_[A-Za-z0-9]{30,})"
)
_DIGEST = re.compile(r"sha(?:256|384|512):[0-9a-fA-F]{32,}")
_HEX_BLOB = re.compile(r"[0-9a-fA-F]{32,}")
_B64_BLOB = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_B64URL_BLOB = re.compile(r"[A-Za-z0-9_-]{32,}={0,2}")


def _looks_like_blob(word: str) -> bool:
    """A long base64 or hex token with no meaning a person would type (a key, a hash)."""
    if _HEX_BLOB.fullmatch(word):
        return True
    mixed = (
        any(c.isupper() for c in word)
        and any(c.islower() for c in word)
        and any(c.isdigit() for c in word)
    )
    if _B64_BLOB.fullmatch(word) and (mixed or word.endswith("=")) and len(word) % 4 == 0:
        return True
    return bool(_B64URL_BLOB.fullmatch(word) and mixed)


def _scrub_blobs(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        return MASK if _looks_like_blob(word) else word

    # split on characters that never occur in base64/hex, keep digests whole
    out: list[str] = []
    pos = 0
    for d in _DIGEST.finditer(text):
        out.append(re.sub(r"[A-Za-z0-9+/_=-]{16,}", one, text[pos : d.start()]))
        out.append(d.group(0))
        pos = d.end()
    out.append(re.sub(r"[A-Za-z0-9+/_=-]{16,}", one, text[pos:]))
    return "".join(out)


def _secret_variants(secret: str) -> set[str]:
    raw = secret.encode()
    variants = {secret}
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        full = enc(raw).decode()
        variants.add(full)
        variants.add(full.rstrip("="))
    return {v for v in variants if len(v) >= 6}


@dataclass(frozen=True, slots=True)
class Redactor:
    """Masks credentials in values. ``known_secrets`` (hub token, API key...) are removed
    wherever they appear, with their base64 forms."""

    known_secrets: tuple[str, ...] = ()

    @classmethod
    def with_secrets(cls, secrets: Iterable[str | None]) -> Redactor:
        variants: set[str] = set()
        for s in secrets:
            if s:
                variants |= _secret_variants(s)
        return cls(tuple(sorted(variants, key=len, reverse=True)))

    # -- strings

    def text(self, value: str) -> str:
        """``value`` with every credential-looking part masked."""
        if len(value) > MAX_SCANNED_CHARS:
            return MASK  # too long to show anyway; not worth scanning
        for secret in self.known_secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        if _PEM.search(value) or any(m in value for m in _KUBECONFIG_MARKERS):
            return MASK
        if "apiVersion" in value and "kind" in value and ("\n" in value or "{" in value):
            return MASK  # an embedded manifest may carry Secret data
        value = _JWT.sub(MASK, value)
        value = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", value)
        value = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)
        value = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)
        value = _KNOWN_TOKENS.sub(MASK, value)
        value = _scrub_blobs(value)
        if len(value) > MAX_STRING_CHARS:
            value = value[:MAX_STRING_CHARS] + f"…[+{len(value) - MAX_STRING_CHARS} chars]"
        return value

    # -- JSON values

    def mask_all(self, value: JSON) -> JSON:
        """Every scalar masked except booleans and nulls; map keys kept."""
        if isinstance(value, Mapping):
            return {str(k): self.mask_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_all(v) for v in value]
        if value is None or isinstance(value, bool):
            return value
        return MASK

    def value(self, value: JSON) -> JSON:
        """A JSON value with credentials masked, walked recursively."""
        if isinstance(value, Mapping):
            name = value.get("name")
            is_env = isinstance(name, str) and ("value" in value or "valueFrom" in value)
            out: dict[str, JSON] = {}
            for k, v in value.items():
                key = str(k)
                secret_env = key == "value" and is_env and is_credential_env_name(str(name))
                if secret_env or key == LAST_APPLIED or is_credential_key(key):
                    out[key] = self.mask_all(v)
                else:
                    out[key] = self.value(v)
            return out
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


# --------------------------------------------------------------------------- findings


def _is_secret_kind(item: DriftItem) -> bool:
    return item.key.kind == "Secret" and item.key.group == ""


def _must_mask_whole(item: DriftItem, f: FieldDrift) -> bool:
    """Does the finding's path alone say its values are secret?"""
    path = f.path
    if _is_secret_kind(item) or f.category is Category.SECRET:
        # a Secret's labels and type are not secret; everything else may be
        return not (path[:2] == ("metadata", "labels") or path == ("type",))
    if item.key.kind == "ConfigMap" and path[:1] == ("binaryData",):
        return True
    for i, elem in enumerate(path):
        if isinstance(elem, Sel):
            # env[name=DB_PASSWORD] (and its .value)
            name = dict(elem.keys).get("name")
            prev = path[i - 1] if i else None
            if prev == "env" and isinstance(name, str) and is_credential_env_name(name):
                return True
        elif elem == LAST_APPLIED or is_credential_key(elem):
            return True
    return False


def _mask_sel(elem: Sel, redactor: Redactor) -> str:
    parts = []
    for k, v in elem.keys:
        shown = redactor.text(v) if isinstance(v, str) else v
        parts.append(f"{k}={shown}")
    return "[" + ",".join(parts) + "]"


def _path_text(path: FieldPath, redactor: Redactor) -> str:
    """Dotted path with credential-looking selector values masked (a path never holds a
    value, but a person could name an env var after one)."""
    if not any(isinstance(e, Sel) for e in path):
        return format_path(path)
    out: list[str] = []
    for elem in path:
        if isinstance(elem, Sel):
            out.append(_mask_sel(elem, redactor))
        else:
            if out:
                out.append(".")
            out.append(elem)
    return "".join(out)


def is_production(environment: str, environments: Sequence[Environment] = ()) -> bool:
    """Is the named environment production? The configured flag wins; otherwise the name
    decides (``prod``, ``production``, ``prd``, ``...-prod``)."""
    for e in environments:
        if environment in (e.name, e.space):
            return e.production
    tokens = name_tokens(environment)
    return bool(tokens) and (tokens[-1] in _PRODUCTION_NAMES or tokens[0] in _PRODUCTION_NAMES)


@dataclass(frozen=True, slots=True)
class PreparedFinding:
    """A finding as analysts see it: ``payload`` is what is sent (see module doc);
    ``fingerprint`` keys the verdict cache (the finding's own, or a hash of the payload)."""

    id: str
    fingerprint: str
    payload: Mapping[str, JSON]
    item: DriftItem
    field: FieldDrift | None  # None for a missing object with no field findings


def _attribution(f: FieldDrift) -> dict[str, JSON] | None:
    a = f.attribution
    if a is None:
        return None
    out: dict[str, JSON] = {"manager": a.manager, "operation": a.operation, "human": a.is_human}
    if a.subresource:
        out["subresource"] = a.subresource
    if a.time:
        out["time"] = a.time
    return out


def _payload(
    item: DriftItem,
    f: FieldDrift | None,
    fid: str,
    redactor: Redactor,
    production: bool,
) -> dict[str, JSON]:
    key = item.key
    p: dict[str, JSON] = {
        "id": fid,
        "resource": str(key),
        "api_version": item.api_version,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "environment": item.environment,
        "production": production,
    }
    if f is None:
        p.update(
            path="",
            change=str(Change.MISSING),
            category="missing",
            severity="high",
            desired=None,
            live=None,
        )
    else:
        whole = _must_mask_whole(item, f)
        p.update(
            path=_path_text(f.path, redactor),
            change=str(f.change),
            category=str(f.category),
            severity=str(f.severity),
            desired=redactor.mask_all(f.desired) if whole else redactor.value(f.desired),
            live=redactor.mask_all(f.live) if whole else redactor.value(f.live),
        )
        if whole:
            p["redacted"] = True
        attribution = _attribution(f)
        if attribution:
            p["changed_by"] = attribution
        if f.note:
            p["note"] = redactor.text(f.note)
    if item.owner:
        p["owner"] = redactor.text(item.owner)
    if item.rolling_out:
        p["rolling_out"] = True
    if item.autoscaler is not None:
        a = item.autoscaler
        p["autoscaler"] = {
            "name": a.name,
            "min_replicas": a.min_replicas,
            "max_replicas": a.max_replicas,
        }
    if item.monthly_cost_usd is not None:
        p["resource_monthly_cost_impact_usd"] = round(item.monthly_cost_usd, 2)
    return p


def prepare_findings(
    items: Sequence[DriftItem],
    *,
    known_secrets: Iterable[str | None] = (),
    environments: Sequence[Environment] = (),
    redactor: Redactor | None = None,
) -> list[PreparedFinding]:
    """Redacted findings of ``items``: one per counted finding, plus one per missing object
    that has no field finding. Order follows ``items``; a repeated id is kept once."""
    redactor = redactor or Redactor.with_secrets(known_secrets)
    out: list[PreparedFinding] = []
    seen: set[str] = set()
    for item in items:
        if item.status in (ResourceStatus.ERROR, ResourceStatus.UNMANAGED):
            continue  # not drift: an unreadable object or one no unit declares
        production = is_production(item.environment, environments)
        pairs: list[tuple[FieldDrift | None, str]] = []
        for fd in item.counted:
            pairs.append((fd, fd.id or finding_id(item.environment, item.key, fd.path, fd.change)))
        if not pairs and item.status is ResourceStatus.MISSING:
            pairs.append((None, finding_id(item.environment, item.key, (), Change.MISSING)))
        for f, fid in pairs:
            if fid in seen:
                continue
            seen.add(fid)
            payload = _payload(item, f, fid, redactor, production)
            fingerprint = (f.fingerprint if f is not None else "") or "P-" + stable_hash(
                payload, length=24
            )
            out.append(PreparedFinding(fid, fingerprint, payload, item, f))
    return out


def findings_for_analysis(
    items: Sequence[DriftItem],
    *,
    known_secrets: Iterable[str | None] = (),
    environments: Sequence[Environment] = (),
) -> list[dict[str, JSON]]:
    """The redacted findings an analyst sees: a JSON-ready list, one mapping per finding
    with its ``id`` (see the module doc for the fields and what is masked)."""
    return [
        dict(p.payload)
        for p in prepare_findings(items, known_secrets=known_secrets, environments=environments)
    ]


def find_leaks(text: str, secrets: Collection[str]) -> list[str]:
    """Which of ``secrets`` (or their base64 forms) occur in ``text``: the last check before
    a request leaves. Returns descriptions safe to show (never the secret itself)."""
    leaks = []
    for i, s in enumerate(sorted(secrets)):
        if s and any(v in text for v in _secret_variants(s)):
            leaks.append(f"known secret #{i + 1} ({len(s)} chars)")
    return leaks


def dumps(payload: JSON) -> str:
    """Compact, key-sorted JSON (what goes into a request)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
