"""The drift engine: desired object x live object -> :class:`DriftItem`.

Algorithm (drift-rules.md 4.1 layer 1 + 3, normalisations of 4.2):

1. Normalise desired (:func:`drifttui.core.normalize.normalize_desired`: API-server
   defaults, Secret ``stringData``, the ``serviceAccount`` mirror, server-managed metadata).
   The live object is never copied.
2. Walk desired against live. Every field desired declares is compared canonically
   (quantities by value in resource contexts, numbers by value, empty equals absent):
   ``changed`` when live differs, ``removed`` when live lacks it. Lists Kubernetes merges by
   key (containers, initContainers, volumes, env by ``name``; volumeMounts by ``mountPath``;
   container ports by ``containerPort``+``protocol``; Service ports by ``port``+``protocol``;
   ...) are paired by that key, never by index; report paths name items by ``name`` when they
   have one. Other lists are atomic: the finding is on the list.
3. A field (or list item) live holds and desired does not declare is ``added`` only when
   managedFields shows a person wrote it (:mod:`drifttui.core.attribution`); defaults are
   already in desired, and fields owned by controllers or by nobody (admission, webhooks)
   are not drift. Server-managed metadata, tool annotations, allocated Service fields and
   ``status`` are skipped. Without managedFields nothing live-only is reported (no evidence
   that a person wrote it), except the two cases that never need it: a Secret key and the
   ``kubectl.kubernetes.io/restartedAt`` restart marker (operational: shown, not counted).
4. Secrets compare sha256 of decoded values; findings show :data:`MASK`, as they do for a
   value under a credential name elsewhere (``env[name=API_TOKEN]``, ``data.DB_PASSWORD``).
5. ``spec.replicas`` of a workload under an autoscaler (drift-rules 4.3) is skipped unless
   live is outside the autoscaler's range or a person wrote it; then the finding's note
   says ``7, HPA checkout, range 2-10`` and ``DriftItem.autoscaler`` is set.
6. Classify every finding (:mod:`drifttui.core.classify`), apply the ignore rules
   (:mod:`drifttui.core.ignore`), name the owner, the rolling-out state and the monthly cost.

``diff_object`` is pure and cheap enough to run on every watch event: desired is copied once
(fast JSON copy), live is walked only where it differs from desired (``==`` on subtrees is
the fast path), and managedFields are parsed only when a question needs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drifttui.core.attribution import (
    ManagedFields,
    OwnPath,
    field_key,
    human_writer,
    is_human_manager,
    item_key,
    pick_writer,
)
from drifttui.core.classify import classify
from drifttui.core.cost import DEFAULT_PRICES, cost_impact
from drifttui.core.ignore import IgnoreRule, apply_rules
from drifttui.core.models import (
    MASK,
    Attribution,
    Autoscaler,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    FieldPath,
    Prices,
    ResourceKey,
    ResourceStatus,
    Sel,
    finding_id,
    json_pointer,
    stable_hash,
)
from drifttui.core.normalize import (
    DATA_MAP_KEYS,
    IDENTITY_METADATA,
    LAST_APPLIED,
    POD_SPEC_ADDED,
    QUANTITY_KEYS,
    RESTARTED_AT,
    SERVER_METADATA,
    SERVICE_ALLOCATED,
    TOOL_ANNOTATION_PREFIXES,
    TOOL_ANNOTATIONS,
    TOOL_LABELS,
    UNLESS_DECLARED_METADATA,
    fold_string_data,
    is_builtin,
    is_zero,
    key_of,
    normalize_desired,
    pod_spec_of,
    secret_digest,
    values_equal,
    values_equal_unordered,
)
from drifttui.core.owner import is_rolling_out, owner_of
from drifttui.core.sensitive import mask_credentials

JSONDict = dict[str, Any]

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"})
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})

_ABSENT: Any = object()

_NAME_KEYED = frozenset(
    {
        "containers",
        "initContainers",
        "ephemeralContainers",
        "volumes",
        "env",
        "imagePullSecrets",
        "resourceClaims",
    }
)
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
_KEY_DEFAULTS: Mapping[str, Any] = {"protocol": "TCP"}
_SA_TOKEN_KEYS = frozenset({"ca.crt", "namespace", "token"})
_UNORDERED_LISTS = {("HorizontalPodAutoscaler", ("spec", "metrics"))}
_NOT_UNMANAGED_KINDS = frozenset(
    {"Event", "Endpoints", "EndpointSlice", "Lease", "ControllerRevision", "Pod", "ReplicaSet"}
)


@dataclass(frozen=True, slots=True)
class DiffContext:
    """Everything the diff needs besides the two objects.

    ``autoscalers`` maps a workload's key to the HPA targeting it (``diff_objects`` adds
    those it finds among the objects); ``units`` maps keys to the hub unit declaring them
    (copied into ``DriftItem.unit``); ``include_unmanaged`` makes ``diff_objects`` report
    live objects no desired object declares.
    """

    environment: str = "local"
    default_namespace: str = "default"
    ignore_rules: tuple[IgnoreRule, ...] = ()
    autoscalers: Mapping[ResourceKey, Autoscaler] = field(default_factory=dict)
    prices: Prices = DEFAULT_PRICES
    include_unmanaged: bool = False
    space: str | None = None
    units: Mapping[ResourceKey, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- list keys


def _merge_keys(kind: str, path: FieldPath) -> tuple[str, ...] | None:
    """Server merge key of the list at ``path`` (its last element), None when atomic."""
    last = path[-1]
    if last in _NAME_KEYED:
        return ("name",)
    if last == "volumeMounts":
        return ("mountPath",)
    if last == "volumeDevices":
        return ("devicePath",)
    if last == "hostAliases":
        return ("ip",)
    if last == "topologySpreadConstraints":
        return ("topologyKey", "whenUnsatisfiable")
    if last == "ports":
        n = len(path)
        if n >= 3 and isinstance(path[-2], Sel) and path[-3] in _CONTAINER_LISTS:
            return ("containerPort", "protocol")
        if kind == "Service" and path == ("spec", "ports"):
            return ("port", "protocol")
    return None


def _identity(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...] | None:
    if not isinstance(item, dict):
        return None
    out = []
    for k in keys:
        v = item.get(k)
        if v is None:
            v = _KEY_DEFAULTS.get(k)
        if v is None or isinstance(v, dict | list):
            return None
        out.append(v)
    return tuple(out)


def _index(items: list[Any], keys: tuple[str, ...]) -> dict[tuple[Any, ...], Any] | None:
    out: dict[tuple[Any, ...], Any] = {}
    for item in items:
        ident = _identity(item, keys)
        if ident is None or ident in out:
            return None
        out[ident] = item
    return out


def _count(items: list[Any], k: str, v: Any) -> int:
    return sum(1 for i in items if isinstance(i, dict) and i.get(k) == v)


def _selector(
    keys: tuple[str, ...],
    ident: tuple[Any, ...],
    d_item: Any,
    l_item: Any,
    d_list: list[Any],
    l_list: list[Any],
) -> Sel:
    """The report selector of a list item: ``[name=x]`` when the item has a unique name on
    both sides, else the first key field when unique, else every key field."""
    if len(keys) == 1:
        return Sel(((keys[0], ident[0]),))
    item = d_item if d_item is not None else l_item
    name = item.get("name")
    if (
        isinstance(name, str)
        and name
        and (d_item is None or l_item is None or d_item.get("name") == l_item.get("name"))
        and _count(d_list, "name", name) <= 1
        and _count(l_list, "name", name) <= 1
    ):
        return Sel((("name", name),))
    first = ident[0]
    if _count(d_list, keys[0], first) <= 1 and _count(l_list, keys[0], first) <= 1:
        return Sel(((keys[0], first),))
    return Sel(tuple(zip(keys, ident, strict=True)))


def _has_path(obj: Any, path: FieldPath) -> bool:
    """Like ``models.get_path(...)[0]``, with merge-key defaults (a port item written
    without ``protocol`` matches ``[containerPort=53,protocol=TCP]``)."""
    cur = obj
    for elem in path:
        if isinstance(elem, Sel):
            if not isinstance(cur, list):
                return False
            for item in cur:
                if isinstance(item, dict) and all(
                    item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in elem.keys
                ):
                    cur = item
                    break
            else:
                return False
        else:
            if not isinstance(cur, dict) or elem not in cur:
                return False
            cur = cur[elem]
    return True


_ATOMIC_MAPS = frozenset(
    {"selector", "nodeSelector", "podSelector", "namespaceSelector", "labelSelector"}
)


def _atomic_parent(path: FieldPath) -> bool:
    """Inside a map the server owns whole (``f:selector: {}``): its owner owns the keys."""
    return len(path) >= 2 and path[-2] in _ATOMIC_MAPS


# --------------------------------------------------------------------------- the walk


class _Walk:
    """One comparison: collects findings while walking desired against live."""

    __slots__ = (
        "autoscaler",
        "ctx",
        "desired",
        "findings",
        "key",
        "kind",
        "live",
        "mf",
        "pod_path",
        "raw",
        "secret",
    )

    def __init__(
        self,
        ctx: DiffContext,
        key: ResourceKey,
        desired: JSONDict,
        live: JSONDict,
        autoscaler: Autoscaler | None,
        raw: JSONDict | None = None,
    ) -> None:
        self.ctx = ctx
        self.raw = raw if raw is not None else desired
        self.key = key
        self.kind = key.kind
        self.desired = desired
        self.live = live
        self.autoscaler = autoscaler
        self.mf = ManagedFields.of(live)
        self.secret = key.kind == "Secret"
        self.pod_path = pod_spec_of(desired)[0]
        self.findings: list[FieldDrift] = []

    # ---------------------------------------------------------------- findings

    def add(
        self,
        path: FieldPath,
        change: Change,
        desired: Any,
        live: Any,
        attribution: Attribution | None = None,
        note: str | None = None,
        hashes: tuple[str | None, str | None] | None = None,
        *,
        always: bool = False,
    ) -> None:
        if not always:
            if change is Change.REMOVED and not self.declared(path):
                return  # a default desired never wrote: nothing was removed from it
            if (
                change is Change.CHANGED
                and (attribution is None or not attribution.is_human)
                and not self.declared(path)
            ):
                # desired leaves the field to the server; live differs from the default
                # but no person wrote it (kubectl set image keeps imagePullPolicy Always,
                # a controller or admission changed it): like any live-only field, not drift
                return
        if hashes is None:
            if path and path[-1] == LAST_APPLIED:  # a whole manifest, Secret data and all
                hashes = (stable_hash(desired), stable_hash(live))
                desired = MASK if desired is not None else None
                live = MASK if live is not None else None
            else:
                hashes = (
                    stable_hash(desired) if change is not Change.ADDED else None,
                    stable_hash(live) if change is not Change.REMOVED else None,
                )
        category, severity, safe = classify(self.kind, path, change, desired, live)
        if not self.secret:
            # a credential kept outside a Secret (env API_TOKEN, ConfigMap DB_PASSWORD) is
            # shown like a Secret's: compared by the hashes above, displayed masked
            desired = mask_credentials(path, desired)
            live = mask_credentials(path, live)
        fid = finding_id(self.ctx.environment, self.key, path, change)
        if change is Change.REMOVED:
            pointer = json_pointer(path, self.desired)
        else:
            pointer = json_pointer(path, self.live)
        self.findings.append(
            FieldDrift(
                path=path,
                change=change,
                desired=desired,
                live=live,
                category=category,
                severity=severity,
                attribution=attribution,
                safe_to_autofix=safe,
                note=note,
                id=fid,
                fingerprint=stable_hash(fid, hashes[0], hashes[1]),
                pointer=pointer or "",
            )
        )

    def declared(self, path: FieldPath) -> bool:
        """Whether the desired manifest as written holds ``path`` (not only a default)."""
        if _has_path(self.raw, path):
            return True
        if self.secret and len(path) == 2 and path[0] == "data":
            return _has_path(self.raw, ("stringData", path[1]))
        if path[-1] == "serviceAccountName" and path[:-1] == self.pod_path:
            return _has_path(self.raw, (*self.pod_path, "serviceAccount"))
        return False

    def writer(self, mpath: OwnPath) -> Attribution | None:
        return pick_writer(self.mf.owners(mpath)) if self.mf else None

    # ---------------------------------------------------------------- skipping

    def skip_desired(self, path: FieldPath, k: str) -> bool:
        if not path:
            if k in ("apiVersion", "kind"):
                return True
            if self.secret and k in ("data", "stringData"):
                return True
            return k == "status" and is_builtin(self.desired)
        if path == ("metadata",):
            return k in SERVER_METADATA or k in IDENTITY_METADATA
        if self.autoscaler is not None and k == "replicas" and path == ("spec",):
            return True
        return k == "serviceAccount" and path == self.pod_path

    def skip_live(self, path: FieldPath, k: str, value: Any) -> bool:
        if not path:
            return k in ("apiVersion", "kind", "status") or (
                self.secret and k in ("data", "stringData")
            )
        last = path[-1]
        if last == "metadata":
            return k in SERVER_METADATA or k in IDENTITY_METADATA or k in UNLESS_DECLARED_METADATA
        if last == "annotations":
            return k in TOOL_ANNOTATIONS or k.startswith(TOOL_ANNOTATION_PREFIXES)
        if last == "labels":
            return k in TOOL_LABELS or (k == "app.kubernetes.io/managed-by" and value == "Helm")
        if k == "caBundle":
            return True
        if path == self.pod_path:
            return k in POD_SPEC_ADDED
        if self.kind == "Service":
            if path == ("spec",):
                return k in SERVICE_ALLOCATED
            if k == "nodePort" and len(path) == 3 and path[:2] == ("spec", "ports"):
                return True
        return self.autoscaler is not None and k == "replicas" and path == ("spec",)

    # ---------------------------------------------------------------- comparing

    def compare(self, d: Any, lv: Any, path: FieldPath, mpath: OwnPath, q: bool) -> None:
        td = type(d)
        if td is dict and type(lv) is dict:
            self.compare_map(d, lv, path, mpath, q)
        elif td is list and type(lv) is list:
            self.compare_list(d, lv, path, mpath, q)
        elif not values_equal(d, lv, q):
            self.add(path, Change.CHANGED, d, lv, self.writer(mpath))

    def compare_map(
        self, d: JSONDict, lv: JSONDict, path: FieldPath, mpath: OwnPath, q: bool
    ) -> None:
        data_map = bool(path) and path[-1] in DATA_MAP_KEYS
        special = len(path) < 2 or path == self.pod_path
        differing = [
            k
            for k, dv in d.items()
            if (v := lv.get(k, _ABSENT)) is not dv and not (dv == v and type(dv) is type(v))
        ]
        for k in differing:
            if special and self.skip_desired(path, k):
                continue
            dv = d[k]
            v = lv.get(k, _ABSENT)
            if v is _ABSENT or v is None:
                if dv is None or (not data_map and is_zero(dv)):
                    continue
                if type(dv) is dict and k in DATA_MAP_KEYS:
                    # a whole map of user keys gone: one finding per key, as for additions
                    self.compare_map(dv, {}, (*path, k), (*mpath, field_key(k)), q)
                    continue
                self.add((*path, k), Change.REMOVED, dv, None)
                continue
            self.compare(dv, v, (*path, k), (*mpath, field_key(k)), q or k in QUANTITY_KEYS)
        if len(lv) <= len(d) and not differing:
            return  # every live key is a desired key with an equal value
        for k in [k for k in lv if k not in d]:
            v = lv[k]
            if v is None or self.skip_live(path, k, v) or (not data_map and is_zero(v)):
                continue
            self.live_only(v, (*path, k), (*mpath, field_key(k)))

    def compare_list(
        self, d: list[Any], lv: list[Any], path: FieldPath, mpath: OwnPath, q: bool
    ) -> None:
        keys = _merge_keys(self.kind, path)
        d_idx = _index(d, keys) if keys else None
        l_idx = _index(lv, keys) if keys and d_idx is not None else None
        if keys is None or d_idx is None or l_idx is None:
            if (self.kind, path) in _UNORDERED_LISTS:
                equal = values_equal_unordered(d, lv, q)
            elif path == ("metadata", "finalizers"):
                equal = all(f in lv for f in d)
            else:
                equal = values_equal(d, lv, q)
            if not equal:
                self.add(path, Change.CHANGED, d, lv, self.writer(mpath))
            return
        for ident, d_item in d_idx.items():
            l_item = l_idx.get(ident)
            sel = _selector(keys, ident, d_item, l_item, d, lv)
            if l_item is None:
                self.add((*path, sel), Change.REMOVED, d_item, None)
            elif d_item != l_item:
                ikey = item_key(zip(keys, ident, strict=True))
                self.compare(d_item, l_item, (*path, sel), (*mpath, ikey), q)
        for ident, l_item in l_idx.items():
            if ident in d_idx:
                continue
            sel = _selector(keys, ident, None, l_item, d, lv)
            ikey = item_key(zip(keys, ident, strict=True))
            self.live_item(l_item, (*path, sel), (*mpath, ikey))

    # ---------------------------------------------------------------- live-only content

    def live_only(self, v: Any, path: FieldPath, mpath: OwnPath) -> None:
        """A value live holds where desired declares nothing: drift only if a person wrote
        it (restart markers are always shown, as operational)."""
        last = path[-1]
        if last == RESTARTED_AT and len(path) >= 2 and path[-2] == "annotations":
            self.add(path, Change.ADDED, None, v, self.writer(mpath))
            return
        if type(v) is dict:
            if last == "annotations" and RESTARTED_AT in v:
                restart_path = (*mpath, field_key(RESTARTED_AT))
                restart = v[RESTARTED_AT]
                self.add(
                    (*path, RESTARTED_AT), Change.ADDED, None, restart, self.writer(restart_path)
                )
            data_map = last in DATA_MAP_KEYS
            keys = [
                k
                for k, sub in v.items()
                if sub is not None
                and k != RESTARTED_AT
                and (data_map or not is_zero(sub))
                and not self.skip_live(path, k, sub)
            ]
            if keys and self._person_under(path, mpath):
                for k in keys:
                    self.live_only(v[k], (*path, k), (*mpath, field_key(k)))
            return
        if (isinstance(v, list) and not v) or not self._person_under(path, mpath):
            return
        if isinstance(v, list):
            keys_ = _merge_keys(self.kind, path)
            idx = _index(v, keys_) if keys_ else None
            if keys_ is not None and idx is not None:
                for ident, item in idx.items():
                    sel = _selector(keys_, ident, None, item, [], v)
                    ikey = item_key(zip(keys_, ident, strict=True))
                    self.live_item(item, (*path, sel), (*mpath, ikey))
                return
        owners = self.mf.owners(mpath, atomic_ancestor=_atomic_parent(path))
        who = human_writer(owners)
        if who is not None:
            self.add(path, Change.ADDED, None, v, who)

    def _person_under(self, path: FieldPath, mpath: OwnPath) -> bool:
        """Could a person own something at or under ``path``? (prunes the live-only walk)"""
        if not self.mf.has_human:
            return False
        return _atomic_parent(path) or self.mf.has_human_under(mpath)

    def live_item(self, item: Any, path: FieldPath, mpath: OwnPath) -> None:
        """A list item only live holds: one finding for the whole item when a person
        created it, else look inside for fields a person wrote."""
        if not self.mf.has_human_under(mpath):
            return
        creator = human_writer(self.mf.item_owners(mpath))
        if creator is not None:
            self.add(path, Change.ADDED, None, item, creator)
            return
        if isinstance(item, dict):
            for k, sub in item.items():
                if sub is None or is_zero(sub):
                    continue
                self.live_only(sub, (*path, k), (*mpath, field_key(k)))

    # ---------------------------------------------------------------- Secrets

    def compare_secret_data(self) -> None:
        d_data = self.desired.get("data")
        l_data = self.live.get("data")
        d_data = d_data if isinstance(d_data, dict) else {}
        l_data = l_data if isinstance(l_data, dict) else {}
        if isinstance(self.live.get("stringData"), dict):
            # a saved manifest rather than a server's object: fold it as the server would
            folded: JSONDict = {"data": dict(l_data), "stringData": self.live["stringData"]}
            fold_string_data(folded)
            l_data = folded["data"]
        sa_token = self.live.get("type") == "kubernetes.io/service-account-token"
        for k, dv in d_data.items():
            path: FieldPath = ("data", k)
            dh = secret_digest(dv)
            if k not in l_data:
                self.add(path, Change.REMOVED, MASK, None, hashes=(dh, None))
                continue
            lh = secret_digest(l_data[k])
            if dh != lh:
                mpath = (field_key("data"), field_key(k))
                self.add(path, Change.CHANGED, MASK, MASK, self.writer(mpath), hashes=(dh, lh))
        for k, lv in l_data.items():
            if k in d_data or (sa_token and k in _SA_TOKEN_KEYS):
                continue
            mpath = (field_key("data"), field_key(k))
            owners = self.mf.owners(mpath) if self.mf else []
            if owners and not any(o.is_human for o in owners):
                continue  # a controller's key (a token controller, cert-manager, ...)
            self.add(
                ("data", k),
                Change.ADDED,
                None,
                MASK,
                human_writer(owners),
                hashes=(None, secret_digest(lv)),
            )

    # ---------------------------------------------------------------- autoscaled replicas

    def check_autoscaled_replicas(self, asc: Autoscaler) -> None:
        spec_l = self.live.get("spec")
        spec_d = self.desired.get("spec")
        live_r = spec_l.get("replicas") if isinstance(spec_l, dict) else None
        desired_r = spec_d.get("replicas") if isinstance(spec_d, dict) else None
        if not isinstance(live_r, int) or isinstance(live_r, bool):
            return
        mpath = (field_key("spec"), field_key("replicas"))
        owners = self.mf.owners(mpath) if self.mf else []
        person = human_writer(owners)
        outside = live_r < asc.min_replicas or live_r > asc.max_replicas
        if not outside and (person is None or live_r == desired_r):
            return
        if outside:
            reason = "outside the autoscaler's range"
        else:
            assert person is not None
            reason = f"set by hand ({person.manager})"
        note = f"{live_r}, HPA {asc.name}, range {asc.min_replicas}-{asc.max_replicas}; {reason}"
        self.add(
            ("spec", "replicas"),
            Change.CHANGED,
            desired_r,
            live_r,
            person or pick_writer(owners),
            note=note,
            always=True,
        )

    def run(self) -> list[FieldDrift]:
        self.compare_map(self.desired, self.live, (), (), False)
        if self.secret:
            self.compare_secret_data()
        if self.autoscaler is not None and self.kind in SCALABLE_KINDS:
            self.check_autoscaled_replicas(self.autoscaler)
        return self.findings


# --------------------------------------------------------------------------- fast path

_KEYED_BY_NAME_OR_FIELD = _NAME_KEYED | {
    "volumeMounts",
    "volumeDevices",
    "hostAliases",
    "topologySpreadConstraints",
}


def _declared_subset(d: Any, lv: Any, q: bool, key: str, outer: str, kind: str) -> bool:
    """True when every field ``d`` declares holds an equal value in ``lv`` under the walk's
    rules (canonical values, empty equals absent outside data maps, merge-keyed lists may
    hold extra live items, atomic lists compare whole), allowing extra live keys, which
    without a person's write are never drift. Never looser than the walk: False means
    "not sure" and the full comparison decides. ``key`` is the field holding ``d``,
    ``outer`` the field holding that one (what tells container ports from other ports).

    Called for every in-sync object of a snapshot: scalars are compared here rather than
    one call deeper, and lists by a plain loop (a third fewer frames than a recursion)."""
    td = type(d)
    if td is dict:
        if type(lv) is not dict:
            return False
        data_map = key in DATA_MAP_KEYS
        get = lv.get
        for k, dv in d.items():
            v = get(k)
            if v is None:
                if dv is None or (not data_map and is_zero(dv)):
                    continue
                return False
            tv = type(dv)
            if tv is type(v) and dv == v:
                continue
            if tv is dict or tv is list:
                if not _declared_subset(dv, v, q or k in QUANTITY_KEYS, k, key, kind):
                    return False
            elif not values_equal(dv, v, q or k in QUANTITY_KEYS):
                return False
        return True
    if td is list:
        if type(lv) is not list:
            return False
        keyed = key in _KEYED_BY_NAME_OR_FIELD or (
            key == "ports"
            and (outer in _CONTAINER_LISTS or (kind == "Service" and outer == "spec"))
        )
        if not keyed:
            return values_equal(d, lv, q)
        if len(lv) < len(d):
            return False
        if key == "ports":
            for a, b in zip(d, lv, strict=False):
                if (
                    type(a) is not dict
                    or type(b) is not dict
                    or (a.get("protocol") or "TCP") != (b.get("protocol") or "TCP")
                ):
                    return False  # the protocol default is part of a port's merge key
        for a, b in zip(d, lv, strict=False):  # noqa: SIM110 - no generator per list
            if not _declared_subset(a, b, q, key, outer, kind):
                return False
        return True
    return values_equal(d, lv, q)


def _quietly_in_sync(desired: JSONDict, live: JSONDict, kind: str) -> bool:
    """The cheap proof that an object is in sync, tried before normalising: live holds
    every declared value and no person wrote anything (so nothing live-only can be drift).
    Secrets, restart markers and people's writes always take the full comparison."""
    if kind == "Secret":
        return False
    meta = live.get("metadata")
    if not isinstance(meta, dict):
        return False
    mf = meta.get("managedFields")
    if isinstance(mf, list) and any(
        isinstance(e, dict) and isinstance(e.get("manager"), str) and is_human_manager(e["manager"])
        for e in mf
    ):
        return False
    spec = live.get("spec")
    if isinstance(spec, dict):
        tpl = spec.get("template")
        if isinstance(tpl, dict):
            tmeta = tpl.get("metadata")
            notes = tmeta.get("annotations") if isinstance(tmeta, dict) else None
            if isinstance(notes, dict) and RESTARTED_AT in notes:
                return False
    for k, dv in desired.items():
        if k in ("apiVersion", "kind"):
            continue
        v = live.get(k)
        if v is None:
            if is_zero(dv):
                continue
            return False
        if dv == v and type(dv) is type(v):
            continue
        if not _declared_subset(dv, v, k in QUANTITY_KEYS, k, "", kind):
            return False
    return True


# --------------------------------------------------------------------------- entry points


def error_item(
    key: ResourceKey, api_version: str, message: str, environment: str = ""
) -> DriftItem:
    """An object that could not be read or compared: an error, never clean."""
    return DriftItem(
        key=key,
        api_version=api_version,
        status=ResourceStatus.ERROR,
        environment=environment,
        error=message,
    )


def _loose_key(obj: Any, default_namespace: str) -> ResourceKey:
    """Best-effort key of a malformed object, for its error item."""
    if not isinstance(obj, Mapping):
        return ResourceKey("", "?", "", "?")
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    api = obj.get("apiVersion")
    group = api.rpartition("/")[0] if isinstance(api, str) and "/" in api else ""
    return ResourceKey(
        group=group,
        kind=str(obj.get("kind") or "?"),
        namespace=str(meta.get("namespace") or default_namespace),
        name=str(meta.get("name") or "?"),
    )


def _api_version(obj: Any) -> str:
    if isinstance(obj, Mapping):
        v = obj.get("apiVersion")
        if isinstance(v, str):
            return v
    return ""


def _valid(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    meta = obj.get("metadata")
    return (
        isinstance(obj.get("kind"), str)
        and bool(obj["kind"])
        and isinstance(meta, dict)
        and isinstance(meta.get("name"), str)
        and bool(meta["name"])
    )


def _missing_item(desired: JSONDict, key: ResourceKey, ctx: DiffContext) -> DriftItem:
    path: FieldPath = ()
    category, severity, safe = classify(key.kind, path, Change.MISSING, None, None)
    fid = finding_id(ctx.environment, key, path, Change.MISSING)
    finding = FieldDrift(
        path=path,
        change=Change.MISSING,
        desired=None,
        live=None,
        category=category,
        severity=severity,
        safe_to_autofix=safe,
        note="not found in the cluster",
        id=fid,
        fingerprint=stable_hash(fid, None, None),
    )
    cost = None
    if key.kind in WORKLOAD_KINDS:
        cost = cost_impact(normalize_desired(desired), None, ctx.prices).monthly_usd
    return DriftItem(
        key=key,
        api_version=_api_version(desired),
        status=ResourceStatus.MISSING,
        fields=(finding,),
        environment=ctx.environment,
        owner=owner_of(desired),
        unit=ctx.units.get(key),
        space=ctx.space,
        autoscaler=ctx.autoscalers.get(key),
        monthly_cost_usd=cost,
    )


def diff_object(
    desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None, ctx: DiffContext
) -> DriftItem:
    """Compare one desired object with its live counterpart.

    ``live`` None: the object is MISSING (one finding with an empty path). ``desired`` None:
    the live object is UNMANAGED (no findings). A malformed object gives an ERROR item,
    never an exception.
    """
    if desired is None and live is None:
        raise ValueError("diff_object needs a desired or a live object")
    subject = desired if desired is not None else live
    if not _valid(subject) or (live is not None and not _valid(live)):
        bad = subject if not _valid(subject) else live
        return error_item(
            _loose_key(subject, ctx.default_namespace),
            _api_version(subject),
            "object has no kind or metadata.name"
            if isinstance(bad, Mapping)
            else f"object is a {type(bad).__name__}, not a mapping",
            ctx.environment,
        )
    assert subject is not None
    return _diff_pair(desired, live, key_of(subject, ctx.default_namespace), ctx)


def _diff_pair(
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    key: ResourceKey,
    ctx: DiffContext,
) -> DriftItem:
    if desired is None:
        assert live is not None
        return DriftItem(
            key=key,
            api_version=_api_version(live),
            status=ResourceStatus.UNMANAGED,
            environment=ctx.environment,
            owner=owner_of(live),
            rolling_out=is_rolling_out(live),
            space=ctx.space,
        )
    d = desired if isinstance(desired, dict) else dict(desired)
    if live is None:
        return _missing_item(d, key, ctx)
    lv = live if isinstance(live, dict) else dict(live)
    asc = ctx.autoscalers.get(key) if key.kind in SCALABLE_KINDS else None
    if asc is None and _quietly_in_sync(d, lv, key.kind):
        return DriftItem(
            key=key,
            api_version=_api_version(lv) or _api_version(d),
            status=ResourceStatus.IN_SYNC,
            environment=ctx.environment,
            owner=owner_of(lv),
            rolling_out=is_rolling_out(lv),
            unit=ctx.units.get(key),
            space=ctx.space,
        )
    norm = normalize_desired(d)
    findings = _Walk(ctx, key, norm, lv, asc, d).run()
    if ctx.ignore_rules and findings:
        findings = apply_rules(ctx.ignore_rules, ctx.environment, key, findings)
    counted = [f for f in findings if f.counts]
    status = ResourceStatus.DRIFTED if counted else ResourceStatus.IN_SYNC
    cost = None
    if counted and key.kind in WORKLOAD_KINDS:
        cost = _cost(norm, lv, counted, asc, ctx.prices)
    return DriftItem(
        key=key,
        api_version=_api_version(lv) or _api_version(d),
        status=status,
        fields=tuple(findings),
        environment=ctx.environment,
        owner=owner_of(lv),
        rolling_out=is_rolling_out(lv),
        unit=ctx.units.get(key),
        space=ctx.space,
        autoscaler=asc,
        monthly_cost_usd=cost,
    )


def _cost(
    desired: JSONDict,
    live: JSONDict,
    counted: Sequence[FieldDrift],
    asc: Autoscaler | None,
    prices: Prices,
) -> float:
    base = desired
    replicas_counted = any(f.category is Category.REPLICAS for f in counted)
    spec_l = live.get("spec")
    spec_d = desired.get("spec")
    if (
        asc is not None
        and not replicas_counted
        and isinstance(spec_l, dict)
        and isinstance(spec_d, dict)
        and "replicas" in spec_l
    ):
        base = {**desired, "spec": {**spec_d, "replicas": spec_l["replicas"]}}
    return cost_impact(base, live, prices).monthly_usd


def autoscalers_from(
    objects: Iterable[Mapping[str, Any]], default_namespace: str = "default"
) -> dict[ResourceKey, Autoscaler]:
    """Autoscalers found among ``objects``: HPAs indexed by their ``scaleTargetRef``."""
    out: dict[ResourceKey, Autoscaler] = {}
    for obj in objects:
        if not isinstance(obj, Mapping) or obj.get("kind") != "HorizontalPodAutoscaler":
            continue
        spec = obj.get("spec")
        meta = obj.get("metadata")
        if not isinstance(spec, Mapping) or not isinstance(meta, Mapping):
            continue
        ref = spec.get("scaleTargetRef")
        if not isinstance(ref, Mapping) or not ref.get("kind") or not ref.get("name"):
            continue
        api = str(ref.get("apiVersion") or "apps/v1")
        group = api.rpartition("/")[0] if "/" in api else ""
        ns = str(meta.get("namespace") or default_namespace)
        target = ResourceKey(group, str(ref["kind"]), ns, str(ref["name"]))
        lo = spec.get("minReplicas", 1)
        hi = spec.get("maxReplicas")
        lo = lo if isinstance(lo, int) and not isinstance(lo, bool) else 1
        if not isinstance(hi, int) or isinstance(hi, bool):
            continue
        out[target] = Autoscaler(
            name=str(meta.get("name") or "?"), target=target, min_replicas=lo, max_replicas=hi
        )
    return out


def _is_unmanaged_candidate(live: Mapping[str, Any]) -> bool:
    """Live objects worth reporting as unmanaged: not children of a controller and not the
    objects Kubernetes creates in every namespace."""
    kind = live.get("kind")
    if kind in _NOT_UNMANAGED_KINDS:
        return False
    meta = live.get("metadata")
    if not isinstance(meta, Mapping):
        return False
    refs = meta.get("ownerReferences")
    if isinstance(refs, list) and any(isinstance(r, Mapping) and r.get("controller") for r in refs):
        return False
    name = meta.get("name")
    if kind == "ConfigMap" and name == "kube-root-ca.crt":
        return False
    if kind == "ServiceAccount" and name == "default":
        return False
    if kind == "Secret" and live.get("type") == "kubernetes.io/service-account-token":
        return False
    return not (kind == "Service" and name == "kubernetes" and meta.get("namespace") == "default")


def diff_objects(
    desired: Sequence[Mapping[str, Any]],
    live: Sequence[Mapping[str, Any]],
    ctx: DiffContext,
) -> list[DriftItem]:
    """Pair objects by ResourceKey and diff each pair, sorted by key.

    Desired objects absent from live are MISSING; live objects absent from desired are
    UNMANAGED items only with ``ctx.include_unmanaged``. HPAs among the objects (live ones
    first) mark their targets as autoscaled, unless ``ctx.autoscalers`` already names them.
    Malformed objects give ERROR items; when a key repeats, the last object wins.
    """
    ns = ctx.default_namespace
    items: list[DriftItem] = []
    d_map: dict[ResourceKey, Mapping[str, Any]] = {}
    l_map: dict[ResourceKey, Mapping[str, Any]] = {}
    for objs, target in ((desired, d_map), (live, l_map)):
        for obj in objs:
            if _valid(obj):
                target[key_of(obj, ns)] = obj
            else:
                items.append(
                    error_item(
                        _loose_key(obj, ns),
                        _api_version(obj),
                        "object has no kind or metadata.name",
                        ctx.environment,
                    )
                )
    items.extend(diff_keyed(d_map, l_map, ctx))
    items.sort(key=_sort_key)
    return items


def _sort_key(item: DriftItem) -> tuple[str, str, str, str]:
    k = item.key
    return (k.group, k.kind, k.namespace, k.name)


def diff_keyed(
    desired: Mapping[ResourceKey, Mapping[str, Any]],
    live: Mapping[ResourceKey, Mapping[str, Any]],
    ctx: DiffContext,
) -> list[DriftItem]:
    """:func:`diff_objects` for objects already keyed (an engine's store, a loader that
    checked them): every desired key in order, then unmanaged live objects if asked.
    Objects must be well-formed (kind and metadata.name)."""
    ns = ctx.default_namespace
    found = autoscalers_from(desired.values(), ns)
    found.update(autoscalers_from(live.values(), ns))
    if found:
        ctx = dataclasses.replace(ctx, autoscalers={**found, **ctx.autoscalers})
    items = [_diff_pair(d, live.get(key), key, ctx) for key, d in desired.items()]
    if ctx.include_unmanaged:
        for key, lv in live.items():
            if key not in desired and _is_unmanaged_candidate(lv):
                items.append(_diff_pair(None, lv, key, ctx))
    return items
