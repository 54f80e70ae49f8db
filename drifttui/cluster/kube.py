"""KubeCluster: the ``Cluster`` protocol on the official ``kubernetes`` client.

The client does what it is good at (kubeconfig, contexts, in-cluster config, exec and OIDC
token refresh, TLS, the connection pool): every request goes through its
``ApiClient.param_serialize`` / ``call_api`` with a ``(connect, read)`` timeout, and the
response is read raw and parsed as JSON here (fast paged LISTs, no model objects). Its
``watch.Watch`` is not used (drift-rules.md 4.4): watch lines are streamed by
:class:`KubeWatchStream` under the shared reflector (``cluster/reflector.py``).

Corrections: ``patch`` sends ``application/json-patch+json`` and ``apply`` server-side apply
(``application/apply-patch+yaml``, ``force=true``), both with field manager ``drifttui``
and ``dryRun=All`` for previews. API refusals (403, 404, 409, 422, ...) and network failures
come back as ``CorrectionResult(ok=False)`` carrying the API's own message, never raised.

Errors for people are one line: what, where (kind, namespace, context), what to do:
``cannot list apps/v1 Deployment in "shop" (context prod-eu): 403 Forbidden; grant
list/watch or narrow --namespace``. Tokens never appear: messages name the host at most.

``kubernetes`` is imported when a KubeCluster is built, not when this module is imported, and
only its ``client`` and ``config`` parts (``cluster/kubeimport.py``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from drifttui.cluster.kinds import api_group, lookup, resource_path
from drifttui.cluster.kubeimport import client_and_config
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
from drifttui.cluster.store import trim_object
from drifttui.core.models import ResourceKey
from drifttui.errors import ClusterError

if TYPE_CHECKING:
    from drifttui.config import Settings
    from drifttui.core.models import Environment

log = logging.getLogger(__name__)

__all__ = ["KubeCluster", "KubeTransport", "KubeWatchStream", "load_configuration"]

_SERVER_META = ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields")


# --------------------------------------------------------------------------- config


def load_configuration(
    kubeconfig: str | None = None, context: str | None = None, *, in_cluster: bool = False
) -> tuple[Any, str, str | None]:
    """(kubernetes Configuration, context name, the context's default namespace).

    Order: ``in_cluster`` when asked; else the kubeconfig (``kubeconfig``, or the client's
    default: KUBECONFIG or ~/.kube/config) with ``context`` or its current context; else,
    with no kubeconfig at all and no context asked for, the in-cluster service account.
    Raises ClusterError with one line on any problem.
    """
    client, config = client_and_config()
    ConfigException = config.ConfigException  # noqa: N806

    cfg = client.Configuration()
    if in_cluster:
        try:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except ConfigException as exc:
            raise ClusterError(
                f"cannot use the in-cluster service account ({exc})",
                hint="run inside a pod with a service account, or give a kubeconfig",
            ) from None
        return cfg, "in-cluster", _incluster_namespace()

    path = kubeconfig or config.KUBE_CONFIG_DEFAULT_LOCATION
    files = [os.path.expanduser(p) for p in str(path).split(os.pathsep) if p]
    if not any(os.path.exists(f) for f in files):
        if kubeconfig is None and context is None:
            try:  # no kubeconfig anywhere: perhaps we run in a pod
                config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
                return cfg, "in-cluster", _incluster_namespace()
            except ConfigException:
                pass
        raise ClusterError(
            f"no kubeconfig at {path}",
            hint="set KUBECONFIG (or kubeconfig in the config file) to your cluster's kubeconfig",
        )
    try:
        contexts, current = config.list_kube_config_contexts(config_file=str(path))  # type: ignore[no-untyped-call]
    except ConfigException as exc:
        if "current-context" not in str(exc):
            raise ClusterError(
                f"the kubeconfig does not load ({str(exc).replace(f' in {path}', '')})",
                str(path),
                "check it with: kubectl config view",
            ) from None
        # no current-context: usable with a context named (as kubectl --context is)
        contexts, current = _contexts_of(str(path)), None
    except OSError as exc:  # a directory, unreadable
        raise ClusterError(
            f"cannot read the kubeconfig ({exc.strerror or type(exc).__name__})",
            str(path),
            "KUBECONFIG names the kubeconfig file(s)",
        ) from None
    except Exception as exc:  # yaml errors and the like
        # the position only: a YAML error's text quotes the file, which holds credentials
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ClusterError(
            f"the kubeconfig does not parse{at} ({type(exc).__name__})",
            str(path),
            "check it with: kubectl config view",
        ) from None
    names = [c.get("name") for c in contexts or [] if isinstance(c, Mapping)]
    chosen = context or (current or {}).get("name")
    if not chosen:
        raise ClusterError(
            "the kubeconfig has no current context",
            str(path),
            hint="pick one with KUBE_CONTEXT or an environment's context: in --config "
            f"({', '.join(map(str, names)) or 'none defined'})",
        )
    if chosen not in names:
        raise ClusterError(
            f"context {chosen!r} not found",
            str(path),
            hint=f"known contexts: {', '.join(map(str, names)) or 'none'}",
        )
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(path), context=chosen, client_configuration=cfg, persist_config=False
        )
    except ConfigException as exc:
        raise ClusterError(
            f"context {chosen!r} cannot be used ({_no_secrets(str(exc))})", str(path)
        ) from None
    entry = next(c for c in contexts if c.get("name") == chosen)
    namespace = (entry.get("context") or {}).get("namespace")
    return cfg, str(chosen), namespace


def _contexts_of(path: str) -> list[Mapping[str, Any]]:
    """The contexts of a kubeconfig that names no current-context (which the client's own
    listing refuses)."""
    from kubernetes.config.kube_config import KubeConfigMerger

    merged = KubeConfigMerger(path)  # type: ignore[no-untyped-call]
    out: list[Mapping[str, Any]] = []
    for node in merged.config.value.get("contexts") or []:
        value = getattr(node, "value", node)
        if isinstance(value, Mapping):
            out.append(value)
    return out


def _incluster_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _no_secrets(text: str) -> str:
    """Client messages should not carry credentials; cut anything token-like to be sure."""
    words = []
    for word in text.split():
        lowered = word.lower()
        if len(word) > 40 or "token" in lowered or "password" in lowered:
            words.append("***")
        else:
            words.append(word)
    return " ".join(words)[:300]


# --------------------------------------------------------------------------- transport


class KubeWatchStream:
    """Watch events from a raw urllib3 response, line by line.

    The socket read timeout is the inactivity timeout; a stream that trickles bytes without
    ever finishing an event is caught too. ``interrupt`` shuts the socket down from another
    thread so a blocked read returns at once.
    """

    def __init__(self, response: Any, inactivity_s: float) -> None:
        self._resp = response
        self._inactivity_s = inactivity_s
        self._interrupted = False

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        import urllib3

        resp = self._resp
        buf = b""
        last = time.monotonic()
        while True:
            try:
                chunk = resp.read1(65536)
            except (urllib3.exceptions.HTTPError, OSError, ValueError, AttributeError) as exc:
                if self._interrupted:
                    return
                if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError):
                    raise WatchInactiveError(
                        f"no event for {self._inactivity_s:g} s: the stream is dead"
                    ) from None
                raise TransportError(f"the watch stream broke ({_reason(exc)})") from None
            if not chunk:
                return
            buf += chunk
            if b"\n" in buf:
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        raise TransportError("a watch event is not JSON") from None
                    last = time.monotonic()
                    if isinstance(event, Mapping):
                        yield event
            if time.monotonic() - last > self._inactivity_s:
                raise WatchInactiveError(
                    f"no complete event for {self._inactivity_s:g} s: the stream is dead"
                )

    def interrupt(self) -> None:
        self._interrupted = True
        try:
            self._resp.shutdown()
        except Exception:
            try:
                self._resp.close()
            except Exception:  # pragma: no cover - best effort
                pass

    def close(self) -> None:
        try:
            self._resp.close()
            self._resp.release_conn()
        except Exception:  # pragma: no cover - best effort
            pass


def _reason(exc: BaseException) -> str:
    """The innermost, shortest useful reason of a urllib3/socket error."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    reason = str(exc)
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        inner = getattr(cur, "reason", None)
        if isinstance(inner, BaseException):
            cur = inner
            reason = str(inner)
            continue
        cur = cur.__cause__ or cur.__context__
    text = " ".join(reason.split())
    if "IncompleteRead" in text or "Connection broken" in text or "reset by peer" in text:
        return "connection lost"
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if "timed out" in text.lower():
        return "timed out"
    return _no_secrets(text)[:160] or type(exc).__name__


class KubeTransport:
    """Raw JSON requests through the official client's ApiClient (auth, TLS, pool)."""

    def __init__(self, api_client: Any, settings: WatchSettings) -> None:
        self.api = api_client
        self.settings = settings
        self._kinds: dict[tuple[str, str], tuple[str, bool]] = {}
        self._kinds_lock = threading.Lock()

    @property
    def host(self) -> str:
        return str(self.api.configuration.host)

    # ----------------------------------------------------------------- requests

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        read_timeout_s: float | None = None,
    ) -> Any:
        """Send a request; the urllib3 response, unread. Raises TransportError."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        timeout = (
            self.settings.connect_timeout_s,
            read_timeout_s if read_timeout_s is not None else self.settings.request_timeout_s,
        )
        try:
            request = self.api.param_serialize(
                method=method,
                resource_path=path,
                query_params=list(query),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            return self.api.call_api(*request, _request_timeout=timeout).response
        except ApiException as exc:  # raised for TLS errors with status 0
            raise TransportError(f"cannot connect to {self.host} ({_reason(exc)})") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            inner = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
            if isinstance(inner, urllib3.exceptions.ReadTimeoutError):
                raise TransportError(f"{self.host} did not answer in {timeout[1]:g} s") from None
            raise TransportError(f"cannot connect to {self.host} ({_reason(exc)})") from None

    def call_bytes(self, method: str, path: str, **kwargs: Any) -> tuple[int, bytes]:
        """(status, body) of a 2xx answer; ApiError for any other status."""
        import urllib3

        resp = self.call(method, path, **kwargs)
        try:
            data = resp.data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransportError(f"the answer from {self.host} broke ({_reason(exc)})") from None
        finally:
            resp.release_conn()
        if not 200 <= resp.status < 300:
            raise _api_error(resp.status, data)
        return resp.status, data or b""

    def call_json(
        self,
        method: str,
        path: str,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """(status, parsed body) of a 2xx answer; ApiError for any other status."""
        status, data = self.call_bytes(method, path, **kwargs)
        return status, self._json(data)

    def _json(self, data: bytes) -> Any:
        try:
            return json.loads(data) if data else None
        except ValueError:
            raise TransportError(f"{self.host} answered with something that is not JSON") from None

    # ----------------------------------------------------------------- kinds

    def resolve(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind: the table, else the API's discovery."""
        known = lookup(api_version, kind)
        if known:
            return known
        with self._kinds_lock:
            cached = self._kinds.get((api_version, kind))
        if cached:
            return cached
        base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        _, doc = self.call_json("GET", base)
        for res in (doc or {}).get("resources") or []:
            if res.get("kind") == kind and "/" not in str(res.get("name")):
                found = (str(res["name"]), bool(res.get("namespaced")))
                with self._kinds_lock:
                    self._kinds[(api_version, kind)] = found
                return found
        raise ApiError(404, "NotFound", f"the API {api_version} serves no kind {kind}")

    def path(self, kind: KindRef, namespace: str | None, name: str | None = None) -> str:
        api_version, kind_name, plural = kind
        with self._kinds_lock:
            known = lookup(api_version, kind_name) or self._kinds.get((api_version, kind_name))
        namespaced = known[1] if known else True
        return resource_path(api_version, plural, namespace if namespaced else None, name)

    # ----------------------------------------------------------------- WatchTransport

    def list_page(
        self, kind: KindRef, namespace: str | None, *, limit: int, continue_token: str | None
    ) -> ListPage:
        return self.parse_page(
            self.list_page_bytes(kind, namespace, limit=limit, continue_token=continue_token)
        )

    def list_page_bytes(
        self, kind: KindRef, namespace: str | None, *, limit: int, continue_token: str | None
    ) -> bytes:
        """One LIST page as the server sent it (ApiError, TransportError)."""
        query = [("limit", str(limit))]
        if continue_token:
            query.append(("continue", continue_token))
        return self.call_bytes("GET", self.path(kind, namespace), query=query)[1]

    def parse_page(self, data: bytes) -> ListPage:
        doc = self._json(data)
        meta = (doc or {}).get("metadata") or {}
        return ListPage(
            list((doc or {}).get("items") or []),
            str(meta.get("resourceVersion") or ""),
            meta.get("continue") or None,
        )

    def open_watch(
        self,
        kind: KindRef,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_s: int,
        inactivity_s: float,
    ) -> KubeWatchStream:
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(int(timeout_s))),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        resp = self.call(
            "GET", self.path(kind, namespace), query=query, read_timeout_s=inactivity_s
        )
        if resp.status != 200:
            try:
                data = resp.data
            finally:
                resp.release_conn()
            raise _api_error(resp.status, data)
        return KubeWatchStream(resp, inactivity_s)


def _api_error(status: int, data: bytes | None) -> ApiError:
    reason, message = "", ""
    try:
        doc = json.loads(data or b"")
        if isinstance(doc, Mapping):
            reason = str(doc.get("reason") or "")
            message = str(doc.get("message") or "")
    except ValueError:
        message = (data or b"")[:200].decode("utf-8", "replace")
    # The API's reason words are CamelCase ("Forbidden", "NotFound"); keep the HTTP phrase.
    return ApiError(status, "", " ".join(message.split())[:500] or reason)


# --------------------------------------------------------------------------- the Cluster


_HINTS = {
    401: "the credentials were rejected: log in again or check the kubeconfig user",
    404: "the cluster does not serve this kind: check the apiVersion or install its CRD",
    429: "the API server is throttling: it will be retried",
}


class KubeCluster(ReflectorCluster):
    """A cluster seen through one kube context (and optionally one namespace).

    Build it from a kubeconfig and context (``KubeCluster(context="prod-eu")``), the
    in-cluster service account (``in_cluster=True``), or a ready ``configuration`` (a
    ``kubernetes.client.Configuration``, as the tests do). ``namespace`` is where manifests
    without one are applied (default: the context's namespace, else ``default``).
    """

    transport: KubeTransport

    def __init__(
        self,
        *,
        context: str | None = None,
        kubeconfig: str | None = None,
        namespace: str | None = None,
        in_cluster: bool = False,
        configuration: Any = None,
        settings: WatchSettings | None = None,
        name: str | None = None,
    ) -> None:
        client, _ = client_and_config()

        if configuration is None:
            configuration, context_name, ctx_namespace = load_configuration(
                kubeconfig, context, in_cluster=in_cluster
            )
        else:
            context_name, ctx_namespace = context or "custom", None
        if configuration.connection_pool_maxsize is None or (
            configuration.connection_pool_maxsize < 32
        ):
            configuration.connection_pool_maxsize = 32  # one watch per kind, plus requests
        if configuration.retries is None:
            import urllib3

            # urllib3 would silently repeat a timed-out read (a slow LIST, a silent watch)
            # three times; the reflector retries with backoff and reports each failure.
            configuration.retries = urllib3.Retry(
                total=2, connect=2, read=0, status=0, other=0, redirect=2
            )
        super().__init__(name or context_name, settings)
        self.context = context_name
        self.namespace = namespace or ctx_namespace or "default"
        self._api = client.ApiClient(configuration)
        self.transport = KubeTransport(self._api, self.settings)

    @classmethod
    def from_environment(cls, env: Environment, settings: Settings) -> KubeCluster:
        """The cluster of one configured environment (its context and namespace)."""
        return cls(
            context=env.context,
            kubeconfig=settings.kubeconfig,
            namespace=env.namespace,
            name=env.context or env.name,
        )

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> KubeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- errors

    def describe(self, verb: str, kind: KindRef, namespace: str | None, exc: Exception) -> str:
        """The one line for a failed request, hint included."""
        line, hint = self._describe_parts(verb, kind, namespace, exc)
        return f"{line}; {hint}" if hint else line

    def _describe_parts(
        self, verb: str, kind: KindRef, namespace: str | None, exc: Exception
    ) -> tuple[str, str | None]:
        head = f"cannot {verb} {kind[0]} {kind[1]} {where_text(namespace)} (context {self.context})"
        if isinstance(exc, ApiError):
            line = f"{head}: {exc.status} {exc.reason}"
            if exc.status == 403:
                verbs = "list/watch" if verb in ("list", "watch") else verb
                return line, f"grant {verbs} or narrow --namespace"
            hint = _HINTS.get(exc.status)
            if hint is None and exc.message:
                line = f"{line} ({exc.message[:200]})"
            return line, hint
        if isinstance(exc, TransportError):
            return (
                f"{head}: {exc}",
                "check that the cluster is reachable (kubectl cluster-info) and the context",
            )
        return f"{head}: {type(exc).__name__}", None

    def _error(
        self, verb: str, kind: KindRef, namespace: str | None, exc: Exception
    ) -> ClusterError:
        line, hint = self._describe_parts(verb, kind, namespace, exc)
        return ClusterError(line, hint=hint)

    # ----------------------------------------------------------------- Cluster: reads

    def _list_objects(
        self, kinds: Sequence[tuple[str, str, str]], namespace: str | None
    ) -> list[JSONObject]:
        """Every kind's LIST at once (one thread each: the waits overlap, against a remote
        API server most of the time), the objects in the order of ``kinds``; the error of
        the first kind that failed, as listing them one after another would raise."""
        if not kinds:
            return []
        results: list[list[JSONObject] | BaseException] = [[] for _ in kinds]

        def list_one(i: int) -> None:
            try:
                results[i] = self._list_kind(kinds[i], namespace)
            except BaseException as exc:  # raised below, in the caller's thread
                results[i] = exc

        threads = [
            threading.Thread(target=list_one, args=(i,), name=f"list:{kind[1]}", daemon=True)
            for i, kind in enumerate(kinds[1:], start=1)
        ]
        for t in threads:
            t.start()
        try:
            list_one(0)
        finally:
            for t in threads:
                t.join()
        out: list[JSONObject] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            out.extend(result)
        return out

    def _list_kind(self, kind: KindRef, namespace: str | None) -> list[JSONObject]:
        """One kind's paged LIST. The next page is asked for while this one is parsed: its
        continue token is read from the page's head first (``peek_continue``), and checked
        against the parsed page (a page asked for with a wrong guess is dropped)."""
        transport, limit = self.transport, self.settings.page_size

        def fetch(token: str | None) -> bytes:
            return transport.list_page_bytes(kind, namespace, limit=limit, continue_token=token)

        out: list[JSONObject] = []
        token: str | None = None
        ahead: _Ahead | None = None
        while True:
            try:
                data = ahead.result() if ahead is not None and ahead.token == token else None
                if data is None:
                    data = fetch(token)
                guess = peek_continue(data)
                ahead = _Ahead(fetch, guess) if guess else None
                page = transport.parse_page(data)
            except ApiError as exc:
                ahead = None
                if exc.status == 410 and token:
                    token = None  # the continue token expired: start over
                    out = []
                    continue
                raise self._error("list", kind, namespace, exc) from None
            except TransportError as exc:
                raise self._error("list", kind, namespace, exc) from None
            del data
            # the snapshot's objects live for one run: trimmed, not interned (store.py)
            out.extend(trim_object(o, kind[0], kind[1], compact=False) for o in page.items)
            token = page.continue_token
            if not token:
                return out

    def _kind_ref(self, api_version: str, kind: str, verb: str, namespace: str | None) -> KindRef:
        try:
            plural, _ = self.transport.resolve(api_version, kind)
        except (ApiError, TransportError) as exc:
            raise self._error(verb, (api_version, kind, ""), namespace, exc) from None
        return (api_version, kind, plural)

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> JSONObject | None:
        ref = self._kind_ref(api_version, kind, "get", namespace)
        try:
            _, doc = self.transport.call_json("GET", self.transport.path(ref, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise self._error("get", ref, namespace, exc) from None
        except TransportError as exc:
            raise self._error("get", ref, namespace, exc) from None
        return trim_object(doc, api_version, kind) if isinstance(doc, Mapping) else None

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
        query = [("fieldManager", FIELD_MANAGER)]
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            ref = self._kind_ref(api_version, kind, "patch", namespace)
            _, doc = self.transport.call_json(
                "PATCH",
                self.transport.path(ref, namespace, name),
                query=query,
                body=[op.as_dict() for op in ops],
                content_type="application/json-patch+json",
            )
        except ApiError as exc:
            return CorrectionResult(
                key, False, dry_run, "patch", tuple(ops), status=exc.status,
                error=exc.message or f"{exc.status} {exc.reason}",
            )  # fmt: skip
        except (TransportError, ClusterError) as exc:
            return CorrectionResult(key, False, dry_run, "patch", tuple(ops), error=str(exc))
        result = trim_object(doc, api_version, kind) if isinstance(doc, Mapping) else None
        return CorrectionResult(key, True, dry_run, "patch", tuple(ops), result=result)

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> CorrectionResult:
        body = _clean_manifest(manifest)
        api_version = str(body.get("apiVersion") or "")
        kind = str(body.get("kind") or "")
        meta = body["metadata"]
        name = str(meta.get("name") or "")
        key = ResourceKey(
            api_group(api_version), kind or "?", str(meta.get("namespace") or ""), name
        )
        if not api_version or not kind or not name:
            return CorrectionResult(
                key, False, dry_run, "apply", status=422,
                error="the manifest needs apiVersion, kind and metadata.name",
            )  # fmt: skip
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            plural, namespaced = self.transport.resolve(api_version, kind)
            namespace = str(meta.get("namespace") or self.namespace) if namespaced else ""
            if namespaced:
                meta["namespace"] = namespace
            key = ResourceKey(key.group, kind, namespace, name)
            status, doc = self.transport.call_json(
                "PATCH",
                resource_path(api_version, plural, namespace or None, name),
                query=query,
                body=body,
                content_type="application/apply-patch+yaml",
            )
        except ApiError as exc:
            return CorrectionResult(
                key, False, dry_run, "apply", status=exc.status,
                error=exc.message or f"{exc.status} {exc.reason}",
            )  # fmt: skip
        except TransportError as exc:
            return CorrectionResult(key, False, dry_run, "apply", error=str(exc))
        result = trim_object(doc, api_version, kind) if isinstance(doc, Mapping) else None
        action = "create" if status == 201 else "apply"
        return CorrectionResult(key, True, dry_run, action, result=result)


_CONTINUE_HEAD = re.compile(rb'"metadata"\s*:\s*')


def peek_continue(page: bytes) -> str | None:
    """The continue token of a LIST page, read from the page's head without parsing its
    items: API servers write a list's ``metadata`` before its ``items``. None when it is not
    there (no more pages, or another layout: then the page is simply parsed first)."""
    items = page.find(b'"items"')
    head = page[: items if items >= 0 else 4096]
    found = _CONTINUE_HEAD.search(head)
    if found is None:
        return None
    try:
        meta, _ = json.JSONDecoder().raw_decode(head[found.end() :].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    token = meta.get("continue") if isinstance(meta, dict) else None
    return token if isinstance(token, str) and token else None


class _Ahead:
    """The next LIST page, asked for in a thread (the wait releases the GIL)."""

    def __init__(self, fetch: Callable[[str | None], bytes], token: str) -> None:
        self.token = token
        self._data: bytes | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fetch,), daemon=True)
        self._thread.start()

    def _run(self, fetch: Callable[[str | None], bytes]) -> None:
        try:
            self._data = fetch(self.token)
        except BaseException as exc:  # raised by result(), in the lister's thread
            self._error = exc

    def result(self) -> bytes:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._data is not None
        return self._data


def _clean_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What apply sends: the manifest without status and server bookkeeping (an applied
    ``managedFields`` or ``resourceVersion`` would be refused or made conditional)."""
    out = {k: v for k, v in manifest.items() if k != "status"}
    meta = manifest.get("metadata")
    out["metadata"] = (
        {k: v for k, v in meta.items() if k not in _SERVER_META}
        if isinstance(meta, Mapping)
        else {}
    )
    return out
