"""``ConfigHubClient``: the Hub protocol over ConfigHub's REST API (httpx).

Everything uncertain about the real service (confighub-api.md section 7) is decided here
and nowhere else:

1. *Generation.* The current (G2) API is the target: config data through
   ``/space/{s}/unit/{u}/data`` with ETag/If-Match = DataHash, ``{Unit, Error}`` write
   envelopes, ``limit``/``continue`` paging with the ``ConfigHub-Continue`` header. G1
   shapes are accepted where cheap: a bare Unit in a write answer, ``Data`` (base64) inline
   in a Unit. A create sends ``Data`` inline and, when the answer shows the data did not land
   (G2 creates metadata only), follows with ``PUT .../data``.
2. *Sets* do not exist in G2: a set is the label ``set-<slug>=<space>`` plus a saved Filter
   labelled ``drifttui-set`` (same as the embedded hub).
3. *Apply*: the revision applied to the cluster is the annotation
   ``drifttui.applied-revision``; live state is read from Kubernetes, never from ConfigHub.
4. *Upgrade merge* is the server's; the client reports ``Unit.Conflicts``.
5. *Revision numbering*: whatever the server does; rollback skips empty revisions.
6. *Token refresh*: none; 401/403 means "log in again".
7. *Rate limits*: 429 and 5xx are retried with full-jitter backoff, honouring Retry-After.
8. No CLI output is parsed; only the API.
9. *Status strings* are not used; UNAPPLIED-CHANGES comes from revision numbers.
10. Keywords are sent in upper case; in-space lists are sent ``limit`` too and followed
    while a continue token comes back.

Retries: every request this client makes is safe to repeat. Reads and PATCHes (upgrade,
labels) are idempotent; function invocations set values; a ``PUT .../data`` carries
If-Match, so a repeat after a lost answer gets 409 and is reconciled by comparing the
DataHash with what was sent; a create whose first answer was lost gets 409 on the repeat and
is reconciled by reading the unit back. A drift record (a unit with a deterministic slug)
is therefore never duplicated and never lost. The loop is our own (``_send``), small and
tested, because httpx's transport retries cover only connection failures and tenacity is
not a dependency.

The token lives in a :class:`~drifttui.config.SecretValue` and goes only into the
``Authorization`` header; it is never in a repr, a log line or an error.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from drifttui import __version__
from drifttui.config import SecretValue
from drifttui.errors import AuthError, ConflictError, HubError, NotFoundError, redact_url
from drifttui.hub import documents as docs
from drifttui.hub.local import APPLIED_ANNOTATION
from drifttui.hub.merge import changed_paths
from drifttui.hub.protocol import (
    AuditEntry,
    BulkResult,
    ChangeSet,
    Filter,
    Labels,
    Revision,
    SetInfo,
    SetsByLabel,
    Space,
    Unit,
    UnitResult,
    check_label_patch,
    set_info,
    set_members,
    set_paths_description,
)
from drifttui.hub.where import MAX_WHERE_LENGTH, parse_where, quote, where_and

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

CONTINUE_HEADER = "ConfigHub-Continue"
VERSION_HEADER = "ConfigHub-Version"
MAX_PAGE = 1000
DEFAULT_API_EXAMPLE = "https://hub.confighub.com/api"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_UA_USER = re.compile(r"\(user=([^)\s;]+)")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Answer:
    response: httpx.Response
    ambiguous: bool  # an earlier attempt may have been applied (its answer was lost)


def cub_login_token(home: Path | None = None, config_dir: Path | None = None) -> str | None:
    """The access token of the ``cub`` CLI's current login, if any.

    G2 ``cub`` keeps ``~/.confighub/config.yaml`` (contexts; ``CUB_CONFIG`` names the
    directory) and one ``tokens/<file>.json`` ``{"accessToken", ...}`` per context; G1 kept
    ``~/.confighub/session.json`` ``{"access_token", ...}``."""
    base = config_dir or (home or Path.home()) / ".confighub"
    cfg = base / "config.yaml"
    try:
        if cfg.is_file():
            import yaml

            data = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
            current = data.get("currentContext")
            for ctx in data.get("contexts") or []:
                if isinstance(ctx, dict) and ctx.get("name") == current:
                    token_file = str((ctx.get("metadata") or {}).get("tokenFile") or "")
                    if not token_file:
                        break
                    p = Path(token_file).expanduser()
                    if not p.is_absolute():
                        p = base / "tokens" / p.name
                    tok = json.loads(p.read_text(encoding="utf-8")).get("accessToken")
                    if isinstance(tok, str) and tok:
                        return tok
        session = base / "session.json"
        if session.is_file():
            tok = json.loads(session.read_text(encoding="utf-8")).get("access_token")
            if isinstance(tok, str) and tok:
                return tok
    except (OSError, ValueError, AttributeError):
        return None
    except Exception:  # a malformed YAML file: no login
        return None
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ConfigHubClient(SetsByLabel):
    """The Hub protocol against ConfigHub (or ``drifttui hub serve``).

    ``base_url`` includes ``/api``. ``sleep`` and ``rng`` are injectable for tests (the
    backoff waits through them); ``transport`` lets tests put httpx on a fault injector.
    """

    def __init__(
        self,
        base_url: str,
        token: SecretValue | str,
        *,
        author: str | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        max_attempts: int = 5,
        backoff_base_s: float = 0.25,
        backoff_cap_s: float = 8.0,
        retry_after_cap_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        base_url = base_url.rstrip("/")
        if base_url.endswith("/v1"):
            base_url = base_url[: -len("/v1")]
        self.base_url = base_url
        self.shown_url = redact_url(base_url)  # what errors and names show
        self._token = token if isinstance(token, SecretValue) else SecretValue(token)
        if not self._token:
            raise AuthError(
                "no ConfigHub token", "CUB_TOKEN", "set CUB_TOKEN or run cub auth login"
            )
        from drifttui.hub.local import _default_author

        self.author = author or _default_author()
        self.max_attempts = max(1, max_attempts)
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._retry_after_cap_s = retry_after_cap_s
        self._sleep = sleep
        self._rng = rng
        self.server_version: str | None = None
        self.request_count = 0
        self._space_ids: dict[str, str] = {}
        self._space_slugs: dict[str, str] = {}
        self._unit_ids: dict[tuple[str, str], str] = {}
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
            headers={"User-Agent": f"drifttui/{__version__} (user={self.author})"},
            follow_redirects=False,
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def name(self) -> str:
        return f"ConfigHub {self.shown_url}"

    def __repr__(self) -> str:
        return f"ConfigHubClient(base_url={self.shown_url!r}, token='***')"

    def close(self) -> None:
        self._client.close()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._retry_after_cap_s)
        return float(
            self._rng() * min(self._backoff_cap_s, self._backoff_base_s * 2.0 ** (attempt - 1))
        )

    @staticmethod
    def _retry_after(resp: httpx.Response) -> float | None:
        raw = resp.headers.get("Retry-After")
        if not raw:
            return None
        raw = raw.strip()
        if raw.isdigit():
            return float(raw)
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - _utc_now()).total_seconds())

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = ...,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        context: str = "",
    ) -> _Answer:
        """One API call with retries; raises a HubError for every failure."""
        import httpx

        hdrs = {"Authorization": f"Bearer {self._token.reveal()}"}
        if headers:
            hdrs.update(headers)
        kwargs: dict[str, Any] = {"params": {k: v for k, v in (params or {}).items() if v}}
        if json_body is not ...:
            body = json.dumps(json_body).encode()
            hdrs.setdefault(
                "Content-Type",
                "application/merge-patch+json" if method == "PATCH" else "application/json",
            )
            kwargs["content"] = body
        elif content is not None:
            kwargs["content"] = content
            hdrs.setdefault("Content-Type", "application/octet-stream")
        ambiguous = False
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            self.request_count += 1
            try:
                resp = self._client.request(method, path, headers=hdrs, **kwargs)
            except httpx.ConnectError as exc:
                last_problem = f"cannot connect ({_short(exc)})"
                retry_after = None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                # the request may have reached the server: a repeat must be reconciled
                if not isinstance(exc, httpx.ConnectTimeout):
                    ambiguous = True
                last_problem = f"no answer ({type(exc).__name__})"
                retry_after = None
            else:
                self.server_version = resp.headers.get(VERSION_HEADER, self.server_version)
                if resp.status_code not in RETRY_STATUSES:
                    return _Answer(resp, ambiguous)
                if resp.status_code >= 500:
                    ambiguous = True
                last_problem = f"answered {resp.status_code}"
                retry_after = self._retry_after(resp)
                if attempt == self.max_attempts:
                    return _Answer(resp, ambiguous)
            if attempt < self.max_attempts:
                wait = self._backoff(attempt, retry_after)
                log.debug("%s %s: %s; retry %d in %.2fs", method, path, last_problem, attempt, wait)
                self._sleep(wait)
        raise HubError(
            f"ConfigHub {last_problem} after {self.max_attempts} attempts"
            + (f" ({context})" if context else ""),
            self.shown_url,
            "check CUB_API_URL and the network, then try again",
            status=503,
        )

    def _check(self, answer: _Answer, context: str, *, not_found: str | None = None) -> Any:
        resp = answer.response
        if resp.status_code in (200, 201, 207):
            ctype = resp.headers.get("content-type", "")
            if "json" in ctype:
                try:
                    return resp.json()
                except ValueError:
                    raise HubError(
                        f"ConfigHub sent invalid JSON ({context})", self.shown_url, status=502
                    ) from None
            return resp.text
        raise self._error(resp, context, not_found)

    def _error(self, resp: httpx.Response, context: str, not_found: str | None) -> HubError:
        status = resp.status_code
        message = ""
        api_body = False  # ConfigHub answers errors in JSON; a web page is something else
        try:
            body = resp.json()
            if isinstance(body, dict):
                api_body = True
                message = str(body.get("Message") or body.get("message") or "")
        except ValueError:
            text = resp.text.lstrip()
            message = "" if text.startswith("<") else text[:200]  # no HTML in a one-liner
        message = " ".join(message.split())
        if 300 <= status < 400 or (
            status == 404 and (not api_body or message.startswith("no such endpoint"))
        ):
            # the path does not exist (or moved): CUB_API_URL names something other than
            # ConfigHub's API, typically without its /api
            moved = resp.headers.get("location")
            return HubError(
                f"no ConfigHub API at this address ({status}"
                + (f", redirected to {moved}" if moved else "")
                + (f", for {context}" if context else "")
                + ")",
                self.base_url,
                "check CUB_API_URL: it is the API's base, ending in /api "
                f"(e.g. {DEFAULT_API_EXAMPLE})",
                status=status,
            )
        if status in (401, 403):
            what = "token rejected" + (f" for {context}" if context else "")
            return AuthError(
                f"{what} ({status})",
                self.shown_url,
                "check CUB_TOKEN, or run `cub auth login` again",
                status=status,
            )
        if status == 404:
            return NotFoundError(not_found or message or f"not found: {context}")
        if status == 409:
            return ConflictError(
                f"{context}: changed since read" + (f" ({message})" if message else ""),
                None,
                "read it again and reapply the change",
            )
        if status in (400, 422):
            return HubError(message or f"bad request ({context})", context or None, status=status)
        return HubError(
            f"ConfigHub answered {status}" + (f": {message}" if message else ""),
            context or self.shown_url,
            "try again later",
            status=status,
        )

    def _call(
        self,
        method: str,
        path: str,
        context: str,
        *,
        not_found: str | None = None,
        **kw: Any,
    ) -> Any:
        return self._check(
            self._send(method, path, context=context, **kw), context, not_found=not_found
        )

    def _pages(self, path: str, params: Mapping[str, str], context: str) -> list[Any]:
        """GET every page of a list (limit/continue until no continue token)."""
        out: list[Any] = []
        token = ""
        seen: set[str] = set()
        while True:
            p = dict(params)
            p["limit"] = str(MAX_PAGE)
            if token:
                p["continue"] = token
            answer = self._send("GET", path, params=p, context=context)
            page = self._check(answer, context)
            if not isinstance(page, list):
                raise HubError(f"ConfigHub sent an unexpected answer ({context})", status=502)
            out.extend(page)
            token = answer.response.headers.get(CONTINUE_HEADER, "")
            if not token or token in seen:
                return out
            seen.add(token)

    @staticmethod
    def _validate(where: str | None, entity: str = "Unit") -> str:
        if not where:
            return ""
        parse_where(where, entity)
        return where

    @staticmethod
    def _settle_conflict(
        answer: _Answer,
        conflict: ConflictError,
        reread: Callable[[], T | None],
        applied: Callable[[T], bool],
    ) -> T | None:
        """None unless ``answer`` is a 409. A 409 to a repeat whose first answer was lost may
        be that first attempt's doing: what ``reread()`` finds then is returned when
        ``applied`` holds for it; every other 409 raises ``conflict``."""
        if answer.response.status_code != 409:
            return None
        if answer.ambiguous:
            found = reread()
            if found is not None and applied(found):
                return found
        raise conflict

    def _write_unit(
        self,
        space: str,
        unit: str,
        method: str,
        suffix: str,
        applied: Callable[[Unit], bool],
        conflict: str,
        **kw: Any,
    ) -> Any:
        """One write to ``space/unit`` (``suffix``: below its path): the checked answer, or
        the unit read back when a 409 shows our lost first attempt applied it (``applied``);
        any other 409 is a ConflictError saying ``conflict``."""

        def write(path: str) -> Any:
            answer = self._send(method, path + suffix, context=f"unit {space}/{unit}", **kw)
            done = self._settle_conflict(
                answer,
                ConflictError(conflict, None, "read it again and reapply the change"),
                lambda: self.get_unit(space, unit),
                applied,
            )
            if done is not None:
                return done
            return self._check(
                answer, f"unit {space}/{unit}", not_found=f"no unit {unit!r} in space {space!r}"
            )

        return self._on_unit(space, unit, write)

    # ------------------------------------------------------------------ mapping

    @staticmethod
    def _unwrap(item: Any, key: str) -> dict[str, Any]:
        if isinstance(item, dict) and isinstance(item.get(key), dict):
            return dict(item[key])
        if isinstance(item, dict):
            return item
        raise HubError(f"ConfigHub sent an unexpected {key}", status=502)

    def _to_space(self, item: Any) -> Space:
        sp = self._unwrap(item, "Space")
        space = Space(
            slug=sp["Slug"],
            id=sp["SpaceID"],
            labels=dict(sp.get("Labels") or {}),
            display_name=sp.get("DisplayName") or "",
            unit_count=int(item.get("TotalUnitCount") or 0) if isinstance(item, dict) else 0,
            created_at=sp.get("CreatedAt") or "",
        )
        self._space_ids[space.slug] = space.id
        self._space_slugs[space.id] = space.slug
        return space

    def _space_slug(self, space_id: str | None) -> str:
        if not space_id:
            return ""
        if space_id in self._space_slugs:
            return self._space_slugs[space_id]
        for sp in self.list_spaces():
            if sp.id == space_id:
                return sp.slug
        return space_id

    def _to_unit(self, item: Any, data: str = "") -> Unit:
        u = self._unwrap(item, "Unit")
        ext = item if isinstance(item, dict) and "Unit" in item else {}
        if isinstance(ext.get("Space"), dict):
            self._to_space({"Space": ext["Space"]})
        space_slug = u.get("SpaceSlug") or self._space_slug(u.get("SpaceID"))
        upstream = ext.get("UpstreamUnit") if isinstance(ext.get("UpstreamUnit"), dict) else None
        if not data and isinstance(u.get("Data"), str) and u["Data"]:
            data = base64.b64decode(u["Data"]).decode("utf-8")  # G1 inline data
        ann = u.get("Annotations") or {}
        try:
            applied = int(ann.get(APPLIED_ANNOTATION) or u.get("LastReleasedRevisionNum") or 0)
        except (TypeError, ValueError):
            applied = 0
        conflicts = tuple(
            str(c.get("Path") or c.get("path") or c) if isinstance(c, dict) else str(c)
            for c in (u.get("Conflicts") or [])
        )
        unit = Unit(
            slug=u["Slug"],
            id=u["UnitID"],
            space=space_slug,
            space_id=u.get("SpaceID") or "",
            head_revision=int(u.get("HeadRevisionNum") or 0),
            data=data,
            data_hash=u.get("DataHash") or (docs.data_hash(data) if data else ""),
            labels=dict(u.get("Labels") or {}),
            version=int(u.get("Version") or 0),
            upstream_unit_id=u.get("UpstreamUnitID") or None,
            upstream_space_id=u.get("UpstreamSpaceID") or None,
            upstream_revision=int(u.get("UpstreamRevisionNum") or 0),
            upstream_head_revision=int(upstream["HeadRevisionNum"]) if upstream else None,
            applied_revision=applied,
            last_change_description=u.get("LastChangeDescription") or "",
            toolchain_type=u.get("ToolchainType") or "Kubernetes/YAML",
            created_at=u.get("CreatedAt") or "",
            updated_at=u.get("UpdatedAt") or "",
            conflicts=conflicts,
        )
        if unit.space:
            self._unit_ids[(unit.space, unit.slug)] = unit.id
        return unit

    # ------------------------------------------------------------------ ID resolution

    def _space_id(self, space: str) -> str:
        if space in self._space_ids:
            return self._space_ids[space]
        docs.check_slug(space, "space slug")
        items = self._call(
            "GET", "space", f"space {space}", params={"where": f"Slug = {quote(space)}"}
        )
        for item in items or []:
            sp = self._to_space(item)
            if sp.slug == space:
                return sp.id
        raise NotFoundError(f"no space {space!r}", None, "list spaces with: drifttui hub spaces")

    def _unit_id(self, space: str, unit: str) -> tuple[str, str]:
        sid = self._space_id(space)
        key = (space, unit)
        if key in self._unit_ids:
            return sid, self._unit_ids[key]
        docs.check_slug(unit, "unit slug")
        items = self._call(
            "GET",
            f"space/{sid}/unit",
            f"unit {unit} in space {space}",
            params={"where": f"Slug = {quote(unit)}"},
            not_found=f"no space {space!r}",
        )
        for item in items or []:
            u = self._unwrap(item, "Unit")
            if u.get("Slug") == unit:
                self._unit_ids[key] = u["UnitID"]
                return sid, u["UnitID"]
        raise NotFoundError(
            f"no unit {unit!r} in space {space!r}",
            None,
            f"list units with: drifttui hub units --space {space}",
        )

    def _forget(self, space: str, unit: str | None = None) -> None:
        if unit is None:
            self._space_ids.pop(space, None)
        else:
            self._unit_ids.pop((space, unit), None)

    def _unit_path(self, space: str, unit: str, suffix: str = "") -> str:
        sid, uid = self._unit_id(space, unit)
        return f"space/{sid}/unit/{uid}{suffix}"

    def _on_unit(self, space: str, unit: str, fn: Callable[[str], Any]) -> Any:
        """Run ``fn(path)``; on a 404 from a cached ID, resolve again once."""
        cached = (space, unit) in self._unit_ids
        try:
            return fn(self._unit_path(space, unit))
        except NotFoundError:
            if not cached:
                raise
            self._forget(space, unit)
            self._forget(space)
            return fn(self._unit_path(space, unit))

    # ------------------------------------------------------------------ spaces

    def list_spaces(self, where: str | None = None) -> list[Space]:
        params = {"where": self._validate(where, "Space")}
        spaces = [self._to_space(i) for i in self._pages("space", params, "list spaces")]
        return sorted(spaces, key=lambda s: s.slug)

    def get_space(self, space: str) -> Space:
        sid = self._space_id(space)
        return self._to_space(
            self._call("GET", f"space/{sid}", f"space {space}", not_found=f"no space {space!r}")
        )

    def create_space(
        self, slug: str, labels: Labels | None = None, display_name: str = ""
    ) -> Space:
        docs.check_slug(slug, "space slug")
        lab = docs.check_labels(labels)
        answer = self._send(
            "POST",
            "space",
            json_body={"Slug": slug, "Labels": lab, "DisplayName": display_name},
            context=f"space {slug}",
        )

        def reread() -> Space:
            self._forget(slug)
            return self.get_space(slug)

        conflict = ConflictError(f"space {slug!r} already exists")
        sp = self._settle_conflict(answer, conflict, reread, lambda sp: dict(sp.labels) == lab)
        return sp or self._to_space(self._check(answer, f"space {slug}"))

    def update_space_labels(self, space: str, labels: Mapping[str, str | None]) -> Space:
        sid = self._space_id(space)
        self._call("PATCH", f"space/{sid}", f"space {space}", json_body={"Labels": dict(labels)})
        return self.get_space(space)

    # ------------------------------------------------------------------ units: reading

    _INCLUDE = "UpstreamUnitID,SpaceID"

    def list_units(
        self, space: str | None, where: str | None = None, *, with_data: bool = False
    ) -> list[Unit]:
        w = self._validate(where)
        if space:
            sid = self._space_id(space)
            path = f"space/{sid}/unit"
        else:
            sid, path = "", "unit"
        items = self._pages(path, {"where": w, "include": self._INCLUDE}, "list units")
        data: dict[str, str] = {}
        if with_data and items:
            data = self._bulk_data(where_and(f"SpaceID = {quote(sid)}" if sid else None, w))
        units = [self._to_unit(i, data.get(self._unwrap(i, "Unit")["UnitID"], "")) for i in items]
        return sorted(units, key=lambda u: (u.space, u.slug))

    def _bulk_data(self, where: str) -> dict[str, str]:
        """Documents of many units in one request (G2 ``/unit_data``)."""
        rows = self._pages("unit_data", {"where": where}, "unit data")
        return {r["UnitID"]: r.get("Data") or "" for r in rows if isinstance(r, dict)}

    def get_unit(self, space: str, unit: str) -> Unit:
        def read(path: str) -> Unit:
            item = self._call(
                "GET",
                path,
                f"unit {space}/{unit}",
                params={"include": self._INCLUDE},
                not_found=f"no unit {unit!r} in space {space!r}",
            )
            u = self._unwrap(item, "Unit")
            data = ""
            if not u.get("Data"):
                data = self._call("GET", path + "/data", f"data of {space}/{unit}")
            return self._to_unit(item, data)

        unit_obj: Unit = self._on_unit(space, unit, read)
        return unit_obj

    def _revision_items(self, space: str, unit: str, where: str = "") -> list[dict[str, Any]]:
        items = self._on_unit(
            space,
            unit,
            lambda path: self._call(
                "GET", path + "/revision", f"revisions of {space}/{unit}", params={"where": where}
            ),
        )
        return [self._unwrap(i, "Revision") for i in items or []]

    def get_unit_data(self, space: str, unit: str, revision: int | None = None) -> str:
        if revision is None:
            text: str = self._on_unit(
                space,
                unit,
                lambda path: self._call(
                    "GET",
                    path + "/data",
                    f"data of {space}/{unit}",
                    not_found=f"no unit {unit!r} in space {space!r}",
                ),
            )
            return text
        revs = self._revision_items(space, unit, f"RevisionNum = {int(revision)}")
        revs = [r for r in revs if int(r.get("RevisionNum") or 0) == revision]
        if not revs:
            raise NotFoundError(f"unit {space}/{unit} has no revision {revision}")
        rid = revs[0]["RevisionID"]
        out: str = self._call(
            "GET",
            self._unit_path(space, unit, f"/revision/{rid}/data"),
            f"{space}/{unit}@{revision}",
        )
        return out

    def list_revisions(self, space: str, unit: str) -> list[Revision]:
        revs = self._revision_items(space, unit)
        restored: dict[int, int] = {}
        try:
            muts = self._call("GET", self._unit_path(space, unit, "/mutation"), "mutations")
            for m in muts or []:
                mm = self._unwrap(m, "Mutation")
                if int(mm.get("RestoredRevisionNum") or 0):
                    restored[int(mm.get("RevisionNum") or 0)] = int(mm["RestoredRevisionNum"])
        except NotFoundError:
            pass
        out = [
            Revision(
                num=int(r.get("RevisionNum") or 0),
                id=r.get("RevisionID") or "",
                description=r.get("Description") or "",
                source=r.get("Source") or "",
                author=_author(r),
                created_at=r.get("CreatedAt") or "",
                data_hash=r.get("DataHash") or "",
                restored_from=restored.get(int(r.get("RevisionNum") or 0)),
                changeset_id=r.get("ChangeSetID") or None,
            )
            for r in revs
        ]
        return sorted(out, key=lambda r: r.num)

    def list_downstream(self, space: str, unit: str) -> list[Unit]:
        _, uid = self._unit_id(space, unit)
        return self.list_units(None, f"UpstreamUnitID = {quote(uid)}")

    # ------------------------------------------------------------------ units: writing

    def _data_written(self, item: Any, data: str) -> bool:
        u = self._unwrap(item, "Unit")
        return bool(u.get("DataHash") == docs.data_hash(data) or u.get("Data"))

    def create_unit(
        self,
        space: str,
        slug: str,
        data: str,
        *,
        labels: Labels | None = None,
        description: str = "",
    ) -> Unit:
        docs.check_slug(slug, "unit slug")
        lab = docs.check_labels(labels)
        docs.parse_manifest(data, f"{space}/{slug}")
        sid = self._space_id(space)
        body = {
            "Slug": slug,
            "Labels": lab,
            "ToolchainType": "Kubernetes/YAML",
            "LastChangeDescription": description,
            "Data": base64.b64encode(data.encode()).decode(),
        }
        answer = self._send(
            "POST", f"space/{sid}/unit", json_body=body, context=f"unit {space}/{slug}"
        )
        existing = self._settle_conflict(
            answer,
            ConflictError(f"unit {slug!r} already exists in space {space!r}"),
            lambda: self.get_unit(space, slug),
            lambda u: u.data_hash == docs.data_hash(data),
        )
        if existing is not None:
            return existing
        item = self._check(answer, f"unit {space}/{slug}", not_found=f"no space {space!r}")
        _refuse_error(item, f"{space}/{slug}")
        unit = self._to_unit(item, data)
        if not self._data_written(item, data):  # G2: metadata first, then the data
            return self.update_unit_data(space, slug, data, description)
        return unit

    def update_unit_data(
        self,
        space: str,
        unit: str,
        data: str,
        description: str,
        *,
        if_match: str | None = None,
        changeset_id: str | None = None,
    ) -> Unit:
        docs.parse_manifest(data, f"{space}/{unit}")
        params = {"last_change_description": description, "change_set_id": changeset_id or ""}
        headers = {"If-Match": f'"{if_match}"'} if if_match else None
        item = self._write_unit(
            space,
            unit,
            "PUT",
            "/data",
            lambda now: now.data_hash == docs.data_hash(data),
            f"unit {space}/{unit} changed since read",
            params=params,
            content=data.encode("utf-8"),
            headers=headers,
        )
        if isinstance(item, Unit):
            return item
        _refuse_error(item, f"{space}/{unit}")
        return self._to_unit(item, data)

    def _patch_unit(
        self,
        space: str,
        unit: str,
        body: Any,
        params: Mapping[str, str] | None = None,
        context: str = "",
    ) -> Unit:
        item = self._on_unit(
            space,
            unit,
            lambda path: self._call(
                "PATCH",
                path,
                context or f"unit {space}/{unit}",
                params=params,
                json_body=body,
                not_found=f"no unit {unit!r} in space {space!r}",
            ),
        )
        _refuse_error(item, f"{space}/{unit}")
        return self._to_unit(item)

    def update_unit_labels(
        self,
        space: str,
        unit: str,
        labels: Mapping[str, str | None],
        *,
        version: int | None = None,
    ) -> Unit:
        check_label_patch(labels)
        body: dict[str, Any] = {"Labels": dict(labels)}
        if version is None:
            return self._patch_unit(space, unit, body)
        body["Version"] = version
        item = self._write_unit(
            space,
            unit,
            "PATCH",
            "",
            lambda now: all(now.labels.get(k) == v for k, v in labels.items()),
            f"unit {space}/{unit} changed since read (version {version})",
            json_body=body,
        )
        if isinstance(item, Unit):
            return item
        return self._to_unit(item)

    def delete_unit(self, space: str, unit: str) -> None:
        def delete(path: str) -> Any:
            answer = self._send("DELETE", path, context=f"unit {space}/{unit}")
            if answer.response.status_code == 404 and answer.ambiguous:
                return None  # the lost first attempt deleted it
            return self._check(
                answer, f"delete {space}/{unit}", not_found=f"no unit {unit!r} in space {space!r}"
            )

        self._on_unit(space, unit, delete)
        self._forget(space, unit)

    def restore_revision(self, space: str, unit: str, revision: int, description: str = "") -> Unit:
        body = {"LastChangeDescription": description or f"Restore revision {revision}"}
        return self._patch_unit(
            space,
            unit,
            body,
            {"restore": str(int(revision))},
            f"restore {space}/{unit} to revision {revision}",
        )

    def mark_applied(self, space: str, unit: str, revision: int) -> Unit:
        return self._patch_unit(space, unit, {"Annotations": {APPLIED_ANNOTATION: str(revision)}})

    def clone_unit(
        self, upstream_space: str, unit: str, space: str, slug: str | None = None
    ) -> Unit:
        slug = slug or unit
        docs.check_slug(slug, "unit slug")
        up = self.get_unit(upstream_space, unit)
        sid = self._space_id(space)
        answer = self._send(
            "POST",
            f"space/{sid}/unit",
            params={"upstream_space_id": up.space_id, "upstream_unit_id": up.id},
            json_body={"Slug": slug, "Labels": dict(up.labels), "ToolchainType": up.toolchain_type},
            context=f"clone {upstream_space}/{unit} into {space}",
        )
        existing = self._settle_conflict(
            answer,
            ConflictError(f"unit {slug!r} already exists in space {space!r}"),
            lambda: self.get_unit(space, slug),
            lambda u: u.upstream_unit_id == up.id,
        )
        if existing is not None:
            return existing
        item = self._check(answer, f"clone into {space}", not_found=f"no space {space!r}")
        _refuse_error(item, f"{space}/{slug}")
        return self.get_unit(space, slug)

    def upgrade_unit(self, space: str, unit: str, description: str = "") -> UnitResult:
        before = self.get_unit(space, unit)
        if not before.upstream_unit_id:
            raise HubError("not a clone: it has no upstream unit", f"{space}/{unit}", status=400)
        if not before.upgrade_needed:
            return UnitResult(space, unit, True, None, None)
        body = {"LastChangeDescription": description} if description else None
        self._patch_unit(space, unit, body, {"upgrade": "true"}, f"upgrade {space}/{unit}")
        after = self.get_unit(space, unit)
        changed = tuple(changed_paths(docs.load_yaml(before.data), docs.load_yaml(after.data)))
        revision = after.head_revision if after.head_revision > before.head_revision else None
        return UnitResult(space, unit, True, None, revision, changed, after.conflicts)

    def _scoped(self, where: str, space: str | None) -> str:
        self._validate(where)
        if space:
            return where_and(f"SpaceID = {quote(self._space_id(space))}", where)
        return where

    def _prelist(self, where: str) -> dict[str, Unit]:
        return {u.id: u for u in self.list_units(None, where)}

    def bulk_patch(
        self,
        where: str,
        *,
        space: str | None = None,
        labels: Mapping[str, str | None] | None = None,
        upgrade: bool = False,
        description: str = "",
        changeset_id: str | None = None,
    ) -> BulkResult:
        if not where:
            raise HubError("a bulk patch needs a where-clause", status=400)
        check_label_patch(labels)
        w = self._scoped(where, space)
        before = self._prelist(w)
        if not before:
            return BulkResult((), changeset_id)
        body: dict[str, Any] = {}
        if labels:
            body["Labels"] = dict(labels)
        if description:
            body["LastChangeDescription"] = description
        params = {
            "where": w,
            "upgrade": "true" if upgrade else "",
            "change_set_id": changeset_id or "",
            "include": "UpstreamUnitID",
        }
        items = self._bulk("PATCH", "unit", params, body or None, "bulk patch")
        results = []
        for item in items:
            results.append(self._bulk_result(item, before, upgrade))
        return BulkResult(tuple(results), changeset_id)

    def _bulk(
        self, method: str, path: str, params: Mapping[str, str], body: Any, context: str
    ) -> list[Any]:
        out: list[Any] = []
        token = ""
        while True:
            p = dict(params)
            if token:
                p["continue"] = token
            answer = self._send(method, path, params=p, json_body=body, context=context)
            page = self._check(answer, context)
            if not isinstance(page, list):
                raise HubError(f"ConfigHub sent an unexpected answer ({context})", status=502)
            out.extend(page)
            token = answer.response.headers.get(CONTINUE_HEADER, "")
            if not token:
                return out

    def _bulk_result(self, item: Any, before: Mapping[str, Unit], upgrade: bool) -> UnitResult:
        unit_json = item.get("Unit") if isinstance(item, dict) else None
        err = item.get("Error") if isinstance(item, dict) else None
        if isinstance(unit_json, dict):
            after = self._to_unit({"Unit": unit_json})
            prev = before.get(after.id)
            revision = (
                after.head_revision
                if prev is not None and after.head_revision > prev.head_revision
                else None
            )
            space, slug = after.space, after.slug
            conflicts = after.conflicts if upgrade else ()
        else:
            eid = ((err or {}).get("ErrorMetadata") or {}).get("EntityID") if err else None
            prev = before.get(eid or "")
            space, slug = (prev.space, prev.slug) if prev else ("", str(eid or "?"))
            revision, conflicts = None, ()
        if err:
            return UnitResult(space, slug, False, _message(err))
        return UnitResult(space, slug, True, None, revision, (), conflicts)

    def bulk_set_paths(
        self,
        where: str,
        values: Mapping[str, Any],
        *,
        space: str | None = None,
        description: str = "",
        changeset_id: str | None = None,
    ) -> BulkResult:
        if not where:
            raise HubError("setting paths in bulk needs a where-clause", status=400)
        paths = docs.check_path_values(values)
        w = self._scoped(where, space)
        before = self._prelist(w)
        if not before:
            return BulkResult((), changeset_id)
        texts = list(paths)
        invocations = []
        for text in texts:
            path, value = paths[text]
            fn = (
                "set-bool-path"
                if isinstance(value, bool)
                else "set-int-path"
                if isinstance(value, int)
                else "set-string-path"
            )
            invocations.append(
                {
                    "FunctionName": fn,
                    "Arguments": [
                        {"ParameterName": "resource-type", "Value": "*"},
                        {"ParameterName": "path", "Value": docs.confighub_path(path)},
                        {"ParameterName": "attribute-value", "Value": value},
                    ],
                }
            )
        body = {
            "FunctionInvocations": invocations,
            "ChangeDescription": description or set_paths_description(values),
        }
        items = self._check(
            self._send(
                "POST",
                "function/invoke",
                params={"where": w, "change_set_id": changeset_id or ""},
                json_body=body,
                context="set paths",
            ),
            "set paths",
        )
        results = []
        for item in items or []:
            uid = item.get("UnitID", "")
            prev = before.get(uid)
            space_slug = prev.space if prev else self._space_slug(item.get("SpaceID"))
            slug = prev.slug if prev else uid
            err = item.get("Error")
            if err or item.get("Success") is False:
                results.append(UnitResult(space_slug, slug, False, _message(err or {})))
                continue
            mutated = tuple(texts[i] for i in item.get("Mutators") or [] if i < len(texts))
            new_rev = (
                prev.head_revision + 1
                if prev is not None and mutated and item.get("RevisionID")
                else None
            )
            results.append(UnitResult(space_slug, slug, True, None, new_rev, mutated))
        return BulkResult(tuple(results), changeset_id)

    # ------------------------------------------------------------------ filters and sets

    def _to_filter(self, item: Any, space: str) -> Filter:
        f = self._unwrap(item, "Filter")
        return Filter(
            slug=f["Slug"],
            id=f["FilterID"],
            space=space,
            where=f.get("Where") or "",
            from_=f.get("From") or "Unit",
            labels=dict(f.get("Labels") or {}),
        )

    def _filter_items(self, space: str) -> list[dict[str, Any]]:
        sid = self._space_id(space)
        items = self._call("GET", f"space/{sid}/filter", f"filters of {space}")
        return [self._unwrap(i, "Filter") for i in items or []]

    def list_filters(self, space: str) -> list[Filter]:
        return sorted(
            (self._to_filter(f, space) for f in self._filter_items(space)), key=lambda f: f.slug
        )

    def get_filter(self, space: str, slug: str) -> Filter:
        docs.check_slug(slug, "filter slug")
        sid = self._space_id(space)
        items = self._call(
            "GET",
            f"space/{sid}/filter",
            f"filter {space}/{slug}",
            params={"where": f"Slug = {quote(slug)}"},
        )
        for item in items or []:
            f = self._to_filter(item, space)
            if f.slug == slug:
                return f
        raise NotFoundError(
            f"no filter {slug!r} in space {space!r}",
            None,
            f"list them with: drifttui hub filters --space {space}",
        )

    def evaluate_filter(self, space: str, slug: str, where: str | None = None) -> list[Unit]:
        f = self._unit_filter(space, slug)
        w = self._validate(where)
        items = self._pages(
            "unit", {"filter": f.id, "where": w, "include": self._INCLUDE}, f"filter {slug}"
        )
        return sorted((self._to_unit(i) for i in items), key=lambda u: (u.space, u.slug))

    def create_filter(
        self,
        space: str,
        slug: str,
        where: str,
        from_: str = "Unit",
        *,
        labels: Labels | None = None,
        display_name: str = "",
    ) -> Filter:
        docs.check_slug(slug, "filter slug")
        self._validate(where, from_)
        lab = docs.check_labels(labels)
        sid = self._space_id(space)
        answer = self._send(
            "POST",
            f"space/{sid}/filter",
            json_body={
                "Slug": slug,
                "From": from_,
                "Where": where,
                "Labels": lab,
                "DisplayName": display_name,
            },
            context=f"filter {space}/{slug}",
        )
        existing = self._settle_conflict(
            answer,
            ConflictError(f"filter {slug!r} already exists in space {space!r}"),
            lambda: self.get_filter(space, slug),
            lambda f: f.where == where,
        )
        return existing or self._to_filter(self._check(answer, f"filter {space}/{slug}"), space)

    def list_sets(self, space: str) -> list[SetInfo]:
        return [
            set_info(mark, space, f.get("DisplayName") or "", set_members(self, mark, space))
            for f in sorted(self._filter_items(space), key=lambda f: f.get("Slug", ""))
            if (mark := (f.get("Labels") or {}).get(docs.SET_MARK_LABEL))
        ]

    def _set_members_patch(
        self, space: str, set_slug: str, units: Sequence[tuple[str, str]], add: bool
    ) -> None:
        self.get_filter(space, docs.set_filter_slug(set_slug))
        key, value = docs.set_label(set_slug, space)
        by_space: dict[str, list[str]] = {}
        for s, u in units:
            self._unit_id(s, u)  # a clear 404 for an unknown unit
            by_space.setdefault(s, []).append(u)
        for s, slugs in by_space.items():
            for chunk in _in_chunks(f"SpaceID = {quote(self._space_id(s))} AND Slug", slugs):
                self._bulk(
                    "PATCH",
                    "unit",
                    {"where": chunk},
                    {"Labels": {key: value if add else None}},
                    f"set {space}/{set_slug}",
                )

    # ------------------------------------------------------------------ changesets and audit

    def create_changeset(self, space: str, slug: str, description: str) -> ChangeSet:
        docs.check_slug(slug, "changeset slug")
        sid = self._space_id(space)
        answer = self._send(
            "POST",
            f"space/{sid}/change_set",
            json_body={"Slug": slug, "Description": description},
            context=f"changeset {space}/{slug}",
        )
        existing = self._settle_conflict(
            answer,
            ConflictError(f"changeset {slug!r} already exists in space {space!r}"),
            lambda: next((cs for cs in self.list_changesets(space) if cs.slug == slug), None),
            lambda cs: cs.description == description,
        )
        if existing is not None:
            return existing
        c = self._unwrap(self._check(answer, f"changeset {space}/{slug}"), "ChangeSet")
        return ChangeSet(slug, c["ChangeSetID"], space, description, c.get("CreatedAt") or "", ())

    def list_changesets(self, space: str | None = None) -> list[ChangeSet]:
        path = f"space/{self._space_id(space)}/change_set" if space else "change_set"
        items = [self._unwrap(i, "ChangeSet") for i in self._call("GET", path, "changesets") or []]
        if not items:
            return []
        # ChangeSet units: revisions carrying its ID, among units changed since it was made
        oldest = min(i.get("CreatedAt") or "" for i in items)
        units_by_cs: dict[str, set[str]] = {}
        wanted = {i["ChangeSetID"] for i in items}
        for u in self.list_units(None, f"UpdatedAt >= {quote(oldest)}" if oldest else None):
            for r in self._revision_items(u.space, u.slug):
                cid = str(r.get("ChangeSetID") or "")
                if cid in wanted:
                    units_by_cs.setdefault(cid, set()).add(f"{u.space}/{u.slug}")
        out = [
            ChangeSet(
                i["Slug"],
                i["ChangeSetID"],
                self._space_slug(i.get("SpaceID")),
                i.get("Description") or "",
                i.get("CreatedAt") or "",
                tuple(sorted(units_by_cs.get(i["ChangeSetID"], ()))),
            )
            for i in items
        ]
        return sorted(out, key=lambda c: (c.created_at, c.slug))

    def list_audit(self, space: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The API has no audit log: the trail is every unit's revisions (who, what, when),
        newest first, reading units from the most recently updated down."""
        units = sorted(self.list_units(space), key=lambda u: u.updated_at, reverse=True)
        entries: list[AuditEntry] = []
        for u in units:
            if len(entries) >= limit and u.updated_at < entries[limit - 1].at:
                break
            for r in self._revision_items(u.space, u.slug):
                entries.append(
                    AuditEntry(
                        at=r.get("CreatedAt") or "",
                        author=_author(r),
                        action=_ACTIONS.get(r.get("Source") or "", r.get("Source") or ""),
                        description=r.get("Description") or "",
                        units=(f"{u.space}/{u.slug}",),
                        changeset_id=r.get("ChangeSetID") or None,
                    )
                )
            entries.sort(key=lambda e: e.at, reverse=True)
        return entries[:limit]


_ACTIONS = {
    "CreateUnit": "CreateUnit",
    "Update": "UpdateUnit",
    "CloneUnit": "CloneUnit",
    "UpgradeUnit": "UpgradeUnit",
    "Restore": "RestoreUnit",
    "Invoke": "InvokeFunctions",
}


def _author(revision: Mapping[str, Any]) -> str:
    m = _UA_USER.search(str(revision.get("UserAgent") or ""))
    if m:
        return m.group(1)
    return str(revision.get("UserID") or "unknown")


def _message(err: Any) -> str:
    if isinstance(err, dict):
        return " ".join(str(err.get("Message") or err.get("message") or "failed").split())
    return " ".join(str(err).split()) or "failed"


def _refuse_error(item: Any, where: str) -> None:
    """A write answer carrying an Error (G2's ``{Unit, Error}`` envelope) raises it."""
    if isinstance(item, dict) and item.get("Error"):
        raise HubError(_message(item["Error"]), where, status=422)


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__


def _in_chunks(prefix: str, values: Iterable[str]) -> Iterable[str]:
    """``<prefix> IN (...)`` clauses that each fit the 8192-character limit."""
    chunk: list[str] = []
    budget = MAX_WHERE_LENGTH - len(prefix) - 16
    size = 0
    for v in values:
        q = quote(v)
        if chunk and size + len(q) + 2 > budget:
            yield f"{prefix} IN ({', '.join(chunk)})"
            chunk, size = [], 0
        chunk.append(q)
        size += len(q) + 2
    if chunk:
        yield f"{prefix} IN ({', '.join(chunk)})"
