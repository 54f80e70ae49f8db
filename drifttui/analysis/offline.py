"""The offline analyst: deterministic rules plus the cost model, no network, no key.

It gives the same shape of answer as Claude (a summary and one :class:`Verdict` per counted
finding) from the same redacted findings (:func:`~drifttui.analysis.redact.prepare_findings`),
so it is the analyst when no key is set and the fallback when the API fails. Rules, first
match wins:

========================= ============================== ============ =====================
finding                   cause                          risk         action
========================= ============================== ============ =====================
object missing            deleted outside ConfigHub      availability patch-live (re-create)
Secret edited             credential changed by hand     security     investigate
security widened          privileged, root, host access, security     patch-live
(securityContext, RBAC,   new capabilities, more RBAC
hostPath, PSA label)      verbs/resources/subjects
security tightened        hardened in the cluster        none         accept-into-hub
other security field      changed outside ConfigHub      security     investigate
replicas under autoscaler manual scale of an HPA target  cost/avail.  investigate
replicas up               over-scaling                   cost         patch-live
replicas down             under-scaling (single replica  availability patch-live
                          in production, scaled to zero)
image registry changed    pulled from another registry   security     patch-live
image repository changed  another image                  security     investigate
image ``latest``/untagged unpinned image                 availability patch-live
image tag newer           hotfix in the cluster          availability accept-into-hub
image tag older           manual rollback                availability investigate
resources raised          requests/limits raised         cost         patch-live
resources lowered/removed starved or unbounded pods      availability patch-live
config data changed       configuration edited by hand   availability patch-live
config key added          configuration added by hand    none         accept-into-hub
credential-like config    credential edited by hand      security     investigate
or env var (redacted)
ports changed             clients may not reach it       availability patch-live
labels/annotations added  written by a tool              none         add-ignore-rule
labels/annotations        edited by a person             none         accept-into-hub/patch
env var changed           configuration edited by hand   availability patch-live
anything else             changed outside ConfigHub      none         investigate
========================= ============================== ============ =====================

Cost: a resource's ``monthly_cost_usd`` (the cost model's live-minus-desired figure, from the
diff) is put on its replicas finding, else on its first resources finding; without it, a
resources finding is priced by :func:`drifttui.core.cost.cost_impact` on the changed requests
(times the live replica count when the same resource's replicas finding shows it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drifttui.analysis.protocol import Action, Analysis, Risk, Verdict
from drifttui.analysis.redact import PreparedFinding, prepare_findings
from drifttui.core.cost import DEFAULT_PRICES, cost_impact
from drifttui.core.models import MASK, DriftItem, Environment, Prices, Sel
from drifttui.core.quantity import parse_quantity
from drifttui.core.sensitive import name_tokens

_WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Pod"}
_RBAC_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
_BOOL_WIDENING = {
    "privileged",
    "allowPrivilegeEscalation",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "automountServiceAccountToken",
}
_SECURITY_LEAVES = _BOOL_WIDENING | {
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "readOnlyRootFilesystem",
    "capabilities",
    "securityContext",
    "seccompProfile",
    "seLinuxOptions",
    "appArmorProfile",
    "procMount",
    "serviceAccountName",
    "serviceAccount",
    "hostPath",
    "hostPort",
}
_PORT = re.compile(r"(?:^p|P)orts?$")
_PSA_LEVELS = {"restricted": 0, "baseline": 1, "privileged": 2}


# --------------------------------------------------------------------------- helpers


def _leaf_names(f: PreparedFinding) -> list[str]:
    """The path's map keys (selectors dropped), e.g. ["spec", "template", ..., "image"]."""
    if f.field is None:
        return []
    return [e for e in f.field.path if isinstance(e, str)]


def _selectors(f: PreparedFinding) -> list[Sel]:
    if f.field is None:
        return []
    return [e for e in f.field.path if isinstance(e, Sel)]


def _as_int(v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return int(v)


def _selected_name(f: PreparedFinding, *, last: bool = False) -> Any:
    """The ``name`` of the path's first (or last) selector, e.g. the container's."""
    selectors = _selectors(f)
    return dict(selectors[-1 if last else 0].keys).get("name") if selectors else None


def _money(usd: float) -> str:
    sign = "+" if usd >= 0 else "-"
    return f"{sign}${abs(usd):,.2f}/month"


def _cost_note(cost: float | None) -> str:
    """`` (+$26.13/month)`` to end a reason with, or nothing without a figure."""
    return f" ({_money(cost)})" if cost is not None else ""


@dataclass(frozen=True, slots=True)
class ImageRef:
    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        digest = None
        if "@" in ref:
            ref, digest = ref.split("@", 1)
        first, _, rest = ref.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, remainder = first, rest
        else:
            registry, remainder = "docker.io", ref
        tag = None
        name, colon, maybe_tag = remainder.rpartition(":")
        if colon and "/" not in maybe_tag:
            remainder, tag = name, maybe_tag
        if registry == "docker.io" and "/" not in remainder:
            remainder = "library/" + remainder
        return cls(registry, remainder, tag, digest)

    @property
    def pinned(self) -> bool:
        return self.digest is not None or (self.tag is not None and self.tag != "latest")


def _version(tag: str | None) -> tuple[int, ...] | None:
    if not tag:
        return None
    m = re.match(r"^v?(\d+(?:\.\d+)*)", tag)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


# --------------------------------------------------------------------------- cost


def _requests_of(value: Any) -> tuple[Any, Any]:
    """(cpu, memory) requests from a ``resources`` or ``resources.requests`` value."""
    if isinstance(value, Mapping):
        req = value.get("requests") if "requests" in value else value
        if isinstance(req, Mapping):
            return req.get("cpu"), req.get("memory")
    return None, None


def _resource_cost(
    f: PreparedFinding, replicas: int, prices: Prices
) -> tuple[float | None, str | None]:
    """Cost-model price of a change of requests on one container, times ``replicas``."""
    names = _leaf_names(f)
    if "resources" not in names or f.payload.get("kind") not in _WORKLOADS:
        return None, None
    tail = names[names.index("resources") + 1 :]
    if tail[:1] == ["limits"]:
        return None, None  # limits do not reserve capacity (requests are what is billed)
    desired, live = f.payload.get("desired"), f.payload.get("live")
    if tail in (["requests", "cpu"], ["requests", "memory"]):
        res = tail[1]
        d_cpu, d_mem = (desired, None) if res == "cpu" else (None, desired)
        l_cpu, l_mem = (live, None) if res == "cpu" else (None, live)
    elif tail in ([], ["requests"]):
        d_cpu, d_mem = _requests_of(desired)
        l_cpu, l_mem = _requests_of(live)
    else:
        return None, None
    for q in (d_cpu, d_mem, l_cpu, l_mem):
        if q is not None and parse_quantity(q) is None:
            return None, None

    def obj(cpu: Any, mem: Any) -> dict[str, Any]:
        req = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v is not None}
        pod = {"containers": [{"name": "c", "resources": {"requests": req}}]}
        return {"kind": "Deployment", "spec": {"replicas": replicas, "template": {"spec": pod}}}

    impact = cost_impact(obj(d_cpu, d_mem), obj(l_cpu, l_mem), prices)
    return impact.monthly_usd, impact.explanation


def cost_by_finding(
    findings: Sequence[PreparedFinding], prices: Prices = DEFAULT_PRICES
) -> dict[str, float | None]:
    """The cost-model figure of each finding (see the module doc); None where none applies.
    Each resource's cost is counted once, so the values can be summed."""
    out: dict[str, float | None] = {f.id: None for f in findings}
    by_item: dict[tuple[str, str], list[PreparedFinding]] = {}
    for f in findings:
        by_item.setdefault((f.item.environment, str(f.item.key)), []).append(f)
    for group in by_item.values():
        item_cost = group[0].item.monthly_cost_usd
        replicas_f = [g for g in group if _is_replicas(g)]
        resources_f = [g for g in group if "resources" in _leaf_names(g)]
        if item_cost is not None:
            targets = replicas_f or resources_f
            if targets:
                out[targets[0].id] = round(item_cost, 2)
            continue
        live_replicas = _as_int(replicas_f[0].payload.get("live")) if replicas_f else None
        for g in resources_f:
            out[g.id], _ = _resource_cost(g, live_replicas or 1, prices)
    return out


def total_cost(costs: Mapping[str, float | None]) -> float | None:
    known = [c for c in costs.values() if c is not None]
    return round(sum(known), 2) if known else None


# --------------------------------------------------------------------------- verdicts


@dataclass
class _Rule:
    cause: str
    risk: Risk
    action: Action
    confidence: float
    reason: str
    headline: str
    headline_rank: int  # lower comes first in the summary


@dataclass(frozen=True, slots=True)
class _Row:
    """One verdict of the module doc's table: what every finding it matches shares. The
    rule that picks it writes the finding's own cause and reason."""

    risk: Risk
    action: Action
    confidence: float
    headline: str
    headline_rank: int  # lower comes first in the summary

    def rule(self, cause: str, reason: str, *, confidence: float | None = None) -> _Rule:
        return _Rule(
            cause=cause,
            risk=self.risk,
            action=self.action,
            confidence=self.confidence if confidence is None else confidence,
            reason=reason,
            headline=self.headline,
            headline_rank=self.headline_rank,
        )


# The module doc's table, one row per verdict, in the order rule_for tries them.
_MISSING = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.85, "Missing objects", 2)
_SECRET = _Row(Risk.SECURITY, Action.INVESTIGATE, 0.6, "Secret changed", 3)
_SECURITY_WIDENED = _Row(Risk.SECURITY, Action.PATCH_LIVE, 0.9, "Security widening detected", 0)
_SECURITY_TIGHTENED = _Row(Risk.NONE, Action.ACCEPT_INTO_HUB, 0.6, "Security setting changed", 8)
_SECURITY_OTHER = _Row(Risk.SECURITY, Action.INVESTIGATE, 0.5, "Security setting changed", 1)
_AUTOSCALED = "Manual scaling of an autoscaled workload"
_AUTOSCALED_UP = _Row(Risk.COST, Action.INVESTIGATE, 0.6, _AUTOSCALED, 4)
_AUTOSCALED_DOWN = _Row(Risk.AVAILABILITY, Action.INVESTIGATE, 0.6, _AUTOSCALED, 4)
_OVER_SCALING = _Row(Risk.COST, Action.PATCH_LIVE, 0.8, "Over-scaling detected", 5)
_OUTAGE_RISK = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.9, "Under-scaling detected", 3)
_UNDER_SCALING = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.8, "Under-scaling detected", 3)
_REPLICAS_OTHER = _Row(Risk.AVAILABILITY, Action.INVESTIGATE, 0.5, "Replica drift", 6)
_ROLLING_CONFIDENCE = 0.6  # a rollout in progress may explain a replica count
_IMAGE_REGISTRY = _Row(Risk.SECURITY, Action.PATCH_LIVE, 0.85, "Image registry changed", 1)
_IMAGE_REPLACED = _Row(Risk.SECURITY, Action.INVESTIGATE, 0.6, "Image replaced", 2)
_IMAGE_UNPINNED = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.8, "Unpinned image", 6)
_IMAGE_NEWER = _Row(Risk.AVAILABILITY, Action.ACCEPT_INTO_HUB, 0.55, "Image changed", 7)
_IMAGE_OLDER = _Row(Risk.AVAILABILITY, Action.INVESTIGATE, 0.6, "Image changed", 7)
_IMAGE_OTHER = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.65, "Image changed", 7)
_RESOURCES_RAISED = _Row(Risk.COST, Action.PATCH_LIVE, 0.7, "Resources raised", 6)
_RESOURCES_LOWERED = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.7, "Resources lowered", 5)
_REQUESTS_REMOVED = _Row(Risk.COST, Action.PATCH_LIVE, 0.7, "Resources lowered", 5)
_RESOURCES_OTHER = _Row(Risk.COST, Action.INVESTIGATE, 0.5, "Resources changed", 6)
_CREDENTIAL_EDITED = _Row(Risk.SECURITY, Action.INVESTIGATE, 0.6, "Configuration edited", 7)
_CONFIG_ADDED = _Row(Risk.NONE, Action.ACCEPT_INTO_HUB, 0.55, "Configuration edited", 7)
_CONFIG_REMOVED = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.75, "Configuration edited", 7)
_CONFIG_EDITED = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.65, "Configuration edited", 7)
_ENV_EDITED = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.6, "Configuration edited", 7)
_PORTS = _Row(Risk.AVAILABILITY, Action.PATCH_LIVE, 0.7, "Ports changed", 6)
_METADATA_BY_TOOL = _Row(Risk.NONE, Action.ADD_IGNORE_RULE, 0.6, "Metadata edited", 9)
_METADATA_BY_PERSON = _Row(Risk.NONE, Action.ACCEPT_INTO_HUB, 0.5, "Metadata edited", 9)
_METADATA_CHANGED = _Row(Risk.NONE, Action.PATCH_LIVE, 0.6, "Metadata edited", 9)
_OTHER = _Row(Risk.NONE, Action.INVESTIGATE, 0.4, "Other drift", 10)

_CREDENTIAL_REASON = "credentials belong in a Secret kept in ConfigHub; check who changed it"


# --------------------------------------------------------------------------- rules


def _is_replicas(f: PreparedFinding) -> bool:
    names = _leaf_names(f)
    return f.payload.get("category") == "replicas" or names[-1:] == ["replicas"]


def _security_direction(f: PreparedFinding) -> str:
    """ "widen", "narrow" or "unknown" for a security-relevant change."""
    p = f.payload
    names = _leaf_names(f)
    leaf = names[-1] if names else ""
    d, live, change = p.get("desired"), p.get("live"), p.get("change")
    kind = p.get("kind")
    if leaf in _BOOL_WIDENING or leaf == "readOnlyRootFilesystem":
        # true widens a _BOOL_WIDENING flag; readOnlyRootFilesystem true hardens
        before, after = (d, live) if leaf in _BOOL_WIDENING else (live, d)
        if after is True and before is not True:
            return "widen"
        if before is True and after is not True:
            return "narrow"
    if leaf == "runAsNonRoot":
        if live is False or (live is None and d is True):
            return "widen"
        if live is True:
            return "narrow"
    if leaf in ("runAsUser", "runAsGroup"):
        if live == 0 and d != 0:
            return "widen"
        if d == 0 and live not in (0, None):
            return "narrow"
    if leaf in ("add", "drop", "capabilities"):
        return _capabilities_direction(leaf, d, live)
    if leaf == "hostPath" or "hostPath" in names:
        return "widen" if change in ("added", "changed") else "narrow"
    if leaf == "hostPort":
        return "widen" if live is not None else "narrow"
    if names[:2] == ["metadata", "labels"] and leaf.startswith("pod-security.kubernetes.io/"):
        d_lvl, l_lvl = _PSA_LEVELS.get(str(d), -1), _PSA_LEVELS.get(str(live), -1)
        if l_lvl > d_lvl:
            return "widen"
        if 0 <= l_lvl < d_lvl:
            return "narrow"
    if kind in _RBAC_KINDS:
        return _rbac_direction(leaf, d, live, change)
    return "unknown"


def _str_set(v: Any) -> set[str]:
    return {str(x) for x in v} if isinstance(v, list) else set()


def _grants_direction(desired: set[Any], live: set[Any]) -> str:
    """ "widen" when live grants something desired does not, "narrow" when only less."""
    if live - desired:
        return "widen"
    return "narrow" if desired - live else "unknown"


def _capabilities_direction(leaf: str, d: Any, live: Any) -> str:
    if leaf == "capabilities":
        d_add = _str_set(d.get("add")) if isinstance(d, Mapping) else set()
        l_add = _str_set(live.get("add")) if isinstance(live, Mapping) else set()
        d_drop = _str_set(d.get("drop")) if isinstance(d, Mapping) else set()
        l_drop = _str_set(live.get("drop")) if isinstance(live, Mapping) else set()
    elif leaf == "add":
        d_add, l_add, d_drop, l_drop = _str_set(d), _str_set(live), set(), set()
    else:
        d_add, l_add, d_drop, l_drop = set(), set(), _str_set(d), _str_set(live)
    if l_add - d_add or d_drop - l_drop:
        return "widen"
    if d_add - l_add or l_drop - d_drop:
        return "narrow"
    return "unknown"


def _rule_triples(rules: Any) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    items = rules if isinstance(rules, list) else [rules]
    for r in items:
        if not isinstance(r, Mapping):
            continue
        groups = r.get("apiGroups") or [""]
        resources = r.get("resources") or r.get("nonResourceURLs") or ["*"]
        verbs = r.get("verbs") or []
        for g in groups if isinstance(groups, list) else [groups]:
            for res in resources if isinstance(resources, list) else [resources]:
                for v in verbs if isinstance(verbs, list) else [verbs]:
                    out.add((str(g), str(res), str(v)))
    return out


def _rbac_direction(leaf: str, d: Any, live: Any, change: Any) -> str:
    if leaf in ("rules", "verbs", "resources", "apiGroups") or (
        isinstance(live, Mapping) and "verbs" in live
    ):
        if leaf in ("verbs", "resources", "apiGroups"):
            return _grants_direction(_str_set(d), _str_set(live))
        return _grants_direction(_rule_triples(d), _rule_triples(live))
    if leaf == "subjects" or (isinstance(live, Mapping) and "kind" in live and change == "added"):
        d_s = {repr(x) for x in d} if isinstance(d, list) else set()
        l_s = {repr(x) for x in live} if isinstance(live, list) else set()
        return "widen" if change == "added" else _grants_direction(d_s, l_s)
    if leaf == "roleRef":
        return "widen"  # a binding now grants another role: treat as wider until checked
    return "widen" if change == "added" else "unknown"


def _is_security(f: PreparedFinding) -> bool:
    p = f.payload
    names = _leaf_names(f)
    if p.get("category") == "security" or p.get("kind") in _RBAC_KINDS:
        return True
    if any(n in _SECURITY_LEAVES for n in names[-3:]):
        return True
    return bool(names) and names[-1].startswith("pod-security.kubernetes.io/")


def _replicas_rule(f: PreparedFinding, cost: float | None) -> _Rule:
    p = f.payload
    d, live = _as_int(p.get("desired")), _as_int(p.get("live"))
    name = str(p.get("name"))
    scaler = p.get("autoscaler")
    rolling = " (a rollout is in progress)" if p.get("rolling_out") else ""
    confidence = _ROLLING_CONFIDENCE if rolling else None
    if isinstance(scaler, Mapping):
        lo, hi = scaler.get("min_replicas"), scaler.get("max_replicas")
        human = isinstance(p.get("changed_by"), Mapping) and p["changed_by"].get("human")
        who = "a person scaled" if human else "replicas changed on"
        row = _AUTOSCALED_UP if (live or 0) > (d or 0) else _AUTOSCALED_DOWN
        return row.rule(
            f"{who} a workload the HPA {scaler.get('name')} manages ({lo}–{hi})",
            f"the autoscaler owns spec.replicas: check why {name} runs {live} replicas; "
            "fix the HPA bounds rather than the replica count",
        )
    if d is not None and live is not None and live > d:
        return _OVER_SCALING.rule(
            f"over-scaling: {live} replicas instead of {d}{rolling}",
            f"scale {name} back from {live} to {d} replicas{_cost_note(cost)}",
            confidence=confidence,
        )
    if d is not None and live is not None and live < d:
        if live == 0:
            row, cause = _OUTAGE_RISK, f"scaled to zero (desired {d})"
        elif live == 1 and p.get("production"):
            row, cause = _OUTAGE_RISK, f"single replica in production (desired {d})"
        else:
            row, cause = _UNDER_SCALING, f"under-scaling: {live} replicas instead of {d}"
        return row.rule(
            cause + rolling,
            f"scale {name} up from {live} to {d} replicas to restore availability"
            + _cost_note(cost),
            confidence=confidence,
        )
    return _REPLICAS_OTHER.rule(
        "replica count changed outside ConfigHub",
        f"compare {name}'s replicas with ConfigHub ({p.get('desired')} vs {live})",
    )


def _image_rule(f: PreparedFinding) -> _Rule | None:
    p = f.payload
    d, live = p.get("desired"), p.get("live")
    if not isinstance(d, str) or not isinstance(live, str) or MASK in (d, live):
        return None
    di, li = ImageRef.parse(d), ImageRef.parse(live)
    if di.registry != li.registry:
        return _IMAGE_REGISTRY.rule(
            f"image pulled from another registry ({di.registry} → {li.registry})",
            f"restore {d}: an unreviewed registry can serve any code",
        )
    if di.repository != li.repository:
        return _IMAGE_REPLACED.rule(
            f"another image runs ({di.repository} → {li.repository})",
            "find out who swapped the image and why before patching it back",
        )
    if not li.pinned:
        return _IMAGE_UNPINNED.rule(
            f"unpinned image: {live} can change under the same name",
            f"pin the reviewed image {d} again",
        )
    dv, lv = _version(di.tag), _version(li.tag)
    if dv is not None and lv is not None and lv > dv:
        return _IMAGE_NEWER.rule(
            f"image moved ahead in the cluster ({di.tag} → {li.tag}): likely a hotfix",
            "if the hotfix should stay, record it in ConfigHub; otherwise patch live",
        )
    if dv is not None and lv is not None and lv < dv:
        return _IMAGE_OLDER.rule(
            f"image rolled back in the cluster ({di.tag} → {li.tag})",
            "a manual rollback often follows an incident: check before re-applying",
        )
    return _IMAGE_OTHER.rule(
        f"image changed outside ConfigHub ({d} → {live})",
        f"restore the reviewed image {d}",
    )


def _quantity_direction(d: Any, live: Any) -> int:
    """+1 raised, -1 lowered or removed, 0 unknown (for scalars or requests/limits maps)."""
    if isinstance(d, Mapping) or isinstance(live, Mapping):
        dirs = set()
        dm = d if isinstance(d, Mapping) else {}
        lm = live if isinstance(live, Mapping) else {}
        for k in set(dm) | set(lm):
            dirs.add(_quantity_direction(dm.get(k), lm.get(k)))
        dirs.discard(0)
        return dirs.pop() if len(dirs) == 1 else 0
    if live is None and d is not None:
        return -1
    if d is None and live is not None:
        return 1
    dq, lq = parse_quantity(d), parse_quantity(live)
    if dq is None or lq is None or dq == lq:
        return 0
    return 1 if lq > dq else -1


def _resources_rule(f: PreparedFinding, cost: float | None) -> _Rule:
    p = f.payload
    names = _leaf_names(f)
    tail = names[names.index("resources") + 1 :] if "resources" in names else []
    what = ".".join(tail) or "resources"
    container = _selected_name(f)
    where = f" of container {container}" if container else ""
    direction = _quantity_direction(p.get("desired"), p.get("live"))
    restore = f"restore {what} {p.get('desired')}{_cost_note(cost)}"
    if direction > 0:
        return _RESOURCES_RAISED.rule(
            f"{what}{where} raised in the cluster",
            f"{restore}; if the pods needed more, raise it in ConfigHub instead",
        )
    if direction < 0 and p.get("live") is not None:
        return _RESOURCES_LOWERED.rule(
            f"{what}{where} lowered in the cluster",
            f"pods may be throttled or OOM-killed: {restore}",
        )
    if direction < 0:
        row = _RESOURCES_LOWERED if tail[:1] == ["limits"] else _REQUESTS_REMOVED
        return row.rule(f"{what}{where} removed in the cluster", f"pods are unbounded: {restore}")
    return _RESOURCES_OTHER.rule(
        f"{what}{where} changed outside ConfigHub",
        f"compare {what} with ConfigHub ({p.get('desired')} vs {p.get('live')})",
    )


def _security_rule(f: PreparedFinding) -> _Rule:
    names = _leaf_names(f)
    leaf = names[-1] if names else "field"
    kind = f.payload.get("kind")
    direction = _security_direction(f)
    subject = f"{kind} {leaf}" if kind in _RBAC_KINDS else leaf
    if direction == "widen":
        return _SECURITY_WIDENED.rule(
            f"permissions widened in the cluster ({subject})",
            "restore the reviewed, narrower setting; widening needs a reviewed change",
        )
    if direction == "narrow":
        return _SECURITY_TIGHTENED.rule(
            f"hardened in the cluster ({subject})",
            "the live setting is stricter: keep it by accepting it into ConfigHub",
        )
    return _SECURITY_OTHER.rule(
        f"security-relevant field changed outside ConfigHub ({subject})",
        "review who changed it and whether it grants more than intended",
    )


def _labels_rule(f: PreparedFinding) -> _Rule:
    p = f.payload
    changed_by = p.get("changed_by")
    human = isinstance(changed_by, Mapping) and bool(changed_by.get("human"))
    manager = changed_by.get("manager") if isinstance(changed_by, Mapping) else None
    if p.get("change") == "added" and not human:
        return _METADATA_BY_TOOL.rule(
            f"metadata written by a tool{f' ({manager})' if manager else ''}",
            "a tool will keep writing it: ignore it rather than fight it",
        )
    if p.get("change") == "added":
        return _METADATA_BY_PERSON.rule(
            "metadata added by a person",
            "keep it by accepting it into ConfigHub, or patch live to drop it",
        )
    return _METADATA_CHANGED.rule(
        "metadata changed outside ConfigHub",
        "restore the value kept in ConfigHub (selectors may depend on labels)",
    )


def _config_rule(f: PreparedFinding) -> _Rule:
    p = f.payload
    names = _leaf_names(f)
    key = names[-1] if names else ""
    if p.get("redacted") or (
        key and any(t in ("password", "secret", "token") for t in name_tokens(key))
    ):
        return _CREDENTIAL_EDITED.rule(
            f"credential-like config key {key!r} edited by hand", _CREDENTIAL_REASON
        )
    change = p.get("change")
    if change == "added":
        return _CONFIG_ADDED.rule(
            f"configuration key {key!r} added in the cluster",
            "if the app needs it, record it in ConfigHub; otherwise patch live",
        )
    removed = change == "removed"
    return (_CONFIG_REMOVED if removed else _CONFIG_EDITED).rule(
        f"configuration {'removed' if removed else 'edited'} by hand ({key})",
        "restore the reviewed configuration; the app may behave differently",
    )


def _env_rule(f: PreparedFinding) -> _Rule:
    var = _selected_name(f, last=True)
    label = f"environment variable {var}" if var else "environment"
    if f.payload.get("redacted"):
        return _CREDENTIAL_EDITED.rule(
            f"credential-like {label} changed by hand", _CREDENTIAL_REASON
        )
    return _ENV_EDITED.rule(
        f"{label} changed outside ConfigHub",
        "restore the reviewed environment; the app may behave differently",
    )


def rule_for(f: PreparedFinding, cost: float | None) -> _Rule:
    """The first rule of the module's table that matches ``f``."""
    p = f.payload
    category = p.get("category")
    names = _leaf_names(f)
    kind = p.get("kind")
    if f.field is None or p.get("change") == "missing":
        return _MISSING.rule(
            f"{kind} {p.get('name')} is missing from the cluster (deleted by hand?)",
            "re-create it from ConfigHub",
        )
    if kind == "Secret" or category == "secret":
        return _SECRET.rule(
            "Secret changed outside ConfigHub (rotated or edited by hand?)",
            "if the credential was rotated on purpose, store the new value in ConfigHub; "
            "otherwise patch live (values are not shown to the analyst)",
        )
    if _is_security(f):
        return _security_rule(f)
    if _is_replicas(f):
        return _replicas_rule(f, cost)
    if category == "image" or names[-1:] == ["image"]:
        rule = _image_rule(f)
        if rule is not None:
            return rule
    if category == "resources" or "resources" in names:
        return _resources_rule(f, cost)
    if category == "config-data" or (
        kind == "ConfigMap" and names[:1] in (["data"], ["binaryData"])
    ):
        return _config_rule(f)
    if category == "ports" or any(_PORT.search(n) for n in names[-2:]):
        return _PORTS.rule(
            f"{names[-1] if names else 'port'} changed outside ConfigHub",
            "clients and probes use the declared port: restore it",
        )
    if category == "labels" or names[:2] in (["metadata", "labels"], ["metadata", "annotations"]):
        return _labels_rule(f)
    if "env" in names or "envFrom" in names:
        return _env_rule(f)
    return _OTHER.rule(
        f"{p.get('path')} changed outside ConfigHub",
        "no rule knows this field: review the change, then patch live or accept it",
    )


# --------------------------------------------------------------------------- analyst


def _summary(rules: Sequence[tuple[PreparedFinding, _Rule]], cost: float | None) -> str:
    if not rules:
        return "No drift to analyse."
    heads: dict[str, int] = {}
    for _, r in rules:
        heads[r.headline] = min(heads.get(r.headline, r.headline_rank), r.headline_rank)
    ordered = sorted(heads, key=lambda h: (heads[h], h))
    first = ", ".join([ordered[0]] + [h[0].lower() + h[1:] for h in ordered[1:3]])
    if len(ordered) > 3:
        first += f" and {len(ordered) - 3} more"
    resources = {(f.item.environment, str(f.item.key)) for f, _ in rules}
    n = len(rules)
    text = (
        f"{first}. {n} finding{'s' if n != 1 else ''} in {len(resources)} "
        f"resource{'s' if len(resources) != 1 else ''}"
    )
    if cost is not None and cost != 0:
        text += f"; monthly cost impact {_money(cost)}"
    worst = [r for _, r in rules if r.risk in (Risk.SECURITY, Risk.AVAILABILITY)]
    if worst:
        risks = sorted({str(r.risk) for r in worst})
        text += f"; {' and '.join(risks)} risk"
    return text + "."


@dataclass
class OfflineAnalyst:
    """Deterministic verdicts from rules and the cost model (see the module doc).

    ``environments`` tells which environments are production (otherwise the name decides);
    ``prices`` feed the cost model; ``known_secrets`` are masked like everywhere else.
    """

    environments: Sequence[Environment] = ()
    prices: Prices = field(default_factory=Prices)
    known_secrets: Sequence[str] = ()

    @property
    def name(self) -> str:
        return "offline"

    def analyze(self, items: Sequence[DriftItem]) -> Analysis:
        findings = prepare_findings(
            items, known_secrets=self.known_secrets, environments=self.environments
        )
        return self.analyze_prepared(findings)

    def analyze_prepared(
        self, findings: Sequence[PreparedFinding], notes: Sequence[str] = ()
    ) -> Analysis:
        """Verdicts for already prepared findings (the Claude analyst's fallback path)."""
        costs = cost_by_finding(findings, self.prices)
        rules = [(f, rule_for(f, costs[f.id])) for f in findings]
        verdicts = tuple(
            Verdict(
                finding_id=f.id,
                cause=r.cause,
                risk=r.risk,
                action=r.action,
                confidence=r.confidence,
                reason=r.reason,
                monthly_cost_usd=costs[f.id],
            )
            for f, r in rules
        )
        total = total_cost(costs)
        return Analysis(
            summary=_summary(rules, total),
            verdicts=verdicts,
            source="offline",
            notes=tuple(notes),
            monthly_cost_usd=total,
        )

    def verdicts_for(self, findings: Sequence[PreparedFinding]) -> dict[str, Verdict]:
        """Offline verdicts by finding id (fills gaps in a partial Claude answer)."""
        return {v.finding_id: v for v in self.analyze_prepared(findings).verdicts}
