"""An emulated Kubernetes API server for the KubeCluster tests: kmock's KubernetesEmulator
plus what a watching client needs and kmock leaves out.

kmock 0.8 gives us the HTTP server on 127.0.0.1 (a free port), the request parsing, API
discovery, Kubernetes-shaped errors, the object history (``server.objects``), the request log
and the DSL for scripted answers (``server['watch', resource][:1] << ...``), which take
priority over the fallbacks defined here. What we add, in the tests only:

- a resourceVersion counter and an event log: LIST returns a version, WATCH resumes from one
  (kmock's emulator replays every object as ADDED on each watch and has no versions);
- ``ERROR 410 Gone`` for a watch from a compacted version, and ``compact()`` to cause it;
- bookmarks when idle, ``timeoutSeconds``, paged LISTs (``limit`` / ``continue``);
- PATCH by JSON patch (the ``jsonpatch`` library kmock already uses), merge patch and
  server-side apply, with ``dryRun=All`` and a managedFields entry per ``fieldManager``;
- ``pause_watches()`` (silent streams while writes go on) and ``cut_watch()`` (a watch that
  delivers N events and then loses its TCP connection);
- ``coordination.k8s.io/v1`` Leases (beside the watched kinds) and PUT (replace) with the API
  server's optimistic concurrency: a body whose ``metadata.resourceVersion`` is not the
  current one answers 409 Conflict, an absent object 404 (leader election);
- Namespace objects: kmock 0.8 reads ``/api/v1/namespaces/<name>`` as a namespace with no
  resource (and cannot parse ``/api/v1/namespaces`` at all), so those two paths are served
  under another plural (:data:`NAMESPACE_ALIAS`) and mapped back to ``v1/namespaces``.

The official client is blocking, so the server runs on its own event loop in a thread
(:class:`EmulatorThread`); tests change objects through its thread-safe helpers, the way a
person with kubectl would.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import attrs
import jsonpatch
import kmock
from kubernetes import client as k8s_client

from drifttui.cluster.protocol import WATCHED_KINDS
from drifttui.cluster.sim import json_merge_patch

Obj = dict[str, Any]

EXTRA_KINDS = (
    ("coordination.k8s.io/v1", "Lease", "leases"),
    ("v1", "ServiceAccount", "serviceaccounts"),
    ("rbac.authorization.k8s.io/v1", "Role", "roles"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings"),
    ("v1", "Namespace", "namespaces"),
)
"""Kinds served beside the watched ones (leader election's Lease; the detector's own
namespace, service account and RBAC, so `drifttui apply` of a chain works)."""
CLUSTER_SCOPED = frozenset({"ClusterRole", "ClusterRoleBinding", "Namespace"})
SERVED_KINDS = (*WATCHED_KINDS, *EXTRA_KINDS)

NAMESPACE_ALIAS = "x-emulated-namespaces"
"""The plural Namespace requests are served under inside the emulator (see the module
docstring); the client and the request log's ``resource`` see ``v1/namespaces``."""
_NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces(?:/([^/]+))?/?$")


_ALIASED = kmock.resource(f"v1/{NAMESPACE_ALIAS}")
_NAMESPACES = kmock.resource("v1/namespaces")


def status(code: int, reason: str, message: str) -> Obj:
    """A Kubernetes ``Status`` object (``kind: Status``, failure) with that code."""
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


def ApiStatusError(code: int, reason: str, message: str) -> Exception:
    """An error kmock renders as a Kubernetes Status with that code."""
    return kmock.KubernetesError(code, reason, message)  # type: ignore[no-any-return]


class EmulatedApiServer(kmock.KubernetesEmulator):  # type: ignore[misc]
    """See the module docstring. Use through :class:`EmulatorThread`."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.rv = 100
        self.log: list[tuple[int, Any, str | None, Obj]] = []
        self.compacted_rv = 0
        self.bookmark_interval_s = 0.1
        self.paused = False
        self.cuts: list[int] = []  # the next watches: deliver N events, then drop the TCP
        self.drops = 0  # bumped by drop_watches(): open watches lose their connection
        self.bookmarks_sent = 0
        self.cutting = 0  # open watches that will be cut after more events
        self.watch_versions: list[str] = []  # resourceVersion each watch asked for
        self.changed: asyncio.Event | None = None
        self._listed: dict[tuple[Any, str | None], tuple[int, list[Obj]]] = {}
        """(resource, namespace) -> (resourceVersion, its objects in LIST order): the pages
        of one LIST are cut from one sorted snapshot, not a rescan of every object each."""
        for api, kind, plural in SERVED_KINDS:
            self.resources[f"{api}/{plural}"] = {
                "kind": kind,
                "namespaced": kind not in CLUSTER_SCOPED,
                "singular": kind.lower(),
                "verbs": ["list", "watch", "get", "create", "update", "patch", "delete"],
                "shortnames": [],
                "categories": [],
                "subresources": [],
            }
        # kmock guesses no action for PUT on a named object: serve it by method
        self.fallback["put"] << self._serve_replace

    # ----------------------------------------------------------------- plumbing

    async def __call__(self, raw_request: Any) -> Any:
        match = _NAMESPACE_PATH.match(raw_request.path)
        if match:  # a Namespace object, or the list of them: see NAMESPACE_ALIAS
            path = f"/api/v1/{NAMESPACE_ALIAS}" + (f"/{match[1]}" if match[1] else "")
            url = raw_request.rel_url
            raw_request = raw_request.clone(rel_url=url.with_path(path).with_query(url.query))
        return await super().__call__(raw_request)

    async def _handle(self, request: Any) -> Any:
        if request.resource == _ALIASED:
            aliased, request = request, attrs.evolve(request, resource=_NAMESPACES)
            # kmock's views see only requests in its log: log the mapped one instead
            for i in range(len(self._requests) - 1, -1, -1):
                if self._requests[i] is aliased:
                    self._requests[i] = request
                    break
        # Skip KubernetesEmulator's own write-before-reactions: our fallbacks do the writes,
        # so a scripted reaction (a 403, a conflict) really prevents the change.
        return await kmock.KubernetesScaffold._handle(self, request)

    def _changed(self) -> asyncio.Event:
        """Set at the next change. An event per generation rather than an asyncio.Condition:
        a watch handler cancelled (its client gone) inside ``wait_for(cond.wait())`` can leave
        the condition's lock held by an orphaned task on Python 3.11, and every later write
        would wait on it forever."""
        if self.changed is None:
            self.changed = asyncio.Event()
        return self.changed

    async def _notify(self) -> None:
        changed, self.changed = self._changed(), asyncio.Event()
        changed.set()

    def _key(self, resource: Any, namespace: str | None, name: str) -> tuple[Any, str | None, str]:
        return (resource, namespace, name)

    def current(self, resource: Any, namespace: str | None, name: str) -> Obj | None:
        key = self._key(resource, namespace, name)
        if key not in self._objects or self._objects[key].deleted:
            return None
        return dict(self._objects[key].raw)

    def live(self, resource: Any, namespace: str | None = None) -> list[Obj]:
        out = []
        for (res, ns, _name), obj in self._objects.items():
            if res == resource and not obj.deleted and (namespace is None or ns == namespace):
                out.append(dict(obj.raw))
        return out

    def _kind_of(self, resource: Any) -> tuple[str, str]:
        for api, kind, plural in SERVED_KINDS:
            if kmock.resource(f"{api}/{plural}") == resource:
                return api, kind
        raise ApiStatusError(404, "NotFound", f"unknown resource {resource}")

    # ----------------------------------------------------------------- writes

    async def write(
        self,
        resource: Any,
        namespace: str | None,
        obj: Obj,
        *,
        manager: str = "kubectl",
        operation: str = "Update",
        dry_run: bool = False,
        created: bool = False,
    ) -> Obj:
        name = obj["metadata"]["name"]
        key = self._key(resource, namespace, name)
        old = self.current(resource, namespace, name)
        if created and old is not None:
            raise ApiStatusError(409, "AlreadyExists", f'"{name}" already exists')
        if not created and old is None:
            raise ApiStatusError(404, "NotFound", f'"{name}" not found')
        api, kind = self._kind_of(resource)
        new = copy.deepcopy(obj)
        new["apiVersion"], new["kind"] = api, kind
        meta = new.setdefault("metadata", {})
        meta["namespace"] = namespace
        entries = [
            e
            for e in (old or {}).get("metadata", {}).get("managedFields", [])
            if e.get("manager") != manager
        ]
        entries.append({"manager": manager, "operation": operation, "time": "2026-11-25T10:00:00Z"})
        meta["managedFields"] = entries
        if old is not None:
            meta["uid"] = old["metadata"]["uid"]
            meta["generation"] = old["metadata"].get("generation", 1) + (
                1 if new.get("spec") != old.get("spec") else 0
            )
        else:
            meta["uid"] = f"uid-{name}-{self.rv}"
            meta["generation"] = 1
        if dry_run:
            meta["resourceVersion"] = (old or {}).get("metadata", {}).get("resourceVersion", "")
            return new
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        if old is None:
            self._objects[key] = new
        else:
            self._objects[key].history.append(new)
        self.log.append(
            (
                self.rv,
                resource,
                namespace,
                {"type": "ADDED" if old is None else "MODIFIED", "object": new},
            )
        )
        await self._notify()
        return new

    async def remove(self, resource: Any, namespace: str | None, name: str) -> Obj:
        old = self.current(resource, namespace, name)
        if old is None:
            raise ApiStatusError(404, "NotFound", f'"{name}" not found')
        self.rv += 1
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self._objects[self._key(resource, namespace, name)].delete()
        self.log.append((self.rv, resource, namespace, {"type": "DELETED", "object": gone}))
        await self._notify()
        return gone

    async def compact(self) -> None:
        """Forget history: watches from older versions get ERROR 410, open ones too."""
        self.compacted_rv = self.rv
        self.log.clear()
        await self._notify()

    # ----------------------------------------------------------------- fallbacks

    async def _serve_list(self, request: Any) -> Any:
        self._kind_of(request.resource)
        listed = self._listed.get((request.resource, request.namespace))
        if listed is None or listed[0] != self.rv:  # every write bumps rv
            listed = (
                self.rv,
                sorted(
                    self.live(request.resource, request.namespace),
                    key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]),
                ),
            )
            self._listed[(request.resource, request.namespace)] = listed
        items = listed[1]
        limit = int(request.params.get("limit") or 0)
        token = request.params.get("continue")
        offset, snapshot = (0, self.rv)
        if token:
            offset_s, snap_s = token.split(":")
            offset, snapshot = int(offset_s), int(snap_s)
            if snapshot < self.compacted_rv:
                raise ApiStatusError(410, "Expired", "the continue token has expired")
        end = len(items) if not limit else min(len(items), offset + limit)
        page = []
        for obj in items[offset:end]:
            item = dict(obj)
            item.pop("apiVersion", None)  # as a real server: list items carry neither
            item.pop("kind", None)
            page.append(item)
        meta: Obj = {"resourceVersion": str(snapshot)}
        if end < len(items):
            meta["continue"] = f"{end}:{snapshot}"
        api, kind = self._kind_of(request.resource)
        return {"apiVersion": api, "kind": f"{kind}List", "metadata": meta, "items": page}

    async def _serve_watch(self, request: Any) -> AsyncIterator[Any]:
        return self.watch_stream(request)

    async def watch_stream(self, request: Any, cut_after: int | None = None) -> AsyncIterator[Any]:
        if cut_after is None and self.cuts:
            cut_after = self.cuts.pop(0)
        if cut_after is not None:
            self.cutting += 1
        try:
            async for item in self._watch_stream(request, cut_after):
                yield item
        finally:
            if cut_after is not None:
                self.cutting -= 1

    async def _watch_stream(self, request: Any, cut_after: int | None) -> AsyncIterator[Any]:
        drops = self.drops
        since_s = request.params.get("resourceVersion") or ""
        self.watch_versions.append(since_s)
        since = int(since_s or self.rv)
        bookmarks = request.params.get("allowWatchBookmarks") == "true"
        timeout = float(request.params.get("timeoutSeconds") or 300)
        deadline = time.monotonic() + timeout
        api, kind = self._kind_of(request.resource)
        yield b""  # the headers go out now
        if since < self.compacted_rv:
            yield {
                "type": "ERROR",
                "object": status(410, "Expired", f"too old resource version: {since}"),
            }
            return
        cursor, sent = since, 0
        while True:
            changed = self._changed()  # before looking: a change from here on wakes us
            if self.drops != drops:
                request._raw_request.transport.abort()
                return
            if cursor < self.compacted_rv:
                yield {
                    "type": "ERROR",
                    "object": status(410, "Expired", "too old resource version"),
                }
                return
            pending = self._pending(request, cursor)
            if pending and not self.paused:
                for rv, ev in pending:
                    yield ev
                    cursor = rv
                    sent += 1
                    if cut_after is not None and sent >= cut_after:
                        request._raw_request.transport.abort()  # the connection drops
                        return
                continue
            now = time.monotonic()
            if now >= deadline:
                return
            try:
                await asyncio.wait_for(
                    changed.wait(), timeout=min(self.bookmark_interval_s, deadline - now)
                )
                continue
            except TimeoutError:
                pass
            if bookmarks and not self.paused:
                if not self._pending(request, cursor):
                    cursor = max(cursor, self.rv)
                self.bookmarks_sent += 1
                yield {
                    "type": "BOOKMARK",
                    "object": {
                        "apiVersion": api,
                        "kind": kind,
                        "metadata": {"resourceVersion": str(cursor)},
                    },
                }

    def _pending(self, request: Any, cursor: int) -> list[tuple[int, Obj]]:
        return [
            (rv, ev)
            for rv, res, ns, ev in self.log
            if rv > cursor
            and res == request.resource
            and (request.namespace is None or ns == request.namespace)
        ]

    async def _serve_fetch(self, request: Any) -> Any:
        obj = self.current(request.resource, request.namespace, request.name)
        if obj is None:
            raise ApiStatusError(404, "NotFound", f'"{request.name}" not found')
        return obj

    async def _serve_create(self, request: Any) -> Any:
        obj = request.data
        return await self.write(
            request.resource, request.namespace or obj["metadata"].get("namespace"), obj,
            manager=request.params.get("fieldManager", "kubectl-create"), created=True,
        )  # fmt: skip

    async def _serve_update(self, request: Any) -> Any:
        # Always answer with an explicit status: kmock keeps a status set by a returned
        # Response on the fallback reaction, so a 201 would stick to later PATCHes.
        content_type = request.headers.get("Content-Type", "")
        manager = request.params.get("fieldManager", "kubectl")
        dry_run = request.params.get("dryRun") == "All"
        old = self.current(request.resource, request.namespace, request.name)
        if "apply-patch" in content_type:
            if old is None:
                new = await self.write(
                    request.resource, request.namespace, request.data, manager=manager,
                    operation="Apply", dry_run=dry_run, created=True,
                )  # fmt: skip
                return kmock.Response(status=201, payload=new)
            merged = json_merge_patch(old, request.data)
            new = await self.write(
                request.resource, request.namespace, merged, manager=manager, operation="Apply",
                dry_run=dry_run,
            )  # fmt: skip
            return kmock.Response(status=200, payload=new)
        if old is None:
            raise ApiStatusError(404, "NotFound", f'"{request.name}" not found')
        if "json-patch" in content_type:
            try:
                new = jsonpatch.apply_patch(old, request.data, in_place=False)
            except jsonpatch.JsonPatchTestFailed as exc:
                raise ApiStatusError(422, "Invalid", f"the test operation failed: {exc}") from None
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise ApiStatusError(422, "Invalid", f"the patch does not apply: {exc}") from None
        else:
            new = json_merge_patch(old, request.data)
        new = await self.write(
            request.resource, request.namespace, new, manager=manager, dry_run=dry_run
        )
        return kmock.Response(status=200, payload=new)

    async def _serve_delete(self, request: Any) -> Any:
        return await self.remove(request.resource, request.namespace, request.name)

    async def _serve_replace(self, request: Any) -> Any:
        """PUT: replace the whole object, conditional on ``metadata.resourceVersion`` when the
        body carries one (as the API server does; Leases always carry one)."""
        if request.resource is None or not request.name:
            raise ApiStatusError(405, "MethodNotAllowed", "PUT needs a named object")
        _, kind = self._kind_of(request.resource)
        obj = request.data
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
            raise ApiStatusError(400, "BadRequest", "the body is not an object with metadata")
        name = obj["metadata"].get("name")
        if name != request.name:
            raise ApiStatusError(
                400, "BadRequest", f"the name of the object ({name}) does not match the URL"
            )
        old = self.current(request.resource, request.namespace, request.name)
        if old is None:
            raise ApiStatusError(404, "NotFound", f'{kind.lower()}s "{name}" not found')
        wanted = str(obj["metadata"].get("resourceVersion") or "")
        if wanted and wanted != old["metadata"].get("resourceVersion"):
            raise ApiStatusError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.lower()}s "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
            )
        manager = request.params.get("fieldManager", "kube-controller")
        dry_run = request.params.get("dryRun") == "All"
        new = await self.write(
            request.resource, request.namespace, obj, manager=manager, dry_run=dry_run
        )
        return kmock.Response(status=200, payload=new)


class EmulatorThread:
    """An :class:`EmulatedApiServer` on 127.0.0.1 (free port), its loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="apiserver", daemon=True)
        self.thread.start()
        self.server: EmulatedApiServer = self.call(self._start)

    async def _start(self) -> EmulatedApiServer:
        server = EmulatedApiServer()
        await server.__aenter__()
        self._http = kmock.Server(server, host="127.0.0.1")
        await self._http.__aenter__()
        return server

    async def _stop(self) -> None:
        await self._http.__aexit__(None, None, None)
        await self.server.__aexit__(None, None, None)

    def close(self) -> None:
        try:
            self.call(self._stop)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()

    # ----------------------------------------------------------------- access

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    def configuration(self) -> Any:
        return k8s_client.Configuration(host=self.url)

    def write_kubeconfig(self, path: Path, namespace: str = "shop") -> Path:
        """Write a kubeconfig whose one context, ``emu`` (current, no credentials, in
        ``namespace``), reaches this server; return ``path``."""
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters: [{{name: emu, cluster: {{server: '{self.url}'}}}}]\n"
            "users: [{name: u, user: {}}]\n"
            f"contexts: [{{name: emu, context: {{cluster: emu, user: u, namespace: {namespace}}}}}]"
            "\n"
            "current-context: emu\n"
        )
        return path

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` (sync or async) on the server's loop and return its result."""

        async def run() -> Any:
            result = fn(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        future: Future[Any] = asyncio.run_coroutine_threadsafe(run(), self.loop)
        return future.result(timeout=30)

    def script(self, fn: Callable[[EmulatedApiServer], Any]) -> Any:
        """Register scripted reactions (kmock DSL) from the server's loop."""
        return self.call(fn, self.server)

    # ----------------------------------------------------------------- as kubectl would

    @staticmethod
    def resource(api: str, kind: str) -> Any:
        for a, k, plural in SERVED_KINDS:
            if (a, k) == (api, kind):
                return kmock.resource(f"{a}/{plural}")
        raise KeyError(kind)

    def create(self, obj: Obj, manager: str = "confighub") -> Obj:
        res = self.resource(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace")
        result: Obj = self.call(self.server.write, res, ns, obj, manager=manager, created=True)
        return result

    def load(self, objects: list[Obj]) -> None:
        """Store ready-made objects as they are (their managedFields and status included),
        each with a new resourceVersion, without watch events: the state a LIST would find
        (benchmarks seed thousands of objects this way)."""

        async def run() -> None:
            server = self.server
            for obj in objects:
                meta = obj["metadata"]
                res = self.resource(obj["apiVersion"], obj["kind"])
                server.rv += 1
                meta["resourceVersion"] = str(server.rv)
                meta.setdefault("uid", f"uid-{meta['name']}-{server.rv}")
                server._objects[(res, meta.get("namespace"), meta["name"])] = obj
            await server._notify()

        self.call(run)

    def modify(
        self, api: str, kind: str, namespace: str, name: str, change: Callable[[Obj], None],
        manager: str = "kubectl-edit",
    ) -> Obj:  # fmt: skip
        res = self.resource(api, kind)

        async def run() -> Obj:
            obj = self.server.current(res, namespace, name)
            assert obj is not None, name
            obj = copy.deepcopy(obj)
            change(obj)
            return await self.server.write(res, namespace, obj, manager=manager)

        result: Obj = self.call(run)
        return result

    def delete(self, api: str, kind: str, namespace: str, name: str) -> Obj:
        result: Obj = self.call(self.server.remove, self.resource(api, kind), namespace, name)
        return result

    def get(self, api: str, kind: str, namespace: str, name: str) -> Obj | None:
        result: Obj | None = self.call(
            self.server.current, self.resource(api, kind), namespace, name
        )
        return result

    def objects(self, api: str, kind: str, namespace: str | None = None) -> list[Obj]:
        result: list[Obj] = self.call(self.server.live, self.resource(api, kind), namespace)
        return result

    def compact(self) -> None:
        self.call(self.server.compact)

    def watches_started(self) -> int:
        return int(self.call(lambda: len(self.server.watch_versions)))

    def drop_watches(self) -> None:
        """Every open watch loses its TCP connection (no clean end, no ERROR event)."""

        async def drop() -> None:
            self.server.drops += 1
            await self.server._notify()

        self.call(drop)

    def cut_next_watches(self, *events: int) -> None:
        """The next watches deliver that many events each, then lose their connection."""
        self.call(lambda: self.server.cuts.extend(events))

    def cuts_pending(self) -> bool:
        """Scripted cuts that have not happened yet (queued, or on an open watch)."""
        return bool(self.call(lambda: bool(self.server.cuts) or self.server.cutting > 0))

    def set_paused(self, paused: bool) -> None:
        def flip() -> None:
            self.server.paused = paused

        self.call(flip)
        self.call(self.server._notify)

    def requests(self, predicate: Callable[[Any], bool]) -> list[Any]:
        return [r for r in self.call(lambda: list(self.server._requests)) if predicate(r)]

    def iter_requests(self) -> Iterator[Any]:
        return iter(self.call(lambda: list(self.server._requests)))


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)
