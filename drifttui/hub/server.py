"""``drifttui hub serve``: the embedded hub over HTTP, on ConfigHub's own API paths.

Several drifttui processes (a TUI, a headless watcher, a CI job) can share one hub through
it, and it is what the HTTP client's contract tests run against. Paths, parameters and JSON
shapes are the current (G2) API's as confighub-api.md describes them, under ``/api``:

====================================================  ===========================================
``GET /api/info``, ``GET /api/me``                     server info, the caller
``GET|POST /api/space``, ``GET|PATCH /api/space/{s}``  spaces (list pages with limit/continue)
``GET /api/unit``, ``PATCH /api/unit``                 organisation-wide list; bulk patch/upgrade
``GET|POST /api/space/{s}/unit``                       list; create (``Data`` base64) or clone
``GET|PUT|PATCH|DELETE /api/space/{s}/unit/{u}``       one unit; ``upgrade=true``, ``restore=N``
``GET|PUT /api/space/{s}/unit/{u}/data``               the document, ETag/If-Match = DataHash
``GET /api/space/{s}/unit/{u}/revision[/{r}/data]``    revisions and their data
``GET /api/space/{s}/unit/{u}/mutation``               one mutation per revision
``GET /api/unit_data``                                 documents of many units at once
``POST /api/function/invoke``                          ``set-{string,int,bool}-path`` in bulk
``GET|POST /api/space/{s}/filter``, ``/change_set``    filters and changesets (+ org-wide lists)
====================================================  ===========================================

Every ``/api`` request needs ``Authorization: Bearer <token>`` (401 otherwise). The token is
compared in constant time and never logged; errors are ``{"Code", "Message"}``.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drifttui import __version__
from drifttui.errors import ConflictError, HubError, NotFoundError
from drifttui.hub.local import Row, SqliteHub, decode_continue, encode_continue
from drifttui.hub.protocol import BulkResult, UnitResult
from drifttui.hub.where import parse_where, where_and

MAX_PAGE = 1000
SERVER_VERSION = f"v0.4-drifttui-{__version__}"

_UA_USER = re.compile(r"\(user=([^)\s;]+)")


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    path: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise HubError("request body is not JSON", status=400) from None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1", "yes")


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    body: Any = None
    text: str | None = None
    headers: Mapping[str, str] | None = None


def author_from_user_agent(user_agent: str) -> str:
    m = _UA_USER.search(user_agent or "")
    return m.group(1) if m else "api"


def user_id(author: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"drifttui-user:{author}"))


# --------------------------------------------------------------------------- JSON shapes


def space_json(row: Row, org: str) -> dict[str, Any]:
    return {
        "SpaceID": row["id"],
        "OrganizationID": org,
        "Slug": row["slug"],
        "DisplayName": row["display_name"],
        "Labels": json.loads(row["labels"] or "{}"),
        "Annotations": json.loads(row["annotations"] or "{}"),
        "Version": row["version"],
        "CreatedAt": row["created_at"],
        "UpdatedAt": row["updated_at"],
        "EntityType": "Space",
    }


def unit_json(row: Row, org: str) -> dict[str, Any]:
    return {
        "UnitID": row["id"],
        "SpaceID": row["space_id"],
        "SpaceSlug": row.get("space_slug", ""),
        "OrganizationID": org,
        "Slug": row["slug"],
        "DisplayName": row.get("display_name") or "",
        "Labels": json.loads(row["labels"] or "{}"),
        "Annotations": json.loads(row["annotations"] or "{}"),
        "Version": row["version"],
        "ToolchainType": row["toolchain_type"],
        "HeadRevisionNum": row["head_revision"],
        "HeadRevisionID": row["head_revision_id"],
        "HeadMutationNum": row["head_revision"],
        "DataHash": row["data_hash"],
        "DataSize": row.get("data_size") or 0,
        "UpstreamUnitID": row["upstream_unit_id"],
        "UpstreamSpaceID": row["upstream_space_id"],
        "UpstreamRevisionNum": row["upstream_revision"],
        "LastReleasedRevisionNum": 0,
        "LastChangeDescription": row["last_change_description"],
        "ChangeSetID": row.get("changeset_id"),
        "Conflicts": [
            {"Path": p, "Reason": "ProtectedPath"} for p in json.loads(row["conflicts"] or "[]")
        ],
        "CreatedAt": row["created_at"],
        "UpdatedAt": row["updated_at"],
        "EntityType": "Unit",
    }


def revision_json(row: Row, org: str, unit_slug: str) -> dict[str, Any]:
    return {
        "RevisionID": row["id"],
        "RevisionNum": row["num"],
        "UnitID": row["unit_id"],
        "UnitSlug": unit_slug,
        "SpaceID": row["space_id"],
        "OrganizationID": org,
        "Description": row["description"],
        "Source": row["source"],
        "UserID": user_id(row["author"]),
        "UserAgent": row["user_agent"],
        "ChangeSetID": row["changeset_id"],
        "DataHash": row["data_hash"],
        "DataSize": len(row["data"].encode()),
        "CreatedAt": row["created_at"],
        "EntityType": "Revision",
    }


def mutation_json(row: Row, org: str) -> dict[str, Any]:
    return {
        "MutationID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mutation:{row['id']}")),
        "MutationNum": row["num"],
        "UnitID": row["unit_id"],
        "SpaceID": row["space_id"],
        "OrganizationID": org,
        "RevisionID": row["id"],
        "RevisionNum": row["num"],
        "RestoredRevisionNum": row["restored_from"] or 0,
        "UpgradedFromUpstreamRevisionNum": row["upstream_revision"] or 0,
        "EntityType": "Mutation",
    }


def filter_json(row: Row, org: str) -> dict[str, Any]:
    return {
        "FilterID": row["id"],
        "SpaceID": row["space_id"],
        "OrganizationID": org,
        "Slug": row["slug"],
        "DisplayName": row["display_name"],
        "Labels": json.loads(row["labels"] or "{}"),
        "From": row["from_"],
        "Where": row["where_"],
        "WhereData": "",
        "ResourceType": "",
        "FromSpaceID": None,
        "Version": row["version"],
        "CreatedAt": row["created_at"],
        "EntityType": "Filter",
    }


def changeset_json(row: Row, org: str) -> dict[str, Any]:
    return {
        "ChangeSetID": row["id"],
        "SpaceID": row["space_id"],
        "OrganizationID": org,
        "Slug": row["slug"],
        "Description": row["description"],
        "Labels": json.loads(row["labels"] or "{}"),
        "Version": row["version"],
        "CreatedAt": row["created_at"],
        "StartTagID": None,
        "EndTagID": None,
        "EntityType": "ChangeSet",
    }


def error_body(status: int, message: str) -> dict[str, str]:
    return {"Code": str(status), "Message": message}


# --------------------------------------------------------------------------- the API


class HubApi:
    """The request handlers, plain synchronous functions over a :class:`SqliteHub` (the
    ASGI layer runs them in a thread pool)."""

    def __init__(self, hub: SqliteHub) -> None:
        self.hub = hub
        self.org = hub.organization_id

    # -- helpers

    def _limit(self, req: ApiRequest) -> tuple[int | None, str | None]:
        raw = req.query.get("limit")
        limit: int | None = None
        if raw:
            try:
                limit = int(raw)
            except ValueError:
                raise HubError(f"limit {raw!r} is not a number", status=400) from None
            if not 0 < limit <= MAX_PAGE:
                raise HubError(f"limit must be 1..{MAX_PAGE}", status=400)
        token = req.query.get("continue")
        after = decode_continue(token) if token else None
        return limit, after

    def _space(self, req: ApiRequest) -> Row:
        return self.hub.space_row_by_id(req.path["space_id"])

    def _unit(self, req: ApiRequest) -> Row:
        return self.hub.unit_row_by_id(req.path["space_id"], req.path["unit_id"])

    def _ext_unit(self, row: Row, include: str) -> dict[str, Any]:
        out: dict[str, Any] = {"Unit": unit_json(row, self.org)}
        inc = {i.strip() for i in include.split(",") if i.strip()}
        if "SpaceID" in inc:
            out["Space"] = space_json(self.hub.space_row_by_id(row["space_id"]), self.org)
        if "UpstreamUnitID" in inc and row["upstream_unit_id"]:
            try:
                up = self.hub.unit_row_by_id(row["upstream_space_id"], row["upstream_unit_id"])
                out["UpstreamUnit"] = unit_json(up, self.org)
            except NotFoundError:
                pass
        return out

    def _where_with_filter(self, req: ApiRequest) -> str:
        where = req.query.get("where", "")
        fid = req.query.get("filter")
        if fid:
            rows = [r for r in self.hub.filter_rows(None) if r["id"] == fid]
            if not rows:
                raise NotFoundError(f"no filter with ID {fid}")
            if rows[0]["from_"] != "Unit":
                raise HubError("the filter does not select units", status=400)
            where = where_and(rows[0]["where_"], where)
        return where

    def _unit_page(self, req: ApiRequest, space_id: str | None) -> ApiResponse:
        limit, after = self._limit(req)
        where = self._where_with_filter(req)
        rows = self.hub.select_unit_rows(where, space_id=space_id, after_id=after, limit=limit)
        include = req.query.get("include", "")
        headers = {}
        if limit and len(rows) >= limit:
            headers["ConfigHub-Continue"] = encode_continue(rows[-1]["id"])
        return ApiResponse(200, [self._ext_unit(r, include) for r in rows], headers=headers)

    def _unit_reply(self, row: Row) -> ApiResponse:
        fresh = self.hub.unit_row_by_id(row["space_id"], row["id"])
        return ApiResponse(200, {"Unit": unit_json(fresh, self.org), "Error": None})

    # -- meta

    def info(self, req: ApiRequest) -> ApiResponse:
        return ApiResponse(200, {"Version": SERVER_VERSION, "UIURL": "", "Embedded": True})

    def me(self, req: ApiRequest) -> ApiResponse:
        author = author_from_user_agent(req.headers.get("user-agent", ""))
        return ApiResponse(
            200,
            {"UserID": user_id(author), "Username": author, "OrganizationID": self.org},
        )

    # -- spaces

    def list_spaces(self, req: ApiRequest) -> ApiResponse:
        limit, after = self._limit(req)
        spaces = self.hub.list_spaces(req.query.get("where") or None)
        spaces.sort(key=lambda s: s.id)
        if after:
            spaces = [s for s in spaces if s.id > after]
        headers = {}
        if limit and len(spaces) > limit:
            spaces = spaces[:limit]
            headers["ConfigHub-Continue"] = encode_continue(spaces[-1].id)
        body = [
            {
                "Space": space_json(self.hub.space_row_by_id(s.id), self.org),
                "TotalUnitCount": s.unit_count,
            }
            for s in spaces
        ]
        return ApiResponse(200, body, headers=headers)

    def create_space(self, req: ApiRequest) -> ApiResponse:
        body = req.json() or {}
        slug = body.get("Slug")
        if not isinstance(slug, str):
            raise HubError("Slug is required", "Space", status=400)
        sp = self.hub.create_space(slug, body.get("Labels") or {}, body.get("DisplayName") or "")
        return ApiResponse(200, space_json(self.hub.space_row_by_id(sp.id), self.org))

    def get_space(self, req: ApiRequest) -> ApiResponse:
        row = self._space(req)
        sp = self.hub.get_space(row["slug"])
        return ApiResponse(
            200, {"Space": space_json(row, self.org), "TotalUnitCount": sp.unit_count}
        )

    def patch_space(self, req: ApiRequest) -> ApiResponse:
        row = self._space(req)
        body = req.json() or {}
        labels = body.get("Labels")
        if labels:
            self.hub.update_space_labels(row["slug"], labels)
        return ApiResponse(200, space_json(self._space(req), self.org))

    # -- units

    def list_all_units(self, req: ApiRequest) -> ApiResponse:
        return self._unit_page(req, None)

    def list_units(self, req: ApiRequest) -> ApiResponse:
        return self._unit_page(req, self._space(req)["id"])

    def create_unit(self, req: ApiRequest) -> ApiResponse:
        sp = self._space(req)
        body = req.json() or {}
        slug = body.get("Slug")
        if not isinstance(slug, str):
            raise HubError("Slug is required", "Unit", status=400)
        up_unit = req.query.get("upstream_unit_id")
        if up_unit:
            up_space = req.query.get("upstream_space_id") or ""
            up = self.hub.unit_row_by_id(up_space, up_unit)
            self.hub.clone_unit(up["space_slug"], up["slug"], sp["slug"], slug)
            labels = body.get("Labels")
            if labels:
                self.hub.update_unit_labels(sp["slug"], slug, labels)
        else:
            raw = body.get("Data")
            if not isinstance(raw, str) or not raw:
                raise HubError(
                    "Data is required (base64 of the document) on the embedded hub",
                    "Unit",
                    status=400,
                )
            try:
                data = base64.b64decode(raw, validate=True).decode("utf-8")
            except ValueError:
                raise HubError("Data is not base64 of UTF-8 text", "Unit", status=400) from None
            self.hub.create_unit(
                sp["slug"],
                slug,
                data,
                labels=body.get("Labels") or {},
                description=body.get("LastChangeDescription") or "",
            )
        row = self.hub.unit_row(sp["slug"], slug)
        return self._unit_reply(row)

    def get_unit(self, req: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self._ext_unit(self._unit(req), req.query.get("include", "")))

    def update_unit(self, req: ApiRequest) -> ApiResponse:
        row = self._unit(req)
        space, slug = row["space_slug"], row["slug"]
        body = req.json()
        body = body if isinstance(body, dict) else {}
        if req.method == "PUT" and "Version" not in body:
            raise HubError("Version is required on PUT", "Unit", status=400)
        version = body.get("Version")
        labels = body.get("Labels")
        annotations = body.get("Annotations")
        meta = labels is not None or annotations is not None
        if version is not None and not meta and version != row["version"]:
            raise ConflictError(
                f"unit {space}/{slug} changed since read (version {row['version']})"
            )
        desc = body.get("LastChangeDescription") or ""
        restore = req.query.get("restore")
        if restore:
            try:
                num = int(restore)
            except ValueError:
                raise HubError(
                    f"restore {restore!r}: the embedded hub takes a revision number",
                    status=400,
                ) from None
            self.hub.restore_revision(space, slug, num, desc)
        if req.flag("upgrade"):
            self.hub.upgrade_unit(space, slug, desc)
        if "Data" in body and isinstance(body["Data"], str):
            data = base64.b64decode(body["Data"]).decode("utf-8")
            self.hub.update_unit_data(space, slug, data, desc or "Update")
        if meta:  # the version is checked in the same transaction as the write
            self.hub.patch_unit_meta(
                space, slug, labels=labels or {}, annotations=annotations or {}, version=version
            )
        return self._unit_reply(row)

    def delete_unit(self, req: ApiRequest) -> ApiResponse:
        row = self._unit(req)
        self.hub.delete_unit(row["space_slug"], row["slug"])
        return ApiResponse(200, {"Message": f"deleted unit {row['slug']}", "Error": None})

    def get_data(self, req: ApiRequest) -> ApiResponse:
        row = self.hub.unit_row_by_id(req.path["space_id"], req.path["unit_id"])
        etag = f'"{row["data_hash"]}"'
        inm = req.headers.get("if-none-match", "").strip()
        if inm and inm.strip('"') == row["data_hash"]:
            return ApiResponse(304, text="", headers={"ETag": etag})
        return ApiResponse(200, text=row["data"], headers={"ETag": etag})

    def put_data(self, req: ApiRequest) -> ApiResponse:
        row = self._unit(req)
        try:
            data = req.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HubError("data is not UTF-8 text", status=400) from None
        if_match = req.headers.get("if-match")
        self.hub.update_unit_data(
            row["space_slug"],
            row["slug"],
            data,
            req.query.get("last_change_description", "") or "Update",
            if_match=if_match.strip().strip('"') if if_match else None,
            changeset_id=req.query.get("change_set_id") or None,
        )
        return self._unit_reply(row)

    def list_revisions(self, req: ApiRequest) -> ApiResponse:
        row = self._unit(req)
        revs = self.hub.revision_rows(row["id"])
        where = req.query.get("where")
        if where:
            parsed = parse_where(where, "Revision")
            from drifttui.hub.where import evaluate

            def lookup_for(r: Row) -> Callable[[Any], Any]:
                j = revision_json(r, self.org, row["slug"])
                return lambda ref: j.get(ref.name) if ref.relation is None else None

            revs = [r for r in revs if evaluate(parsed, lookup_for(r))]
        return ApiResponse(
            200, [{"Revision": revision_json(r, self.org, row["slug"])} for r in revs]
        )

    def revision_data(self, req: ApiRequest) -> ApiResponse:
        row = self._unit(req)
        for r in self.hub.revision_rows(row["id"]):
            if r["id"] == req.path["revision_id"]:
                return ApiResponse(200, text=r["data"], headers={"ETag": f'"{r["data_hash"]}"'})
        raise NotFoundError(f"no revision {req.path['revision_id']} of unit {row['slug']}")

    def list_mutations(self, req: ApiRequest) -> ApiResponse:
        row = self._unit(req)
        return ApiResponse(
            200,
            [{"Mutation": mutation_json(r, self.org)} for r in self.hub.revision_rows(row["id"])],
        )

    def unit_data(self, req: ApiRequest) -> ApiResponse:
        limit, after = self._limit(req)
        rows = self.hub.select_unit_rows(
            self._where_with_filter(req), with_data=True, after_id=after, limit=limit
        )
        headers = {}
        if limit and len(rows) >= limit:
            headers["ConfigHub-Continue"] = encode_continue(rows[-1]["id"])
        body = [
            {
                "UnitID": r["id"],
                "SpaceID": r["space_id"],
                "Slug": r["slug"],
                "SpaceSlug": r["space_slug"],
                "HeadRevisionNum": r["head_revision"],
                "DataHash": r["data_hash"],
                "DataSize": r["data_size"],
                "Data": r["data"],
            }
            for r in rows
        ]
        return ApiResponse(200, body, headers=headers)

    # -- bulk

    def _bulk_reply(self, result: BulkResult) -> ApiResponse:
        items = []
        for r in result.results:
            try:
                row = self.hub.unit_row(r.space, r.unit)
                unit: dict[str, Any] | None = unit_json(row, self.org)
            except NotFoundError:
                unit = None
            err = (
                None
                if r.ok
                else {
                    "Message": r.error,
                    "Status": 422,
                    "ErrorMetadata": {"EntityID": unit["UnitID"] if unit else None},
                }
            )
            items.append({"Unit": unit, "Error": err})
        return ApiResponse(200 if result.ok else 207, items)

    def bulk_patch_units(self, req: ApiRequest) -> ApiResponse:
        where = self._where_with_filter(req)
        if not where:
            raise HubError("a bulk patch needs where or filter", status=400)
        body = req.json()
        body = body if isinstance(body, dict) else {}
        labels = body.get("Labels")
        result = self.hub.bulk_patch(
            where,
            labels=labels,
            upgrade=req.flag("upgrade"),
            description=body.get("LastChangeDescription") or "",
            changeset_id=req.query.get("change_set_id") or None,
        )
        if body.get("Annotations"):
            for r in result.results:
                self.hub.patch_unit_meta(r.space, r.unit, annotations=body["Annotations"])
        return self._bulk_reply(result)

    def invoke(self, req: ApiRequest) -> ApiResponse:
        body = req.json() or {}
        where = self._where_with_filter(req)
        space_id = req.path.get("space_id")
        space = self.hub.space_row_by_id(space_id)["slug"] if space_id else None
        invocations = body.get("FunctionInvocations") or []
        values: dict[str, Any] = {}
        index_of: dict[str, int] = {}
        for i, inv in enumerate(invocations):
            name = inv.get("FunctionName")
            if name not in ("set-string-path", "set-int-path", "set-bool-path"):
                raise HubError(
                    f"function {name!r} is not available on the embedded hub "
                    "(set-string-path, set-int-path, set-bool-path are)",
                    status=400,
                )
            args = {a.get("ParameterName"): a.get("Value") for a in inv.get("Arguments") or []}
            if args.get("resource-type", "*") != "*":
                raise HubError("the embedded hub takes resource-type '*'", status=400)
            path, value = args.get("path"), args.get("attribute-value")
            if not isinstance(path, str):
                raise HubError(f"{name}: path is required", status=400)
            want = {"set-string-path": str, "set-int-path": int, "set-bool-path": bool}[name]
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise HubError(f"{name}: attribute-value must be a {want.__name__}", status=400)
            values[path] = value
            index_of[path] = i
        if not where:
            raise HubError("a function invocation needs where or filter", status=400)
        result = self.hub.bulk_set_paths(
            where,
            values,
            space=space,
            description=body.get("ChangeDescription") or "",
            changeset_id=req.query.get("change_set_id") or None,
        )
        items = []
        for r in result.results:
            row = self.hub.unit_row(r.space, r.unit)
            items.append(_invocation_result(r, row, index_of, self.org))
        return ApiResponse(200 if result.ok else 207, items)

    # -- filters and changesets

    def list_filters(self, req: ApiRequest) -> ApiResponse:
        space_id = req.path.get("space_id")
        if space_id:
            self.hub.space_row_by_id(space_id)
        rows = self.hub.filter_rows(space_id)
        where = req.query.get("where")
        if where:
            parsed = parse_where(where, "Filter")
            from drifttui.hub.where import evaluate

            def lookup_for(r: Row) -> Callable[[Any], Any]:
                j = filter_json(r, self.org)
                return lambda ref: j.get(ref.name) if ref.relation is None else None

            rows = [r for r in rows if evaluate(parsed, lookup_for(r))]
        return ApiResponse(200, [{"Filter": filter_json(r, self.org)} for r in rows])

    def create_filter(self, req: ApiRequest) -> ApiResponse:
        sp = self._space(req)
        body = req.json() or {}
        slug, where = body.get("Slug"), body.get("Where") or ""
        if not isinstance(slug, str):
            raise HubError("Slug is required", "Filter", status=400)
        f = self.hub.create_filter(
            sp["slug"],
            slug,
            where,
            body.get("From") or "Unit",
            labels=body.get("Labels") or {},
            display_name=body.get("DisplayName") or "",
        )
        row = next(r for r in self.hub.filter_rows(sp["id"]) if r["id"] == f.id)
        return ApiResponse(200, filter_json(row, self.org))

    def get_filter(self, req: ApiRequest) -> ApiResponse:
        for r in self.hub.filter_rows(req.path["space_id"]):
            if r["id"] == req.path["filter_id"]:
                return ApiResponse(200, {"Filter": filter_json(r, self.org)})
        raise NotFoundError(f"no filter with ID {req.path['filter_id']}")

    def list_changesets(self, req: ApiRequest) -> ApiResponse:
        space_id = req.path.get("space_id")
        if space_id:
            self.hub.space_row_by_id(space_id)
        rows = self.hub.changeset_rows(space_id)
        return ApiResponse(200, [{"ChangeSet": changeset_json(r, self.org)} for r in rows])

    def create_changeset(self, req: ApiRequest) -> ApiResponse:
        sp = self._space(req)
        body = req.json() or {}
        slug = body.get("Slug")
        if not isinstance(slug, str):
            raise HubError("Slug is required", "ChangeSet", status=400)
        cs = self.hub.create_changeset(sp["slug"], slug, body.get("Description") or "")
        row = next(r for r in self.hub.changeset_rows(sp["id"]) if r["id"] == cs.id)
        return ApiResponse(200, changeset_json(row, self.org))


def _invocation_result(
    r: UnitResult, row: Row, index_of: Mapping[str, int], org: str
) -> dict[str, Any]:
    return {
        "UnitID": row["id"],
        "SpaceID": row["space_id"],
        "OrganizationID": org,
        "RevisionID": row["head_revision_id"],
        "Success": r.ok,
        "Error": None if r.ok else {"Message": r.error, "Status": 422},
        "Mutators": sorted(index_of[p] for p in r.changed_paths if p in index_of),
        "Mutations": None,
        "ConfigData": "",
    }


ROUTES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("/api/info", ("GET",), "info"),
    ("/api/me", ("GET",), "me"),
    ("/api/space", ("GET",), "list_spaces"),
    ("/api/space", ("POST",), "create_space"),
    ("/api/space/{space_id}", ("GET",), "get_space"),
    ("/api/space/{space_id}", ("PATCH",), "patch_space"),
    ("/api/unit", ("GET",), "list_all_units"),
    ("/api/unit", ("PATCH",), "bulk_patch_units"),
    ("/api/unit_data", ("GET",), "unit_data"),
    ("/api/function/invoke", ("POST",), "invoke"),
    ("/api/space/{space_id}/function/invoke", ("POST",), "invoke"),
    ("/api/space/{space_id}/unit", ("GET",), "list_units"),
    ("/api/space/{space_id}/unit", ("POST",), "create_unit"),
    ("/api/space/{space_id}/unit/{unit_id}", ("GET",), "get_unit"),
    ("/api/space/{space_id}/unit/{unit_id}", ("PUT", "PATCH"), "update_unit"),
    ("/api/space/{space_id}/unit/{unit_id}", ("DELETE",), "delete_unit"),
    ("/api/space/{space_id}/unit/{unit_id}/data", ("GET",), "get_data"),
    ("/api/space/{space_id}/unit/{unit_id}/data", ("PUT",), "put_data"),
    ("/api/space/{space_id}/unit/{unit_id}/revision", ("GET",), "list_revisions"),
    (
        "/api/space/{space_id}/unit/{unit_id}/revision/{revision_id}/data",
        ("GET",),
        "revision_data",
    ),
    ("/api/space/{space_id}/unit/{unit_id}/mutation", ("GET",), "list_mutations"),
    ("/api/filter", ("GET",), "list_filters"),
    ("/api/space/{space_id}/filter", ("GET",), "list_filters"),
    ("/api/space/{space_id}/filter", ("POST",), "create_filter"),
    ("/api/space/{space_id}/filter/{filter_id}", ("GET",), "get_filter"),
    ("/api/change_set", ("GET",), "list_changesets"),
    ("/api/space/{space_id}/change_set", ("GET",), "list_changesets"),
    ("/api/space/{space_id}/change_set", ("POST",), "create_changeset"),
)


def handle(
    api: HubApi, handler: Callable[[ApiRequest], ApiResponse], req: ApiRequest
) -> ApiResponse:
    """Run one handler as the caller, turning hub errors into the API's error shape."""
    agent = req.headers.get("user-agent", "")
    try:
        with api.hub.acting_as(author_from_user_agent(agent), agent):
            return handler(req)
    except HubError as exc:
        status = exc.status or 500
        if status < 400:
            status = 500
        return ApiResponse(status, error_body(status, exc.line()))


def create_app(hub: SqliteHub, token: str) -> Callable[..., Awaitable[None]]:
    """The ASGI app serving ``hub`` to holders of ``token``."""
    if not token:
        raise ValueError("hub serve needs a non-empty token")
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    api = HubApi(hub)
    expected = f"Bearer {token}".encode()
    version_header = {"ConfigHub-Version": SERVER_VERSION}

    def to_response(r: ApiResponse) -> Response:
        headers = {**version_header, **(r.headers or {})}
        if r.text is not None:
            return Response(
                r.text.encode("utf-8"),
                status_code=r.status,
                headers=headers,
                media_type="application/octet-stream",
            )
        return JSONResponse(r.body, status_code=r.status, headers=headers)

    def make_endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
        handler = getattr(api, name)

        async def endpoint(request: Request) -> Response:
            try:
                body = await request.body()
            except ClientDisconnect:  # the caller gave up (timeout); nobody to answer
                return Response(status_code=499)
            req = ApiRequest(
                request.method,
                dict(request.path_params),
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
            return to_response(await run_in_threadpool(handle, api, handler, req))

        return endpoint

    routes = [Route(path, make_endpoint(name), methods=list(m)) for path, m, name in ROUTES]

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        msg = "no such endpoint" if status == 404 else "method not allowed"
        return JSONResponse(
            error_body(status, f"{msg}: {request.method} {request.url.path}"),
            status_code=status,
            headers=version_header,
        )

    inner = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            auth = b""
            for k, v in scope.get("headers") or []:
                if k.lower() == b"authorization":
                    auth = v
                    break
            if not hmac.compare_digest(auth, expected):
                body = json.dumps(error_body(401, "missing or invalid bearer token")).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="drifttui hub"'),
                            (b"confighub-version", SERVER_VERSION.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await inner(scope, receive, send)

    return app


class ServerThread:
    """``hub serve`` in a background thread on an already bound socket (tests, benchmarks,
    and the TUI sharing its hub). ``start()`` returns the base URL (``.../api``)."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        access_log: bool = False,
        use_colors: bool | None = None,
    ) -> None:
        import copy
        import socket

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it; without it every answer waits ~40 ms on the
        # peer's delayed ACK
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        # listening from here on: a client that connects before uvicorn has started waits
        # in the backlog instead of being refused
        self._sock.listen(2048)
        self.host, self.port = self._sock.getsockname()[:2]
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        log_config = copy.deepcopy(LOGGING_CONFIG)  # diagnostics, access log included: stderr
        for handler in log_config.get("handlers", {}).values():
            if "stream" in handler:
                handler["stream"] = "ext://sys.stderr"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                log_level=log_level,
                access_log=access_log,
                lifespan="off",
                log_config=log_config,
                use_colors=use_colors,
            )
        )
        self._thread: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    def start(self, timeout_s: float = 10.0) -> str:
        import threading
        import time

        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("hub server did not start")
            time.sleep(0.01)
        return self.url

    def run(self) -> None:
        """Serve in the calling thread until interrupted (``hub serve``)."""
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()
