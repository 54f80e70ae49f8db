"""Normalisation: what is noise before any comparison (drift-rules.md 4.2).

The diff compares a *normalised desired* object with the live object as the server returned
it. Normalising desired means:

* API-server defaults filled in where desired leaves a field empty
  (:func:`drifttui.core.defaults.apply_server_defaults`, section C);
* Secret ``stringData`` folded into base64 ``data`` (section F);
* the deprecated pod ``serviceAccount`` folded into ``serviceAccountName`` (the server
  mirrors one into the other; only ``serviceAccountName`` is compared);
* server-managed metadata and ``status`` dropped when a manifest carries them (section A:
  a manifest exported with ``kubectl get -o yaml`` holds uid, resourceVersion, ...).

The live object is never copied: the diff walks it read-only and skips, field by field,
what this module names as server-managed, tool-written or allocated (sections A, B, E).
Values are compared canonically by :func:`values_equal`: Kubernetes quantities by value
inside resource contexts, numbers by value, ``null``/``{}``/``[]`` equal to absent.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from drifttui.core.defaults import apply_server_defaults
from drifttui.core.models import ResourceKey
from drifttui.core.quantity import canonical_quantity, parse_quantity

JSONDict = dict[str, Any]

# --------------------------------------------------------------------------- A: server-managed

SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)
"""Metadata the API server writes: never compared, whatever a manifest says."""

IDENTITY_METADATA = frozenset({"name", "namespace", "generateName"})
"""Metadata that identifies the object: pairing uses it, the comparison does not."""

UNLESS_DECLARED_METADATA = frozenset({"ownerReferences", "finalizers"})
"""Controllers and admission add these; compared only when desired declares them."""

# --------------------------------------------------------------------------- B: tool keys

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
"""``kubectl rollout restart`` writes it into the pod template: operational, shown, not drift."""

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

TOOL_ANNOTATIONS = frozenset(
    {
        LAST_APPLIED,
        "deployment.kubernetes.io/revision",
        "deprecated.daemonset.template.generation",
        "meta.helm.sh/release-name",
        "meta.helm.sh/release-namespace",
        "argocd.argoproj.io/tracking-id",
        "pv.kubernetes.io/bind-completed",
        "pv.kubernetes.io/bound-by-controller",
        "volume.beta.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/selected-node",
        "endpoints.kubernetes.io/last-change-trigger-time",
        "control-plane.alpha.kubernetes.io/leader",
    }
)
TOOL_ANNOTATION_PREFIXES = ("autoscaling.alpha.kubernetes.io/",)

TOOL_LABELS = frozenset(
    {
        "kubernetes.io/metadata.name",
        "controller-uid",
        "batch.kubernetes.io/controller-uid",
        "job-name",
        "batch.kubernetes.io/job-name",
    }
)
"""Labels written by the server or controllers (Namespace name, Job bookkeeping)."""

# --------------------------------------------------------------------------- C/E: allocated

SERVICE_ALLOCATED = frozenset(
    {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort"}
)
"""Service fields the server allocates; compared only when desired declares them."""

POD_SPEC_ADDED = frozenset({"serviceAccount", "nodeName", "priority", "preemptionPolicy"})
"""Pod-level values admission or the scheduler fills in (and the deprecated mirror)."""

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "APIService",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "FlowSchema",
        "PriorityLevelConfiguration",
        "CertificateSigningRequest",
        "ClusterIssuer",
    }
)

BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "certificates.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
    }
)

# --------------------------------------------------------------------------- D: value rules

QUANTITY_KEYS = frozenset(
    {
        "resources",
        "limits",
        "requests",
        "capacity",
        "allocatable",
        "hard",
        "used",
        "overhead",
        "sizeLimit",
        "averageValue",
        "default",
        "defaultRequest",
        "max",
        "min",
        "maxLimitRequestRatio",
    }
)
"""Entering one of these keys puts the comparison in a Quantity context: ``"0.5"`` equals
``"500m"`` there (and only there: ConfigMap data ``"1.0"`` is not ``"1"``)."""

DATA_MAP_KEYS = frozenset(
    {
        "labels",
        "annotations",
        "data",
        "binaryData",
        "stringData",
        "matchLabels",
        "nodeSelector",
        "limits",
        "requests",
        "parameters",
    }
)
"""Maps whose keys are user data: an empty-string or zero value there is a value, not
"absent" (``label: ""`` is a label)."""


def is_zero(value: Any) -> bool:
    """True for values the server drops or never distinguishes from absent in optional
    fields: None, {}, [], "", False, 0."""
    if value is None or value is False:
        return True
    if isinstance(value, dict | list | str):
        return not value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    return False


def _quantity_equal(a: Any, b: Any) -> bool:
    qa = parse_quantity(a)
    if qa is None:
        return False
    qb = parse_quantity(b)
    return qb is not None and qa == qb


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def values_equal(desired: Any, live: Any, quantity: bool = False) -> bool:
    """Canonical deep equality of a desired and a live value.

    Numbers compare by value (``1 == 1.0``) but never equal a bool; in a Quantity context
    (``quantity=True`` or under a :data:`QUANTITY_KEYS` key) quantities compare by value;
    inside maps a key holding ``null``/``{}``/``[]``/``""``/``false``/``0`` equals a missing
    key; lists compare item by item in order.
    """
    if desired is live:
        return True
    td = type(desired)
    tl = type(live)
    if td is dict:
        if tl is not dict:
            return not desired and live is None
        if desired == live:
            return True
        for k in desired.keys() | live.keys():
            if k not in live:
                if is_zero(desired[k]):
                    continue
                return False
            if k not in desired:
                if is_zero(live[k]):
                    continue
                return False
            if not values_equal(desired[k], live[k], quantity or k in QUANTITY_KEYS):
                return False
        return True
    if td is list:
        if tl is not list:
            return not desired and live is None
        if len(desired) != len(live):
            return False
        return all(values_equal(a, b, quantity) for a, b in zip(desired, live, strict=True))
    if td is bool or tl is bool:
        return desired is live
    if desired == live:
        return True
    if desired is None or live is None:
        return False
    if quantity:
        return _quantity_equal(desired, live)
    if _number(desired) and _number(live):
        return bool(desired == live)
    return False


def values_equal_unordered(desired: Any, live: Any, quantity: bool = False) -> bool:
    """Like :func:`values_equal` for two lists whose order carries no meaning (HPA metrics)."""
    if not isinstance(desired, list) or not isinstance(live, list):
        return values_equal(desired, live, quantity)
    if len(desired) != len(live):
        return False
    remaining = list(live)
    for item in desired:
        for i, other in enumerate(remaining):
            if values_equal(item, other, quantity):
                del remaining[i]
                break
        else:
            return False
    return True


# --------------------------------------------------------------------------- F: Secrets


def secret_digest(value: Any) -> str:
    """sha256 of a Secret ``data`` value's decoded bytes (of its text when it is not valid
    base64, so a malformed manifest still compares deterministically)."""
    if value is None:
        raw = b""
    elif isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = value.encode("utf-8", "surrogatepass")
    else:
        raw = repr(value).encode()
    return hashlib.sha256(raw).hexdigest()


def fold_string_data(secret: JSONDict) -> None:
    """Move a Secret's ``stringData`` into ``data`` as base64, in place (the server does
    this on write; ``stringData`` wins over ``data`` for the same key)."""
    sd = secret.pop("stringData", None)
    if not isinstance(sd, Mapping) or not sd:
        return
    data = secret.get("data")
    if not isinstance(data, dict):
        data = {}
        secret["data"] = data
    for k, v in sd.items():
        text = "" if v is None else str(v)
        data[str(k)] = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")


# --------------------------------------------------------------------------- objects


def is_builtin(obj: Mapping[str, Any]) -> bool:
    """True when the object's API group is one of Kubernetes' own (not a CRD)."""
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return group in BUILTIN_GROUPS


def key_of(obj: Mapping[str, Any], default_namespace: str = "default") -> ResourceKey:
    """ResourceKey of a manifest or live object; cluster-scoped kinds get namespace "".

    Raises KeyError/TypeError on an object without kind or metadata.name.
    """
    kind = obj["kind"]
    ns = "" if kind in CLUSTER_SCOPED_KINDS else default_namespace
    key = ResourceKey.of(obj, ns)
    if kind in CLUSTER_SCOPED_KINDS and key.namespace:
        key = ResourceKey(key.group, key.kind, "", key.name)
    return key


def pod_spec_of(obj: Mapping[str, Any]) -> tuple[tuple[str, ...], Any]:
    """(path, value) of an object's pod spec (template, Pod, or CronJob job template)."""
    kind = obj.get("kind")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return (), None
    if kind == "Pod":
        return ("spec",), spec
    if kind == "CronJob":
        jt = spec.get("jobTemplate")
        jspec = jt.get("spec") if isinstance(jt, dict) else None
        tpl = jspec.get("template") if isinstance(jspec, dict) else None
        pod = tpl.get("spec") if isinstance(tpl, dict) else None
        return ("spec", "jobTemplate", "spec", "template", "spec"), pod
    tpl = spec.get("template")
    pod = tpl.get("spec") if isinstance(tpl, dict) else None
    return ("spec", "template", "spec"), pod


POD_SPEC_PATHS = frozenset(
    {
        ("spec", "template", "spec"),
        ("spec", "jobTemplate", "spec", "template", "spec"),
    }
)


def normalize_desired(obj: Mapping[str, Any]) -> JSONDict:
    """The desired object as the API server would store it, minus what the server owns.

    Returns a new dict (``obj`` is not changed). Idempotent:
    ``normalize_desired(normalize_desired(x)) == normalize_desired(x)``.
    """
    out = apply_server_defaults(obj if isinstance(obj, dict) else dict(obj))
    meta = out.get("metadata")
    if isinstance(meta, dict) and not SERVER_METADATA.isdisjoint(meta):
        for k in SERVER_METADATA:
            meta.pop(k, None)
    if "status" in out and is_builtin(out):
        del out["status"]
    kind = out.get("kind")
    if kind == "Secret":
        fold_string_data(out)
    _, pod = pod_spec_of(out)
    if isinstance(pod, dict):
        sa = pod.get("serviceAccount")
        if sa and not pod.get("serviceAccountName"):
            pod["serviceAccountName"] = sa
        pod.pop("serviceAccount", None)
        _canonical_pod_quantities(pod)
    spec = out.get("spec")
    if isinstance(spec, dict):
        if kind == "PersistentVolumeClaim":
            _canonical_resources(spec.get("resources"))
        vcts = spec.get("volumeClaimTemplates")
        if isinstance(vcts, list):
            for vct in vcts:
                vspec = vct.get("spec") if isinstance(vct, dict) else None
                if isinstance(vspec, dict):
                    _canonical_resources(vspec.get("resources"))
    return out


@functools.lru_cache(maxsize=4096)
def _canonical_text(text: str) -> object:
    return canonical_quantity(text)


def _canonical(value: Any) -> Any:
    # the same few spellings ("0.25", "512Mi") repeat across thousands of objects
    return _canonical_text(value) if isinstance(value, str) else canonical_quantity(value)


def _canonical_map(values: Any) -> None:
    if isinstance(values, dict):
        for k, v in values.items():
            values[k] = _canonical(v)


def _canonical_resources(resources: Any) -> None:
    if isinstance(resources, dict):
        _canonical_map(resources.get("requests"))
        _canonical_map(resources.get("limits"))


def _canonical_pod_quantities(pod: JSONDict) -> None:
    """Quantities in the spelling the server stores, so equal subtrees compare ``==``."""
    for list_key in ("containers", "initContainers"):
        containers = pod.get(list_key)
        if isinstance(containers, list):
            for c in containers:
                if isinstance(c, dict):
                    _canonical_resources(c.get("resources"))
    volumes = pod.get("volumes")
    if isinstance(volumes, list):
        for v in volumes:
            ed = v.get("emptyDir") if isinstance(v, dict) else None
            if isinstance(ed, dict) and "sizeLimit" in ed:
                ed["sizeLimit"] = _canonical(ed["sizeLimit"])
