"""Classification of a finding: category, severity, and whether it is safe to auto-correct.

Category (first rule that applies):

1. ``operational``: the pod template's ``kubectl.kubernetes.io/restartedAt`` (a restart).
2. ``secret``: a Secret's ``data``/``stringData`` (or a missing Secret).
3. ``security``: RBAC objects, NetworkPolicies, ServiceAccounts and webhook configurations
   (their labels and annotations excepted), and any field named like a security control
   (``securityContext``, ``privileged``, ``capabilities``, ``hostNetwork``, ``hostPath``,
   ``serviceAccountName``, ``automountServiceAccountToken``, ...).
4. ``replicas``: ``spec.replicas``.
5. ``image``: a container's ``image``.
6. ``resources``: anything under ``resources`` (requests, limits, PVC size).
7. ``ports``: anything under ``ports`` and ``nodePort``/``targetPort``/``containerPort``.
8. ``config-data``: ConfigMap ``data``/``binaryData``, container ``env``/``envFrom``.
9. ``labels``: labels and annotations.
10. ``other``.

Severity: operational ``info``; secret ``high``; security ``critical`` when the live value
widens access (privileged, privilege escalation, host namespaces, root, added capabilities,
a hostPath volume, extra RBAC rules or subjects) else ``high``; image ``high``; replicas
``high`` when live is scaled to zero, else ``medium``; resources, ports and config-data
``medium``; labels ``low``; other ``medium`` when removed or missing, else ``low``; a missing
object ``high`` (``critical`` for a Secret or an RBAC object).

Safe to auto-correct (``FieldDrift.safe_to_autofix``): a changed, removed or added field in
the categories replicas, image, labels, config-data and resources, on an object that is not
a Secret and not an RBAC object. Never: Secrets (a mask is never written back), security
(widening or not: a person decides), ports and other (traffic and behaviour changes),
operational findings (nothing to fix) and missing objects (re-creating needs a review).
"""

from __future__ import annotations

from typing import Any

from drifttui.core.models import Category, Change, FieldPath, Sel, Severity
from drifttui.core.normalize import RESTARTED_AT

RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
SECURITY_KINDS = RBAC_KINDS | frozenset(
    {
        "NetworkPolicy",
        "ServiceAccount",
        "PodSecurityPolicy",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
)
SECURITY_FIELDS = frozenset(
    {
        "securityContext",
        "privileged",
        "allowPrivilegeEscalation",
        "capabilities",
        "runAsUser",
        "runAsGroup",
        "runAsNonRoot",
        "readOnlyRootFilesystem",
        "seccompProfile",
        "seLinuxOptions",
        "appArmorProfile",
        "procMount",
        "fsGroup",
        "sysctls",
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "hostUsers",
        "hostPath",
        "shareProcessNamespace",
        "serviceAccountName",
        "automountServiceAccountToken",
    }
)
PORT_FIELDS = frozenset({"ports", "nodePort", "targetPort", "containerPort", "hostPort"})
SAFE_CATEGORIES = frozenset(
    {Category.REPLICAS, Category.IMAGE, Category.LABELS, Category.CONFIG_DATA, Category.RESOURCES}
)
_TRUE_WIDENS = frozenset({"privileged", "allowPrivilegeEscalation", "hostNetwork", "hostPID"})
_TRUE_WIDENS_2 = frozenset({"hostIPC", "shareProcessNamespace"})
_FALSE_WIDENS = frozenset({"runAsNonRoot", "readOnlyRootFilesystem"})


def _keys(path: FieldPath) -> list[str]:
    return [e for e in path if not isinstance(e, Sel)]


def categorize(kind: str, path: FieldPath, change: Change) -> Category:
    """The finding's category (rules in the module docstring)."""
    keys = _keys(path)
    last = keys[-1] if keys else ""
    if last == RESTARTED_AT and "annotations" in keys:
        return Category.OPERATIONAL
    if kind == "Secret" and (not keys or keys[0] in ("data", "stringData")):
        return Category.SECRET
    in_metadata_maps = bool(keys) and keys[0] == "metadata" and len(keys) > 1
    if kind in SECURITY_KINDS and not (in_metadata_maps and keys[1] in ("labels", "annotations")):
        return Category.SECURITY
    if not keys:
        return Category.OTHER
    if "labels" in keys or "annotations" in keys:
        return Category.LABELS
    if any(k in SECURITY_FIELDS for k in keys):
        return Category.SECURITY
    if keys == ["spec", "replicas"]:
        return Category.REPLICAS
    if last == "image":
        return Category.IMAGE
    if "resources" in keys:
        return Category.RESOURCES
    if any(k in PORT_FIELDS for k in keys):
        return Category.PORTS
    if kind == "ConfigMap" and keys[0] in ("data", "binaryData"):
        return Category.CONFIG_DATA
    if "env" in keys or "envFrom" in keys:
        return Category.CONFIG_DATA
    return Category.OTHER


def _widens(kind: str, keys: list[str], change: Change, desired: Any, live: Any) -> bool:
    last = keys[-1] if keys else ""
    if kind in RBAC_KINDS:
        if last in ("rules", "subjects") and isinstance(live, list):
            before = desired if isinstance(desired, list) else []
            return any(item not in before for item in live)
        return last == "roleRef" or change is Change.ADDED
    if last in _TRUE_WIDENS or last in _TRUE_WIDENS_2:
        return live is True
    if last in _FALSE_WIDENS:
        return live is False or change is Change.REMOVED
    if last == "runAsUser":
        return live == 0 and not isinstance(live, bool)
    if "capabilities" in keys and (last == "add" or isinstance(live, dict)):
        added = live.get("add") if isinstance(live, dict) else live
        before_src = desired.get("add") if isinstance(desired, dict) else desired
        before = before_src if isinstance(before_src, list) else []
        return isinstance(added, list) and any(c not in before for c in added)
    if "hostPath" in keys or (isinstance(live, dict) and "hostPath" in live):
        return change is not Change.REMOVED
    if isinstance(live, dict) and change is Change.ADDED:
        return any(live.get(k) is True for k in _TRUE_WIDENS | _TRUE_WIDENS_2) or any(
            live.get(k) is False for k in _FALSE_WIDENS
        )
    return False


def grade(
    kind: str, path: FieldPath, change: Change, category: Category, desired: Any, live: Any
) -> Severity:
    """The finding's severity (rules in the module docstring)."""
    if change is Change.MISSING:
        return Severity.CRITICAL if kind == "Secret" or kind in RBAC_KINDS else Severity.HIGH
    if category is Category.OPERATIONAL:
        return Severity.INFO
    if category is Category.SECRET:
        return Severity.HIGH
    if category is Category.SECURITY:
        widening = _widens(kind, _keys(path), change, desired, live)
        return Severity.CRITICAL if widening else Severity.HIGH
    if category is Category.IMAGE:
        return Severity.HIGH
    if category is Category.REPLICAS:
        scaled_to_zero = live == 0 and not isinstance(live, bool) and desired != 0
        return Severity.HIGH if scaled_to_zero else Severity.MEDIUM
    if category in (Category.RESOURCES, Category.PORTS, Category.CONFIG_DATA):
        return Severity.MEDIUM
    if category is Category.LABELS:
        return Severity.LOW
    return Severity.MEDIUM if change is Change.REMOVED else Severity.LOW


def is_safe_to_autofix(kind: str, change: Change, category: Category) -> bool:
    """Whether a correction may be applied without a person (rule in the module docstring)."""
    if change is Change.MISSING or kind == "Secret" or kind in RBAC_KINDS:
        return False
    return category in SAFE_CATEGORIES


def classify(
    kind: str, path: FieldPath, change: Change, desired: Any, live: Any
) -> tuple[Category, Severity, bool]:
    """(category, severity, safe_to_autofix) of one finding."""
    category = categorize(kind, path, change)
    severity = grade(kind, path, change, category, desired, live)
    return category, severity, is_safe_to_autofix(kind, change, category)
