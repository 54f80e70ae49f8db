"""The engine: desired (hub units) x live (cluster objects) -> drift store -> events.

One engine serves every face: the TUI, ``--once``, ``fix``, the headless service and the
drift records all read the same :class:`DriftStore` and subscribe to its
:class:`DriftEvent` stream. Nothing computes drift twice.

Threads: watch threads call :meth:`Engine.on_cluster_event`; each environment's state has its
own lock, the store has one more; subscribers are called in the thread that changed the
store and must be quick (queue the work). Everything is keyed by (environment,
ResourceKey).
"""

from __future__ import annotations

import logging
import operator
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from drifttui.cluster.protocol import (
    WATCHED_KINDS,
    Cluster,
    ClusterEvent,
    EventType,
)
from drifttui.core.diff import DiffContext, autoscalers_from, diff_object, diff_objects
from drifttui.core.ignore import IgnoreRule
from drifttui.core.models import (
    Autoscaler,
    DriftItem,
    Environment,
    Prices,
    ResourceKey,
    ResourceStatus,
)
from drifttui.core.normalize import CLUSTER_SCOPED_KINDS, key_of
from drifttui.errors import DrifttuiError, HubError
from drifttui.hub.protocol import Hub

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
_WATCHED_KIND_NAMES = frozenset(k for _, k, _ in WATCHED_KINDS)
REQUIRES_LABEL = "drifttui-requires"
"""Units labelled ``drifttui-requires=auto-fix`` are desired only where auto-fix is on."""


# --------------------------------------------------------------------------- events and store


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """The store changed for one resource. ``item`` None: no longer tracked."""

    environment: str
    key: ResourceKey
    item: DriftItem | None
    previous: DriftItem | None
    at: float
    cause: str = "cluster"  # cluster | hub | resync | snapshot | fix

    @property
    def opened(self) -> bool:
        was = self.previous is not None and self.previous.is_drifted
        return self.item is not None and self.item.is_drifted and not was

    @property
    def closed(self) -> bool:
        was = self.previous is not None and self.previous.is_drifted
        return was and (self.item is None or not self.item.is_drifted)


Subscriber = Callable[[DriftEvent], None]


class DriftStore:
    """Every compared resource of every environment, with change events."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, ResourceKey], DriftItem] = {}
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def put(
        self, env: str, key: ResourceKey, item: DriftItem | None, at: float, cause: str
    ) -> DriftEvent | None:
        """Store ``item`` (None removes); an event when something changed."""
        with self._lock:
            previous = self._items.get((env, key))
            if item is None:
                if previous is None:
                    return None
                del self._items[(env, key)]
            else:
                if previous == item:
                    return None
                self._items[(env, key)] = item
            subscribers = list(self._subscribers)
        event = DriftEvent(env, key, item, previous, at, cause)
        for fn in subscribers:
            try:
                fn(event)
            except Exception:  # a broken subscriber must not break the watch
                log.exception("drift subscriber failed")
        return event

    def get(self, env: str, key: ResourceKey) -> DriftItem | None:
        with self._lock:
            return self._items.get((env, key))

    def items(self, env: str | None = None) -> list[DriftItem]:
        with self._lock:
            values = [i for (e, _), i in self._items.items() if env is None or e == env]
        values.sort(key=_item_order)
        return values

    def drifted(self, env: str | None = None) -> list[DriftItem]:
        return [i for i in self.items(env) if i.is_drifted]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# --------------------------------------------------------------------------- per environment


@dataclass
class EnvState:
    """What the engine knows of one environment (guarded by ``lock``)."""

    env: Environment
    desired: dict[ResourceKey, JSONDict] = field(default_factory=dict)
    units: dict[ResourceKey, str] = field(default_factory=dict)
    unit_errors: dict[str, str] = field(default_factory=dict)
    live: dict[ResourceKey, JSONDict] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)
    fetched: set[ResourceKey] = field(default_factory=set)
    hub_error: str | None = None
    cluster_error: str | None = None
    loaded: bool = False
    last_event_at: float | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    parsed: dict[str, tuple[str, JSONDict]] = field(default_factory=dict)
    """unit slug -> (its data, the object parsed from it): unchanged units are not parsed
    again when the space is read again."""
    ctx: DiffContext | None = None
    """The diff context, built once and kept until the units or an autoscaler change."""

    @property
    def default_namespace(self) -> str:
        return self.env.namespace or "default"

    def in_watch_scope(self, key: ResourceKey) -> bool:
        if key.kind not in _WATCHED_KIND_NAMES:
            return False
        return self.env.namespace is None or key.namespace == self.env.namespace

    def observed(self, key: ResourceKey) -> bool:
        """True when absence from ``live`` means the object is really missing."""
        if self.in_watch_scope(key):
            return key.kind in self.listed
        return key in self.fetched

    def autoscalers(self) -> dict[ResourceKey, Autoscaler]:
        ns = self.default_namespace
        found = autoscalers_from(self.desired.values(), ns)
        found.update(autoscalers_from(self.live.values(), ns))
        return found


def parse_unit_document(text: str, unit: str, space: str, default_namespace: str) -> JSONDict:
    """The Kubernetes object a unit holds; HubError naming the unit when it is not one."""
    return _with_namespace(parse_unit_object(text, unit, space), default_namespace)


def parse_unit_object(text: str, unit: str, space: str) -> JSONDict:
    """The object as the unit's data has it (no namespace filled in); HubError naming the
    unit when it is not one Kubernetes object."""
    import yaml

    from drifttui.yaml_loader import load_all

    try:
        docs = [d for d in load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise HubError(f"unit data is not valid YAML{at}", f"{space}/{unit}") from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise HubError("unit data must be exactly one Kubernetes object", f"{space}/{unit}")
    obj: JSONDict = docs[0]
    meta = obj.get("metadata")
    if not isinstance(obj.get("kind"), str) or not isinstance(meta, dict) or not meta.get("name"):
        raise HubError("unit data has no kind or metadata.name", f"{space}/{unit}")
    return obj


def _with_namespace(obj: JSONDict, default_namespace: str) -> JSONDict:
    meta = obj["metadata"]
    if obj.get("kind") not in CLUSTER_SCOPED_KINDS:
        meta.setdefault("namespace", default_namespace)
    return obj


class DocumentCache(Protocol):
    """Objects parsed from unit data, by that data (``drifttui.document_cache``)."""

    def get(self, data: str) -> JSONDict | None: ...

    def put(self, data: str, obj: JSONDict) -> None: ...


# --------------------------------------------------------------------------- the engine


class Engine:
    """Joins hub spaces and clusters per environment into one drift store."""

    def __init__(
        self,
        *,
        environments: Sequence[Environment],
        hub: Hub,
        clusters: Mapping[str, Cluster],
        ignore_rules: tuple[IgnoreRule, ...] = (),
        prices: Prices | None = None,
        clock: Callable[[], float] = time.time,
        kinds: Sequence[tuple[str, str, str]] = WATCHED_KINDS,
        document_cache: DocumentCache | None = None,
    ) -> None:
        self.environments = tuple(environments)
        self.document_cache = document_cache
        self.hub = hub
        self.clusters = dict(clusters)
        self.ignore_rules = ignore_rules
        self.prices = prices or Prices()
        self.clock = clock
        self.kinds = tuple(kinds)
        self.store = DriftStore()
        self.states = {e.name: EnvState(e) for e in self.environments}
        self.watch_restarts: dict[tuple[str, str], int] = {}
        self.hub_errors = 0
        self.latency_observer: Callable[[float], None] | None = None
        missing = [e.name for e in self.environments if e.name not in self.clusters]
        if missing:
            raise DrifttuiError(f"no cluster for environment(s) {', '.join(missing)}")

    # ----------------------------------------------------------------- helpers

    def state(self, env: str) -> EnvState:
        try:
            return self.states[env]
        except KeyError:
            known = ", ".join(self.states)
            raise DrifttuiError(f"no environment named {env!r}", hint=f"known: {known}") from None

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        return self.store.subscribe(fn)

    def _ctx(self, st: EnvState) -> DiffContext:
        """The environment's diff context (call with ``st.lock`` held). Built once, not per
        event: finding the autoscalers walks every object."""
        if st.ctx is None:
            st.ctx = DiffContext(
                environment=st.env.name,
                default_namespace=st.default_namespace,
                ignore_rules=self.ignore_rules,
                autoscalers=st.autoscalers(),
                prices=self.prices,
                space=st.env.space,
                units=st.units,  # replaced, never changed in place
            )
        return st.ctx

    def _compute(self, st: EnvState, key: ResourceKey, ctx: DiffContext) -> DriftItem | None:
        desired = st.desired.get(key)
        live = st.live.get(key)
        if desired is None and live is None:
            return None
        if desired is not None and live is None and not st.observed(key):
            return None  # not listed yet: nothing is missing before the first LIST
        if desired is None:
            assert live is not None
            if not st.in_watch_scope(key):
                return None
            unmanaged = diff_objects([], [live], _with_unmanaged(ctx))
            return unmanaged[0] if unmanaged else None
        return diff_object(desired, live, ctx)

    def _recompute(self, st: EnvState, keys: Iterable[ResourceKey], cause: str) -> None:
        ctx = self._ctx(st)
        now = self.clock()
        for key in keys:
            item = self._compute(st, key, ctx)
            self.store.put(st.env.name, key, item, now, cause)

    def _recompute_all(self, st: EnvState, cause: str) -> None:
        with st.lock:
            keys = set(st.desired) | set(st.live)
            for env, key in [(i.environment, i.key) for i in self.store.items(st.env.name)]:
                if env == st.env.name:
                    keys.add(key)
            self._recompute(st, _in_key_order(keys), cause)

    def set_ignore_rules(self, rules: Iterable[IgnoreRule]) -> None:
        """Replace the ignore rules and recompute every environment (the TUI's ``i``): the
        findings a new rule names become ignored, the store emits their events."""
        self.ignore_rules = tuple(rules)
        for st in self.states.values():
            with st.lock:
                st.ctx = None
            self._recompute_all(st, "resync")

    # ----------------------------------------------------------------- desired side

    def load_desired(self, env: str, cause: str = "hub") -> None:
        """Read every unit of the environment's space; recompute what changed."""
        st = self.state(env)
        try:
            units = self.hub.list_units(st.env.space, with_data=True)
        except HubError as exc:
            self.hub_errors += 1
            with st.lock:
                st.hub_error = str(exc)
            log.error("hub: %s", exc)
            raise
        with st.lock:
            previous = dict(st.parsed)
        desired: dict[ResourceKey, JSONDict] = {}
        slugs: dict[ResourceKey, str] = {}
        errors: dict[str, str] = {}
        parsed: dict[str, tuple[str, JSONDict]] = {}
        for unit in units:
            if unit.labels.get(REQUIRES_LABEL) == "auto-fix" and not st.env.auto_fix:
                continue  # e.g. the detector's patch RBAC: only installed with auto-fix on
            known = previous.get(unit.slug)
            if known is not None and known[0] == unit.data:
                obj = known[1]  # unchanged: the same object, nothing to parse or compare
            else:
                try:
                    obj = self._parse_unit(unit.data, unit.slug, unit.space, st)
                except HubError as exc:
                    errors[unit.slug] = str(exc)
                    continue
            parsed[unit.slug] = (unit.data, obj)
            key = key_of(obj, st.default_namespace)
            desired[key] = obj
            slugs[key] = unit.slug
        with st.lock:
            st.hub_error = None
            changed = {
                k
                for k in set(desired) | set(st.desired)
                if desired.get(k) is not st.desired.get(k) or slugs.get(k) != st.units.get(k)
            }
            hpas_changed = any(k.kind == "HorizontalPodAutoscaler" for k in changed)
            st.desired = desired
            st.units = slugs
            st.unit_errors = errors
            st.parsed = parsed
            st.loaded = True
            st.ctx = None  # the units changed (or this is the first read)
            if hpas_changed:  # a target's allowed replicas may have changed
                changed |= set(desired) | set(st.live)
            if st.live or st.listed or st.fetched:
                self._recompute(st, _in_key_order(changed), cause)
            # else nothing of the cluster is known yet (the first read of a snapshot): every
            # item would be None, the store holds none for this environment: nothing to do
        for slug, msg in errors.items():
            log.error("unit %s/%s: %s", st.env.space, slug, msg)

    def _parse_unit(self, data: str, slug: str, space: str, st: EnvState) -> JSONDict:
        cache = self.document_cache
        obj = cache.get(data) if cache is not None else None
        if obj is None:
            obj = parse_unit_object(data, slug, space)
            if cache is not None:
                cache.put(data, obj)  # as written: the same text serves every environment
        return _with_namespace(obj, st.default_namespace)

    def fetch_out_of_scope(self, env: str) -> None:
        """GET desired objects no watch covers (other namespaces, unwatched kinds)."""
        st = self.state(env)
        cluster = self.clusters[env]
        with st.lock:
            wanted = [(k, o) for k, o in st.desired.items() if not st.in_watch_scope(k)]
        for key, obj in wanted:
            try:
                live = cluster.get(
                    str(obj.get("apiVersion", "")), key.kind, key.namespace, key.name
                )
            except DrifttuiError as exc:
                log.warning("cannot read %s: %s", key, exc)
                continue
            with st.lock:
                st.fetched.add(key)
                self._recompute(st, _in_key_order(self._set_live(st, key, live)), "cluster")

    # ----------------------------------------------------------------- live side

    def _set_live(self, st: EnvState, key: ResourceKey, obj: JSONDict | None) -> set[ResourceKey]:
        """Store (None: forget) one live object; the keys whose drift may have changed. An
        autoscaler's change reaches the workloads it targeted and targets now."""
        old = st.live.pop(key, None) if obj is None else st.live.get(key)
        if obj is not None:
            st.live[key] = obj
        affected = {key}
        if key.kind == "HorizontalPodAutoscaler":
            st.ctx = None
            for hpa in (old, obj):
                if hpa is not None:
                    affected |= _hpa_targets(hpa, st.default_namespace)
        return affected

    def on_cluster_event(self, env: str, event: ClusterEvent) -> None:
        """Apply one watch event (called from the watch thread)."""
        st = self.state(env)
        started = time.perf_counter()
        with st.lock:
            st.last_event_at = self.clock()
            if event.type in (EventType.WATCH_FAILED,):
                st.cluster_error = event.error
                self.watch_restarts[(env, event.kind)] = (
                    self.watch_restarts.get((env, event.kind), 0) + 1
                )
                return
            if event.type is EventType.WATCH_RESTORED:
                st.cluster_error = None
                return
            if event.type in (EventType.LISTED, EventType.RELISTED):
                st.cluster_error = None
                st.listed.add(event.kind)
                keys = [k for k in set(st.desired) | set(st.live) if k.kind == event.kind]
                self._recompute(st, _in_key_order(keys), "cluster")
                return
            obj = event.obj
            if obj is None:
                return
            key = key_of(obj, st.default_namespace)
            affected = self._set_live(st, key, None if event.type is EventType.DELETED else obj)
            self._recompute(st, _in_key_order(affected), "cluster")
        if self.latency_observer is not None:
            self.latency_observer(time.perf_counter() - started)

    def sink(self, env: str) -> Callable[[ClusterEvent], None]:
        return lambda event: self.on_cluster_event(env, event)

    def start_watches(self, stop: threading.Event) -> list[threading.Thread]:
        """One watch thread per environment (the cluster runs its reflectors inside)."""
        threads = []
        for e in self.environments:
            cluster = self.clusters[e.name]
            t = threading.Thread(
                target=cluster.run_watch,
                args=(self.kinds, e.namespace, self.sink(e.name), stop),
                name=f"watch:{e.name}",
                daemon=True,
            )
            t.start()
            threads.append(t)
        return threads

    def is_ready(self) -> bool:
        """Every environment loaded from the hub and every watched kind listed."""
        want = {k for _, k, _ in self.kinds}
        return all(st.loaded and want <= st.listed for st in self.states.values())

    # ----------------------------------------------------------------- snapshots

    def snapshot_environment(self, env: str) -> None:
        """Load desired and list live once (``--once``); errors are kept on the state.

        The cluster's LIST runs in a thread while the hub's units are read and parsed: the
        API server's time to answer is not added to ours."""
        from drifttui.cluster.store import gc_paused

        st = self.state(env)
        cluster = self.clusters[env]
        listing: dict[str, Any] = {}

        def list_live() -> None:
            try:
                listing["objects"] = cluster.list_objects(self.kinds, st.env.namespace)
            except BaseException as exc:  # handed to the caller's thread below
                listing["error"] = exc

        lister = threading.Thread(target=list_live, name=f"list:{env}", daemon=True)
        lister.start()
        try:
            with gc_paused():  # thousands of parsed documents, no cycles among them
                self.load_desired(env, cause="snapshot")
        except HubError:
            lister.join()
            return
        lister.join()
        error = listing.get("error")
        if isinstance(error, DrifttuiError):
            with st.lock:
                st.cluster_error = str(error)
            return
        if error is not None:
            raise error
        objects = listing["objects"]
        with st.lock:
            st.cluster_error = None
            st.live = {key_of(o, st.default_namespace): o for o in objects}
            st.listed = {k for _, k, _ in self.kinds}
            st.ctx = None
        self.fetch_out_of_scope(env)
        with gc_paused():
            self._recompute_all(st, "snapshot")

    def environment_error(self, env: str) -> str | None:
        st = self.state(env)
        with st.lock:
            return st.hub_error or st.cluster_error

    def unit_errors(self, env: str) -> dict[str, str]:
        st = self.state(env)
        with st.lock:
            return dict(st.unit_errors)

    def items(self, env: str | None = None) -> list[DriftItem]:
        return self.store.items(env)

    def desired_object(self, env: str, key: ResourceKey) -> JSONDict | None:
        st = self.state(env)
        with st.lock:
            return st.desired.get(key)

    def live_object(self, env: str, key: ResourceKey) -> JSONDict | None:
        st = self.state(env)
        with st.lock:
            return st.live.get(key)

    def refresh_live(self, env: str, key: ResourceKey) -> None:
        """Re-read one object after a write (the watch will also deliver it)."""
        st = self.state(env)
        desired = self.desired_object(env, key)
        api = str((desired or self.live_object(env, key) or {}).get("apiVersion", ""))
        try:
            live = self.clusters[env].get(api, key.kind, key.namespace, key.name)
        except DrifttuiError as exc:
            log.warning("cannot re-read %s: %s", key, exc)
            return
        with st.lock:
            self._recompute(st, _in_key_order(self._set_live(st, key, live)), "fix")


_key_fields = operator.attrgetter("group", "kind", "namespace", "name")


def _in_key_order(keys: Iterable[ResourceKey]) -> list[ResourceKey]:
    """``sorted(keys)``, the same order, with the fields compared as one tuple rather than
    through the dataclass's ``__lt__`` (a third of the time at thousands of keys)."""
    return sorted(keys, key=_key_fields)


def _item_order(item: DriftItem) -> tuple[str, str, str, str, str]:
    k = item.key
    return (item.environment, k.group, k.kind, k.namespace, k.name)


def _with_unmanaged(ctx: DiffContext) -> DiffContext:
    import dataclasses

    return dataclasses.replace(ctx, include_unmanaged=True)


def _hpa_targets(obj: Mapping[str, Any], default_namespace: str) -> set[ResourceKey]:
    return set(autoscalers_from([obj], default_namespace))


def status_counts(items: Iterable[DriftItem]) -> dict[ResourceStatus, int]:
    out = {s: 0 for s in ResourceStatus}
    for i in items:
        out[i.status] += 1
    return out
