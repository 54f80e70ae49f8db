"""A simulated cluster: an in-process API server behind the same reflector as KubeCluster.

``SimApiServer`` behaves like kube-apiserver where drifttui can tell the difference:

- resourceVersions from one counter; a no-op write does not bump it;
- server-side defaults on create and update (``core.defaults.apply_server_defaults``, the
  table the diff uses, verified against a real v1.28 server), allocated ``clusterIP`` and
  ``nodePort`` for Services, ``generation`` bumped on spec changes and
  ``status.observedGeneration`` caught up at once;
- managedFields per write (manager, operation, time from the injected clock, subresource,
  fieldsV1; scale writes carry no time; ``cluster/fields.py`` has the ownership rules);
- JSON patch (RFC 6902, ``test`` included, via the ``jsonpatch`` library), merge patch and
  server-side apply (force) with ``dryRun``; 403/409/422 the way the API answers them;
- paged LIST and WATCH from a resourceVersion, with bookmarks, a bounded event history
  (410 Gone below it) and hooks that break watches the ways real ones break
  (``expire_watches``, ``drop_watches``, ``hold_watches``, ``compact``).

``SimulatedCluster`` is the ``Cluster`` over it: ``run_watch`` uses the very reflector
``KubeCluster`` uses (``cluster/reflector.py``), so the demo and the tests exercise the same
list/watch/relist code. It also has the vocabulary of a person at a terminal
(``scale``, ``set_image``, ``edit``, ``label``, ``delete``) for scripted stories
(``cluster/story.py``).
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonpatch

from drifttui.cluster import fields as mf
from drifttui.cluster.kinds import GENERATION_KINDS, api_group, guess_plural, lookup
from drifttui.cluster.protocol import (
    FIELD_MANAGER,
    CorrectionResult,
    JSONObject,
    PatchOp,
)
from drifttui.cluster.reflector import (
    ApiError,
    KindRef,
    ListPage,
    ReflectorCluster,
    TransportError,
    WatchInactiveError,
    WatchSettings,
    where_text,
)
from drifttui.cluster.store import kind_id, trim_object
from drifttui.core.defaults import apply_server_defaults
from drifttui.core.models import ResourceKey
from drifttui.core.quantity import parse_quantity
from drifttui.errors import ClusterError

__all__ = ["SimApiServer", "SimulatedCluster", "json_merge_patch"]

_SERVER_META = ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields")


def _now_text(clock: Callable[[], float]) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))


def _comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without server bookkeeping: what a no-op check compares."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_META}
    out["metadata"] = meta
    return out


@dataclass(slots=True)
class _Entry:
    manager: str
    operation: str
    subresource: str | None
    time: str | None
    fields: frozenset[tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _LogEntry:
    rv: int
    kid: str
    namespace: str
    type: str
    obj: JSONObject


@dataclass(slots=True)
class _Failure:
    verb: str
    kind: str | None
    status: int
    message: str | None
    times: int


class SimApiServer:
    """The in-memory API server. Thread-safe; every method may be called from any thread.

    Stored objects are never changed in place (each write stores a new dict), so readers
    inside this package share them; ``get`` hands out copies.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        history: int = 10_000,
        bookmark_interval_s: float = 15.0,
        user: str = "demo-operator",
    ) -> None:
        self.clock = clock
        self.history = history
        self.bookmark_interval_s = bookmark_interval_s
        self.user = user
        self._cond = threading.Condition(threading.RLock())
        self._objects: dict[tuple[str, str, str], JSONObject] = {}
        self._kinds: dict[str, tuple[str, str]] = {}
        self._rv = 1000
        self._log: list[_LogEntry] = []
        self._log_rvs: list[int] = []
        self._compacted_rv = 0
        self._streams: set[SimWatchStream] = set()
        self._held = 0
        self._failures: list[_Failure] = []
        self._serial = 0
        self.requests: Counter[str] = Counter()
        """Requests served, by verb (list, watch, get, create, update, patch, apply, delete;
        "list" counts whole LISTs, "list-continue" their further pages)."""

    # ----------------------------------------------------------------- helpers

    @property
    def resource_version(self) -> int:
        with self._cond:
            return self._rv

    def _plural(self, api_version: str, kind: str) -> tuple[str, bool]:
        return lookup(api_version, kind) or (guess_plural(kind), True)

    def _check(self, verb: str, api_version: str, kind: str, namespace: str, name: str) -> None:
        """Count the request; raise an injected failure if one matches."""
        self.requests[verb] += 1
        rbac_verb = "patch" if verb == "apply" else verb
        for failure in self._failures:
            if failure.times <= 0 or failure.kind not in (None, kind):
                continue
            if failure.verb not in (verb, rbac_verb):
                continue
            failure.times -= 1
            message = failure.message or self._forbidden(
                rbac_verb, api_version, kind, namespace, name
            )
            self._failures = [f for f in self._failures if f.times > 0]
            raise ApiError(failure.status, "", message)

    def _forbidden(self, verb: str, api_version: str, kind: str, namespace: str, name: str) -> str:
        plural, _ = self._plural(api_version, kind)
        group = api_group(api_version)
        resource = f"{plural}.{group}" if group else plural
        subject = f'{resource} "{name}"' if name else resource
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        return (
            f'{subject} is forbidden: User "{self.user}" cannot {verb} resource "{plural}" '
            f'in API group "{group}"{where}'
        )

    def inject_failure(
        self,
        verb: str,
        status: int,
        message: str | None = None,
        *,
        kind: str | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests of ``verb`` (list, watch, get, create, patch, apply,
        delete; "patch" also covers apply) for ``kind`` fail with ``status``."""
        with self._cond:
            self._failures.append(_Failure(verb, kind, status, message, times))

    def forbid(self, verb: str, kind: str | None = None, *, times: int = 1_000_000) -> None:
        """RBAC says no: ``verb`` on ``kind`` answers 403 Forbidden in the API's words."""
        self.inject_failure(verb, 403, None, kind=kind, times=times)

    def allow_all(self) -> None:
        """Forget every injected failure."""
        with self._cond:
            self._failures.clear()

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    # ----------------------------------------------------------------- reads

    def list_page(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListPage:
        kid = kind_id(api_version, kind)
        with self._cond:
            if continue_token:
                self.requests["list-continue"] += 1
            else:
                self._check("list", api_version, kind, namespace or "", "")
            if continue_token:
                offset_s, _, rv_s = continue_token.partition(":")
                if int(rv_s or 0) < self._compacted_rv:
                    raise ApiError(410, "Gone", "the continue token has expired")
                offset = int(offset_s)
                snapshot_rv = rv_s
            else:
                offset = 0
                snapshot_rv = str(self._rv)
            keys = sorted(
                k for k in self._objects if k[0] == kid and (namespace is None or k[1] == namespace)
            )
            end = len(keys) if not limit else min(len(keys), offset + limit)
            items = [self._objects[k] for k in keys[offset:end]]
            token = f"{end}:{snapshot_rv}" if end < len(keys) else None
            # Every page names the first page's version: a watch from it replays whatever
            # changed while the pages were read.
            return ListPage(items, snapshot_rv, token)

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> JSONObject | None:
        with self._cond:
            self._check("get", api_version, kind, namespace, name)
            obj = self._objects.get((kind_id(api_version, kind), namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def objects(self) -> list[JSONObject]:
        """Every stored object (shared: read-only), for tests and benchmarks."""
        with self._cond:
            return list(self._objects.values())

    def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_s: float,
        inactivity_s: float,
    ) -> SimWatchStream:
        with self._cond:
            self._check("watch", api_version, kind, namespace or "", "")
            since = int(resource_version or self._rv)
            if since < self._compacted_rv:
                raise ApiError(
                    410, "Gone", f"too old resource version: {since} ({self._compacted_rv})"
                )
            stream = SimWatchStream(
                self,
                api_version,
                kind,
                namespace,
                since=since,
                timeout_s=timeout_s,
                inactivity_s=inactivity_s,
            )
            self._streams.add(stream)
            return stream

    def _next_event(self, kid: str, namespace: str | None, cursor: int) -> _LogEntry | None:
        i = bisect.bisect_right(self._log_rvs, cursor)
        while i < len(self._log):
            entry = self._log[i]
            if entry.kid == kid and (namespace is None or entry.namespace == namespace):
                return entry
            i += 1
        return None

    # ----------------------------------------------------------------- watch hooks

    def expire_watches(self) -> None:
        """Every open watch gets ``ERROR 410 Gone`` and ends (the client must relist)."""
        with self._cond:
            for s in self._streams:
                s.expired = True
            self._cond.notify_all()

    def drop_watches(self) -> None:
        """Every open watch breaks like a reset connection (the client re-watches)."""
        with self._cond:
            for s in self._streams:
                s.dropped = True
            self._cond.notify_all()

    def compact(self) -> None:
        """Forget the event history: watches from an older version get 410 Gone, and the
        open ones are expired (what etcd compaction does to a lagging watcher)."""
        with self._cond:
            self._compacted_rv = self._rv
            self._log.clear()
            self._log_rvs.clear()
        self.expire_watches()

    @contextlib.contextmanager
    def hold_watches(self) -> Iterator[None]:
        """Watches go silent (no events, no bookmarks) while writes continue."""
        with self._cond:
            self._held += 1
        try:
            yield
        finally:
            with self._cond:
                self._held -= 1
                self._cond.notify_all()

    @property
    def open_watches(self) -> int:
        with self._cond:
            return len(self._streams)

    # ----------------------------------------------------------------- writes

    def create(
        self,
        obj: Mapping[str, Any],
        *,
        manager: str,
        operation: str = "Update",
        dry_run: bool = False,
        applied: mf.FieldSet | None = None,
    ) -> JSONObject:
        api_version, kind, namespace, name = self._identity(obj)
        with self._cond:
            self._check("create", api_version, kind, namespace, name)
            key = (kind_id(api_version, kind), namespace, name)
            if key in self._objects:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{self._plural(api_version, kind)[0]} "{name}" already exists',
                )
            return self._write(
                key, None, dict(obj), manager, operation, None, dry_run, applied=applied
            )

    def update(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        change: Callable[[JSONObject], JSONObject | None],
        *,
        manager: str,
        verb: str = "update",
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> JSONObject:
        """Read-modify-write: ``change`` gets a private copy of the object and returns the new
        one (or edits the copy in place and returns None)."""
        with self._cond:
            self._check(verb, api_version, kind, namespace, name)
            key = (kind_id(api_version, kind), namespace, name)
            old = self._objects.get(key)
            if old is None:
                raise self._not_found(api_version, kind, name)
            draft = copy.deepcopy(old)
            result = change(draft)
            new = draft if result is None else result
            return self._write(key, old, new, manager, "Update", subresource, dry_run)

    def json_patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        ops: Sequence[Mapping[str, Any]],
        *,
        manager: str,
        dry_run: bool = False,
    ) -> JSONObject:
        def change(draft: JSONObject) -> JSONObject:
            try:
                patched: JSONObject = jsonpatch.apply_patch(draft, list(ops), in_place=False)
            except jsonpatch.JsonPatchTestFailed as exc:
                raise ApiError(422, "Invalid", f"the test operation failed: {exc}") from None
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise ApiError(422, "Invalid", f"the JSON patch does not apply: {exc}") from None
            return patched

        return self.update(
            api_version, kind, namespace, name, change, manager=manager, verb="patch",
            dry_run=dry_run,
        )  # fmt: skip

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Mapping[str, Any],
        *,
        manager: str,
        subresource: str | None = None,
    ) -> JSONObject:
        """RFC 7386 merge patch (None deletes a key), as ``kubectl patch --type=merge``."""
        return self.update(
            api_version,
            kind,
            namespace,
            name,
            lambda draft: json_merge_patch(draft, patch),
            manager=manager,
            verb="patch",
            subresource=subresource,
        )

    def apply(
        self,
        manifest: Mapping[str, Any],
        *,
        manager: str,
        force: bool = True,
        dry_run: bool = False,
    ) -> tuple[JSONObject, bool]:
        """Server-side apply: (object, created). Without ``force`` a field another manager
        owns with a different value is a 409 conflict, as on a real server."""
        api_version, kind, namespace, name = self._identity(manifest)
        config = _clean_manifest(manifest)
        defaulted = apply_server_defaults(config)
        applied = mf.fields_of(config, kind, defaulted)
        with self._cond:
            self._check("apply", api_version, kind, namespace, name)
            key = (kind_id(api_version, kind), namespace, name)
            old = self._objects.get(key)
            if old is None:
                obj = self._write(
                    key, None, config, manager, "Apply", None, dry_run, applied=applied
                )
                return obj, True
            if not force:
                self._check_conflicts(old, config, applied, manager)
            merged = mf.merge_applied(old, config, kind)
            obj = self._write(key, old, merged, manager, "Apply", None, dry_run, applied=applied)
            return obj, False

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> JSONObject:
        with self._cond:
            self._check("delete", api_version, kind, namespace, name)
            key = (kind_id(api_version, kind), namespace, name)
            old = self._objects.pop(key, None)
            if old is None:
                raise self._not_found(api_version, kind, name)
            self._rv += 1
            gone = copy.deepcopy(old)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            self._record(key, "DELETED", gone)
            return gone

    # ----------------------------------------------------------------- internals

    def _identity(self, obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
        api_version = str(obj.get("apiVersion") or "")
        kind = str(obj.get("kind") or "")
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        namespace = str(meta.get("namespace") or "")
        if not api_version or not kind:
            raise ApiError(400, "BadRequest", "Object 'Kind' is missing")
        if not name:
            raise ApiError(422, "Invalid", f"{kind} is invalid: metadata.name: Required value")
        _, namespaced = self._plural(api_version, kind)
        if namespaced and not namespace:
            raise ApiError(400, "BadRequest", "the namespace of the object is required")
        return api_version, kind, namespace if namespaced else "", name

    def _not_found(self, api_version: str, kind: str, name: str) -> ApiError:
        plural, _ = self._plural(api_version, kind)
        group = api_group(api_version)
        resource = f"{plural}.{group}" if group else plural
        return ApiError(404, "NotFound", f'{resource} "{name}" not found')

    def _check_conflicts(
        self, old: Mapping[str, Any], config: Mapping[str, Any], applied: mf.FieldSet, manager: str
    ) -> None:
        conflicts: list[str] = []
        for entry in _entries(old):
            if entry.manager == manager:
                continue
            for path in entry.fields & applied:
                if _value_at(old, path) != _value_at(config, path):
                    conflicts.append(f'conflict with "{entry.manager}": {_dotted(path)}')
        if conflicts:
            raise ApiError(409, "Conflict", "Apply failed with conflicts: " + "; ".join(conflicts))

    def _write(
        self,
        key: tuple[str, str, str],
        old: JSONObject | None,
        new: Mapping[str, Any],
        manager: str,
        operation: str,
        subresource: str | None,
        dry_run: bool,
        *,
        applied: mf.FieldSet | None = None,
    ) -> JSONObject:
        api_version = str(new.get("apiVersion") or (old or {}).get("apiVersion") or "")
        kind = str(new.get("kind") or (old or {}).get("kind") or "")
        obj = apply_server_defaults(dict(new))
        obj["apiVersion"], obj["kind"] = api_version, kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(422, "Invalid", f"{kind} is invalid: metadata: must be an object")
        meta["name"], meta["namespace"] = key[2], key[1]
        if not key[1]:
            meta.pop("namespace", None)
        if kind == "Service":
            self._allocate(obj, old)
        _canonical_resources(obj.get("spec"))
        _validate(obj)
        if old is not None and _comparable(old) == _comparable(obj) and operation != "Apply":
            return copy.deepcopy(old)

        now = None if subresource == "scale" else _now_text(self.clock)
        old_meta = (old or {}).get("metadata") or {}
        if old is None:
            meta["uid"] = str(uuid.UUID(int=self._next_serial() * 7919 + 0x5EED))
            meta["creationTimestamp"] = _now_text(self.clock)
        else:
            for k in ("uid", "creationTimestamp"):
                if k in old_meta:
                    meta[k] = old_meta[k]

        # Ownership.
        entries = _entries(old) if old is not None else []
        if operation == "Apply":
            owned = applied if applied is not None else mf.fields_of(new, kind)
        else:
            owned = mf.changed_fields(_comparable(old) if old else None, _comparable(obj), kind)
        for entry in entries:
            if (entry.manager, entry.operation, entry.subresource) != (
                manager,
                operation,
                subresource,
            ):
                entry.fields = entry.fields - owned
        mine = next(
            (
                e
                for e in entries
                if (e.manager, e.operation, e.subresource) == (manager, operation, subresource)
            ),
            None,
        )
        if mine is None:
            mine = _Entry(manager, operation, subresource, now, frozenset())
            entries.append(mine)
        mine.fields = owned if operation == "Apply" else (mine.fields | owned)
        mine.time = now
        for entry in entries:
            entry.fields = mf.prune(entry.fields, obj)
        entries = [e for e in entries if e.fields or (e is mine and operation == "Apply")]

        if old is not None and _comparable(old) == _comparable(obj):
            before = [(e.manager, e.operation, e.subresource, e.fields) for e in _entries(old)]
            after = [(e.manager, e.operation, e.subresource, e.fields) for e in entries]
            if before == after:  # a no-op apply: nothing changes, not even the version
                return copy.deepcopy(old)

        meta["managedFields"] = [_entry_json(api_version, e) for e in entries]
        if kind in GENERATION_KINDS:
            generation = int(old_meta.get("generation") or 0)
            if old is None or obj.get("spec") != old.get("spec"):
                generation += 1
            meta["generation"] = max(generation, 1)
            status = dict(obj.get("status") or (old or {}).get("status") or {})
            status["observedGeneration"] = meta["generation"]
            if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
                replicas = (obj.get("spec") or {}).get("replicas")
                if isinstance(replicas, int):
                    status["replicas"] = replicas
            obj["status"] = status
        elif kind == "Service":
            obj["status"] = {"loadBalancer": {}}

        if dry_run:
            meta["resourceVersion"] = old_meta.get("resourceVersion", "")
            return obj
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._objects[key] = obj
        self._kinds[key[0]] = (api_version, kind)
        self._record(key, "ADDED" if old is None else "MODIFIED", obj)
        return copy.deepcopy(obj)

    def _record(self, key: tuple[str, str, str], event: str, obj: JSONObject) -> None:
        self._log.append(_LogEntry(self._rv, key[0], key[1], event, obj))
        self._log_rvs.append(self._rv)
        if len(self._log) > self.history:
            drop = len(self._log) - self.history // 2
            self._compacted_rv = self._log_rvs[drop - 1]
            del self._log[:drop]
            del self._log_rvs[:drop]
        self._cond.notify_all()

    def _allocate(self, obj: JSONObject, old: JSONObject | None) -> None:
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        if spec.get("type") == "ExternalName":
            return
        if not spec.get("clusterIP"):
            if old_spec.get("clusterIP"):
                ip = old_spec["clusterIP"]
            else:
                n = self._next_serial()
                ip = f"10.96.{(n // 250) % 250}.{n % 250 + 2}"
            spec["clusterIP"] = ip
        if spec.get("clusterIP") != "None":
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            previous = {
                p.get("port"): p.get("nodePort")
                for p in old_spec.get("ports") or []
                if isinstance(p, dict)
            }
            for port in spec.get("ports") or []:
                if isinstance(port, dict) and not port.get("nodePort"):
                    port["nodePort"] = previous.get(port.get("port")) or (
                        30000 + (self._next_serial() * 37) % 2768
                    )


class SimWatchStream:
    """One WATCH on the simulated server: events after ``since``, bookmarks when idle,
    the server-side timeout, and the failure modes the hooks inject."""

    def __init__(
        self,
        server: SimApiServer,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        since: int,
        timeout_s: float,
        inactivity_s: float,
    ) -> None:
        self.server = server
        self.api_version = api_version
        self.kind = kind
        self.kid = kind_id(api_version, kind)
        self.namespace = namespace
        self.cursor = since
        self.timeout_s = timeout_s
        self.inactivity_s = inactivity_s
        self.expired = False
        self.dropped = False
        self.interrupted = False

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        server = self.server
        cond = server._cond
        start = time.monotonic()
        deadline = start + self.timeout_s
        last_sent = start
        try:
            while True:
                with cond:
                    event: Mapping[str, Any] | None = None
                    while event is None:
                        now = time.monotonic()
                        if self.interrupted:
                            return
                        if self.dropped:
                            raise TransportError("connection reset by peer")
                        if self.expired:
                            event = {
                                "type": "ERROR",
                                "object": {
                                    "kind": "Status",
                                    "apiVersion": "v1",
                                    "status": "Failure",
                                    "reason": "Expired",
                                    "code": 410,
                                    "message": f"too old resource version: {self.cursor}",
                                },
                            }
                            break
                        held = server._held > 0
                        if not held:
                            entry = server._next_event(self.kid, self.namespace, self.cursor)
                            if entry is not None:
                                self.cursor = entry.rv
                                event = {"type": entry.type, "object": entry.obj}
                                break
                            if now >= deadline:
                                return
                            if now - last_sent >= server.bookmark_interval_s:
                                self.cursor = max(self.cursor, server._rv)
                                event = self._bookmark()
                                break
                            wait = min(
                                deadline - now, server.bookmark_interval_s - (now - last_sent)
                            )
                        else:
                            if now - last_sent >= self.inactivity_s:
                                raise WatchInactiveError(
                                    f"no event for {self.inactivity_s:g} s: the stream is dead"
                                )
                            wait = self.inactivity_s - (now - last_sent)
                        cond.wait(max(0.001, wait))
                last_sent = time.monotonic()
                yield event
                if event.get("type") == "ERROR":
                    return
        finally:
            with cond:
                server._streams.discard(self)

    def _bookmark(self) -> Mapping[str, Any]:
        return {
            "type": "BOOKMARK",
            "object": {
                "apiVersion": self.api_version,
                "kind": self.kind,
                "metadata": {"resourceVersion": str(self.cursor)},
            },
        }

    def interrupt(self) -> None:
        with self.server._cond:
            self.interrupted = True
            self.server._cond.notify_all()

    def close(self) -> None:
        self.interrupt()


class SimTransport:
    """The reflector's transport over a SimApiServer (no HTTP)."""

    def __init__(self, server: SimApiServer) -> None:
        self.server = server

    def list_page(
        self, kind: KindRef, namespace: str | None, *, limit: int, continue_token: str | None
    ) -> ListPage:
        return self.server.list_page(
            kind[0], kind[1], namespace, limit=limit, continue_token=continue_token
        )

    def open_watch(
        self,
        kind: KindRef,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_s: int,
        inactivity_s: float,
    ) -> SimWatchStream:
        return self.server.watch(
            kind[0],
            kind[1],
            namespace,
            resource_version=resource_version,
            timeout_s=timeout_s,
            inactivity_s=inactivity_s,
        )


# --------------------------------------------------------------------------- the Cluster


class SimulatedCluster(ReflectorCluster):
    """The ``Cluster`` protocol over a :class:`SimApiServer` (see the module docstring).

    ``namespace`` is where manifests without one go. ``clock`` gives wall time (epoch
    seconds) for managedFields and creation times; inject a fixed one for reproducible
    screenshots.
    """

    def __init__(
        self,
        name: str = "simulated",
        *,
        namespace: str = "default",
        clock: Callable[[], float] = time.time,
        settings: WatchSettings | None = None,
        history: int = 10_000,
        bookmark_interval_s: float = 15.0,
    ) -> None:
        super().__init__(name, settings)
        self.namespace = namespace
        self.server = SimApiServer(
            clock=clock, history=history, bookmark_interval_s=bookmark_interval_s
        )
        self.transport = SimTransport(self.server)

    # ----------------------------------------------------------------- Cluster: reads

    def _list_objects(
        self, kinds: Sequence[tuple[str, str, str]], namespace: str | None
    ) -> list[JSONObject]:
        out: list[JSONObject] = []
        for kind in kinds:
            token: str | None = None
            while True:
                try:
                    page = self.server.list_page(
                        kind[0], kind[1], namespace, limit=self.settings.page_size,
                        continue_token=token,
                    )  # fmt: skip
                except ApiError as exc:
                    raise ClusterError(self.describe("list", kind, namespace, exc)) from None
                out.extend(trim_object(o, kind[0], kind[1]) for o in page.items)
                token = page.continue_token
                if not token:
                    break
        return out

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> JSONObject | None:
        try:
            obj = self.server.get(api_version, kind, namespace, name)
        except ApiError as exc:
            raise ClusterError(
                self.describe("get", (api_version, kind, ""), namespace, exc)
            ) from None
        return trim_object(obj) if obj is not None else None

    # ----------------------------------------------------------------- Cluster: writes

    def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        ops: Sequence[PatchOp],
        *,
        dry_run: bool = False,
    ) -> CorrectionResult:
        key = ResourceKey(api_group(api_version), kind, namespace, name)
        try:
            obj = self.server.json_patch(
                api_version,
                kind,
                namespace,
                name,
                [op.as_dict() for op in ops],
                manager=FIELD_MANAGER,
                dry_run=dry_run,
            )
        except ApiError as exc:
            return CorrectionResult(
                key, False, dry_run, "patch", tuple(ops), status=exc.status, error=exc.message
            )
        return CorrectionResult(key, True, dry_run, "patch", tuple(ops), result=trim_object(obj))

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> CorrectionResult:
        manifest = self._with_namespace(manifest)
        try:
            key = ResourceKey.of(manifest)
        except (KeyError, TypeError):
            key = ResourceKey("", str(manifest.get("kind") or "?"), "", "?")
        try:
            obj, created = self.server.apply(manifest, manager=FIELD_MANAGER, dry_run=dry_run)
        except ApiError as exc:
            return CorrectionResult(
                key, False, dry_run, "apply", status=exc.status, error=exc.message
            )
        return CorrectionResult(
            key, True, dry_run, "create" if created else "apply", result=trim_object(obj)
        )

    # ----------------------------------------------------------------- set-up and people

    def _with_namespace(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(manifest)
        meta = dict(out.get("metadata") or {})
        api_version, kind = str(out.get("apiVersion") or ""), str(out.get("kind") or "")
        namespaced = (lookup(api_version, kind) or ("", True))[1]
        if namespaced and not meta.get("namespace"):
            meta["namespace"] = self.namespace
        out["metadata"] = meta
        return out

    def seed(
        self, manifests: Sequence[Mapping[str, Any]], manager: str = "confighub"
    ) -> list[JSONObject]:
        """Create the initial objects from desired manifests by server-side apply (as
        ConfigHub's apply does), then let the autoscalers bring their targets into range."""
        created = [
            self.server.apply(self._with_namespace(m), manager=manager)[0] for m in manifests
        ]
        self.reconcile_autoscalers()
        return created

    def reconcile_autoscalers(self) -> None:
        """What the HPA controller does at start: targets below minReplicas (or above max)
        are scaled into range by ``kube-controller-manager`` through the scale subresource."""
        for hpa in [o for o in self.server.objects() if o.get("kind") == "HorizontalPodAutoscaler"]:
            spec = hpa.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            ns = (hpa.get("metadata") or {}).get("namespace") or ""
            target = self.server.get(
                ref.get("apiVersion", "apps/v1"), ref.get("kind", ""), ns, ref.get("name", "")
            )
            if target is None:
                continue
            replicas = int((target.get("spec") or {}).get("replicas") or 1)
            lo, hi = int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or replicas)
            wanted = max(lo, min(hi, replicas))
            if wanted != replicas:
                self.scale(
                    ref.get("kind", ""), ns, ref.get("name", ""), wanted,
                    manager="kube-controller-manager", api_version=ref.get("apiVersion", "apps/v1"),
                )  # fmt: skip

    def scale(
        self,
        kind: str,
        namespace: str,
        name: str,
        replicas: int,
        *,
        manager: str = "kubectl",
        api_version: str = "apps/v1",
    ) -> JSONObject:
        """``kubectl scale``: spec.replicas through the scale subresource (no time)."""

        def change(draft: JSONObject) -> None:
            draft.setdefault("spec", {})["replicas"] = replicas

        return self.server.update(
            api_version, kind, namespace, name, change, manager=manager, verb="patch",
            subresource="scale",
        )  # fmt: skip

    def set_image(
        self,
        kind: str,
        namespace: str,
        name: str,
        container: str,
        image: str,
        *,
        manager: str = "kubectl-set",
        api_version: str = "apps/v1",
    ) -> JSONObject:
        """``kubectl set image``."""

        def change(draft: JSONObject) -> None:
            for c in draft["spec"]["template"]["spec"]["containers"]:
                if c.get("name") == container:
                    c["image"] = image
                    return
            raise ApiError(422, "Invalid", f'unable to find container named "{container}"')

        return self.server.update(
            api_version, kind, namespace, name, change, manager=manager, verb="patch"
        )

    def edit(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        merge_patch: Mapping[str, Any],
        *,
        manager: str = "kubectl-edit",
    ) -> JSONObject:
        """``kubectl edit`` / ``kubectl patch --type=merge``: a merge patch by a person."""
        return self.server.merge_patch(
            api_version, kind, namespace, name, merge_patch, manager=manager
        )

    def label(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        labels: Mapping[str, str | None],
        *,
        manager: str = "kubectl-label",
    ) -> JSONObject:
        """``kubectl label`` (None removes a label)."""
        return self.server.merge_patch(
            api_version, kind, namespace, name, {"metadata": {"labels": dict(labels)}},
            manager=manager,
        )  # fmt: skip

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> JSONObject:
        """``kubectl delete``."""
        return self.server.delete(api_version, kind, namespace, name)

    def describe(self, verb: str, kind: KindRef, namespace: str | None, exc: Exception) -> str:
        where = f"{where_text(namespace)} (cluster {self._name})"
        return f"cannot {verb} {kind[0]} {kind[1]} {where}: {_short(exc)}"


# --------------------------------------------------------------------------- helpers


def _short(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.status} {exc.reason}" + (f": {exc.message}" if exc.message else "")
    return str(exc) or type(exc).__name__


def _clean_manifest(manifest: Mapping[str, Any]) -> JSONObject:
    """A desired manifest as apply sends it: no server bookkeeping, no status."""
    out = {k: copy.deepcopy(v) for k, v in manifest.items() if k != "status"}
    meta = {k: v for k, v in (out.get("metadata") or {}).items() if k not in _SERVER_META}
    out["metadata"] = meta
    return out


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: ``patch`` merged into ``target`` (None deletes a key), a new object."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = json_merge_patch(out.get(key), value)
    return out


def _entries(obj: Mapping[str, Any] | None) -> list[_Entry]:
    out: list[_Entry] = []
    for e in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        out.append(
            _Entry(
                str(e.get("manager") or ""),
                str(e.get("operation") or ""),
                e.get("subresource"),
                e.get("time"),
                mf.from_fields_v1(e.get("fieldsV1") or {}),
            )
        )
    return out


def _entry_json(api_version: str, e: _Entry) -> JSONObject:
    out: JSONObject = {
        "apiVersion": api_version,
        "fieldsType": "FieldsV1",
        "fieldsV1": mf.to_fields_v1(e.fields),
        "manager": e.manager,
        "operation": e.operation,
    }
    if e.subresource:
        out["subresource"] = e.subresource
    if e.time:
        out["time"] = e.time
    return out


def _value_at(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = obj
    for tok in path:
        if tok == ".":
            continue
        if tok.startswith("f:"):
            cur = cur.get(tok[2:]) if isinstance(cur, Mapping) else None
        elif tok.startswith("k:"):
            cur = mf._find_item(cur, tok)
        if cur is None:
            return None
    return cur


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(t[2:] if t.startswith("f:") else f"[{t[2:]}]" for t in path if t != ".")


_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_DECIMAL = ("n", "u", "m", "", "k", "M", "G", "T", "P", "E")


def canonical_quantity(value: Any) -> Any:
    """A quantity as the API server stores it: ``"0.25"`` -> ``"250m"``, ``"0.5Gi"`` ->
    ``"512Mi"``, ``"1000M"`` -> ``"1G"``, ``1`` -> ``"1"``. Anything else is returned as is."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value
    text = str(value).strip()
    amount = parse_quantity(text)
    if amount is None or "e" in text.lower():
        return value
    if amount == 0:
        return "0"
    if text.endswith(tuple(s for s, _ in _BINARY)) and amount == amount.to_integral_value():
        whole = int(amount)
        if abs(whole) >= 1024:
            for suffix, size in _BINARY:
                if whole % size == 0:
                    return f"{whole // size}{suffix}"
            return str(whole)
    for i in range(len(_DECIMAL) - 1, -1, -1):
        scaled = amount / (Decimal(10) ** (3 * (i - 3)))
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{_DECIMAL[i]}"
    nanos = (amount * Decimal(10) ** 9).to_integral_value(rounding="ROUND_CEILING")
    return f"{int(nanos)}n"


def _canonical_resources(value: Any) -> None:
    """Canonicalise every ``resources.requests`` / ``resources.limits`` quantity in place."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if key == "resources" and isinstance(sub, dict):
                for part in ("requests", "limits"):
                    amounts = sub.get(part)
                    if isinstance(amounts, dict):
                        for name, amount in amounts.items():
                            amounts[name] = canonical_quantity(amount)
            else:
                _canonical_resources(sub)
    elif isinstance(value, list):
        for item in value:
            _canonical_resources(item)


def _validate(obj: Mapping[str, Any]) -> None:
    """The validation errors a correction can run into (422 Invalid, the API's wording)."""
    kind = obj.get("kind")
    name = (obj.get("metadata") or {}).get("name")
    spec = obj.get("spec")
    problems: list[str] = []
    if kind in ("Deployment", "StatefulSet", "ReplicaSet") and isinstance(spec, Mapping):
        replicas = spec.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            problems.append("spec.replicas: Invalid value: must be greater than or equal to 0")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    pod = template.get("spec") if isinstance(template, Mapping) else None
    if isinstance(pod, Mapping):
        volumes = {v.get("name") for v in pod.get("volumes") or [] if isinstance(v, Mapping)}
        for claim in (spec.get("volumeClaimTemplates") or []) if isinstance(spec, Mapping) else []:
            if isinstance(claim, Mapping):  # a StatefulSet mounts its claims by name
                volumes.add((claim.get("metadata") or {}).get("name"))
        containers = pod.get("containers") or []
        if not containers:
            problems.append("spec.template.spec.containers: Required value")
        for i, c in enumerate(containers):
            if not isinstance(c, Mapping):
                continue
            if not c.get("image"):
                problems.append(f"spec.template.spec.containers[{i}].image: Required value")
            for j, m in enumerate(c.get("volumeMounts") or []):
                if isinstance(m, Mapping) and m.get("name") not in volumes:
                    problems.append(
                        f"spec.template.spec.containers[{i}].volumeMounts[{j}].name: "
                        f'Not found: "{m.get("name")}"'
                    )
    if kind == "Service" and isinstance(spec, Mapping):
        for i, p in enumerate(spec.get("ports") or []):
            port = p.get("port") if isinstance(p, Mapping) else None
            if not isinstance(port, int) or not 0 < port < 65536:
                problems.append(f"spec.ports[{i}].port: Invalid value: {port!r}")
    if problems:
        raise ApiError(422, "Invalid", f'{kind} "{name}" is invalid: ' + ", ".join(problems))
