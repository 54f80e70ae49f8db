"""API-server defaults, as kube-apiserver v1.28 fills them in on create and update.

One table of knowledge, two users: the diff defaults the *desired* object before comparing
(so a live value the server filled in is never drift), and the simulated cluster defaults
what it stores (so the demo's live objects look like a real server's).

Sources: kubernetes/kubernetes pkg/apis/{apps,core,batch,networking,autoscaling}/v1/defaults.go,
summarised in drift-rules.md 4.2 C and checked against objects read back from a real
v1.28.7 API server (tests/fixtures/k8s-v1.28). A default is filled only where the field is
empty; nothing the object declares is changed. Allocated values (clusterIP, nodePort,
ipFamilies) are not defaults: they differ per server and are handled by normalisation.
"""

from __future__ import annotations

import copy
import marshal
from collections.abc import Callable
from typing import Any

JSONDict = dict[str, Any]

RULES_VERSION = "k8s-1.28/2026-11-25"
"""Version of the defaulting and normalisation rules; reports name it."""


def copy_json(obj: Any) -> Any:
    """A deep copy of a JSON value, several times faster than ``copy.deepcopy``.

    Objects holding non-JSON values (a ``datetime`` from a YAML loader) fall back to
    ``copy.deepcopy``.
    """
    try:
        return marshal.loads(marshal.dumps(obj))
    except ValueError:
        return copy.deepcopy(obj)


def _set(d: JSONDict, key: str, value: Any) -> None:
    """Fill ``d[key]`` when absent or None (the server's "if empty" check for scalars)."""
    if d.get(key) is None:
        d[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value


def _dict(d: JSONDict, key: str) -> JSONDict | None:
    v = d.get(key)
    return v if isinstance(v, dict) else None


def _items(d: JSONDict, key: str) -> list[JSONDict]:
    v = d.get(key)
    return [i for i in v if isinstance(i, dict)] if isinstance(v, list) else []


def image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged image, else ``IfNotPresent``."""
    name = image.split("@", 1)[0]
    if "@" in image:
        return "IfNotPresent"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def default_probe(probe: JSONDict) -> None:
    get = probe.get
    if get("timeoutSeconds") is None:
        probe["timeoutSeconds"] = 1
    if get("periodSeconds") is None:
        probe["periodSeconds"] = 10
    if get("successThreshold") is None:
        probe["successThreshold"] = 1
    if get("failureThreshold") is None:
        probe["failureThreshold"] = 3
    http = get("httpGet")
    if isinstance(http, dict):
        if http.get("path") is None:
            http["path"] = "/"
        if http.get("scheme") is None:
            http["scheme"] = "HTTP"


def _default_env(container: JSONDict) -> None:
    for env in _items(container, "env"):
        vf = env.get("valueFrom")
        if isinstance(vf, dict):
            fr = vf.get("fieldRef")
            if isinstance(fr, dict) and fr.get("apiVersion") is None:
                fr["apiVersion"] = "v1"


def default_container(c: JSONDict) -> None:
    # written out (rather than through _set) because it runs for every container of every
    # desired object the diff normalises
    get = c.get
    if get("terminationMessagePath") is None:
        c["terminationMessagePath"] = "/dev/termination-log"
    if get("terminationMessagePolicy") is None:
        c["terminationMessagePolicy"] = "File"
    image = get("image")
    if isinstance(image, str) and get("imagePullPolicy") is None:
        c["imagePullPolicy"] = image_pull_policy(image)
    if get("resources") is None:
        c["resources"] = {}
    ports = get("ports")
    if isinstance(ports, list):
        for port in ports:
            if isinstance(port, dict) and port.get("protocol") is None:
                port["protocol"] = "TCP"
    for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = get(probe_key)
        if isinstance(probe, dict):
            default_probe(probe)
    if get("env") is not None:
        _default_env(c)


def _default_volume(v: JSONDict) -> None:
    sources = [k for k in v if k != "name"]
    if not sources:
        v["emptyDir"] = {}
        return
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        src = _dict(v, key)
        if src is not None:
            _set(src, "defaultMode", 420)
    hp = _dict(v, "hostPath")
    if hp is not None:
        _set(hp, "type", "")
    proj = _dict(v, "projected")
    if proj is not None:
        for s in _items(proj, "sources"):
            tok = _dict(s, "serviceAccountToken")
            if tok is not None:
                _set(tok, "expirationSeconds", 3600)
            dapi = _dict(s, "downwardAPI")
            for item in _items(dapi or {}, "items"):
                fr = _dict(item, "fieldRef")
                if fr is not None:
                    _set(fr, "apiVersion", "v1")
    dapi = _dict(v, "downwardAPI")
    if dapi is not None:
        for item in _items(dapi, "items"):
            fr = _dict(item, "fieldRef")
            if fr is not None:
                _set(fr, "apiVersion", "v1")


def default_pod_spec(spec: JSONDict, *, is_pod: bool = False) -> None:
    get = spec.get
    if get("dnsPolicy") is None:
        spec["dnsPolicy"] = "ClusterFirst"
    if get("restartPolicy") is None:
        spec["restartPolicy"] = "Always"
    if get("securityContext") is None:
        spec["securityContext"] = {}
    if get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if get("schedulerName") is None:
        spec["schedulerName"] = "default-scheduler"
    if get("serviceAccountName") and get("serviceAccount") is None:
        spec["serviceAccount"] = spec["serviceAccountName"]
    if is_pod and get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for list_key in ("containers", "initContainers"):
        containers = get(list_key)
        if isinstance(containers, list):
            for c in containers:
                if isinstance(c, dict):
                    default_container(c)
    volumes = get("volumes")
    if isinstance(volumes, list):
        for v in volumes:
            if isinstance(v, dict):
                _default_volume(v)


def default_pod_template(template: JSONDict) -> None:
    meta = template.setdefault("metadata", {})
    if isinstance(meta, dict) and "creationTimestamp" not in meta:
        meta["creationTimestamp"] = None
    spec = _dict(template, "spec")
    if spec is not None:
        default_pod_spec(spec)


def _workload_template(obj: JSONDict) -> None:
    spec = _dict(obj, "spec")
    if spec is not None:
        tpl = _dict(spec, "template")
        if tpl is not None:
            default_pod_template(tpl)


def _deployment(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        _set(ru, "maxUnavailable", "25%")
        _set(ru, "maxSurge", "25%")
    _workload_template(obj)


def _statefulset(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        _set(ru, "partition", 0)
    _set(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        {"whenDeleted": "Retain", "whenScaled": "Retain"},
    )
    for vct in _items(spec, "volumeClaimTemplates"):
        _set(vct, "apiVersion", "v1")
        _set(vct, "kind", "PersistentVolumeClaim")
        meta = vct.setdefault("metadata", {})
        if isinstance(meta, dict) and "creationTimestamp" not in meta:
            meta["creationTimestamp"] = None
        vspec = vct.setdefault("spec", {})
        if isinstance(vspec, dict):
            _set(vspec, "volumeMode", "Filesystem")
        status = vct.setdefault("status", {})
        if isinstance(status, dict):
            _set(status, "phase", "Pending")
    _workload_template(obj)


def _daemonset(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        _set(ru, "maxUnavailable", 1)
        _set(ru, "maxSurge", 0)
    _workload_template(obj)


def _replicaset(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    _workload_template(obj)


def _pod(obj: JSONDict) -> None:
    spec = _dict(obj, "spec")
    if spec is not None:
        default_pod_spec(spec, is_pod=True)


def _job_spec(spec: JSONDict) -> None:
    _set(spec, "completions", 1)
    _set(spec, "parallelism", 1)
    _set(spec, "backoffLimit", 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)


def _job(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _job_spec(spec)
    _workload_template(obj)


def _cronjob(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "concurrencyPolicy", "Allow")
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    jt = _dict(spec, "jobTemplate")
    jspec = _dict(jt, "spec") if jt else None
    tpl = _dict(jspec, "template") if jspec else None
    if tpl is not None:
        default_pod_template(tpl)


def _service(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "type", "ClusterIP")
    svc_type = spec.get("type")
    if svc_type != "ExternalName":
        _set(spec, "sessionAffinity", "None")
        _set(spec, "internalTrafficPolicy", "Cluster")
    if svc_type in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if svc_type == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)
    for port in _items(spec, "ports"):
        _set(port, "protocol", "TCP")
        if port.get("targetPort") is None and port.get("port") is not None:
            port["targetPort"] = port["port"]


def _secret(obj: JSONDict) -> None:
    _set(obj, "type", "Opaque")


def _pvc(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "volumeMode", "Filesystem")


def _pv(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "volumeMode", "Filesystem")
    _set(spec, "persistentVolumeReclaimPolicy", "Retain")


def _network_policy(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("policyTypes") is None:
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types
    for rule_key, peer_key in (("ingress", "ports"), ("egress", "ports")):
        for rule in _items(spec, rule_key):
            for port in _items(rule, peer_key):
                _set(port, "protocol", "TCP")


def _hpa(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80},
                },
            }
        ]


def _namespace(obj: JSONDict) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "finalizers", ["kubernetes"])
    name = (obj.get("metadata") or {}).get("name")
    if name:
        labels = obj.setdefault("metadata", {}).setdefault("labels", {})
        labels.setdefault("kubernetes.io/metadata.name", name)


def _role_binding(obj: JSONDict) -> None:
    for s in _items(obj, "subjects"):
        if s.get("kind") in ("User", "Group"):
            _set(s, "apiGroup", "rbac.authorization.k8s.io")


_BY_KIND: dict[str, Callable[[JSONDict], None]] = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "ReplicaSet": _replicaset,
    "Pod": _pod,
    "Job": _job,
    "CronJob": _cronjob,
    "Service": _service,
    "Secret": _secret,
    "PersistentVolumeClaim": _pvc,
    "PersistentVolume": _pv,
    "NetworkPolicy": _network_policy,
    "HorizontalPodAutoscaler": _hpa,
    "Namespace": _namespace,
    "RoleBinding": _role_binding,
    "ClusterRoleBinding": _role_binding,
}


def has_defaults(kind: str) -> bool:
    return kind in _BY_KIND


def apply_server_defaults(obj: JSONDict) -> JSONDict:
    """A deep copy of ``obj`` with every API-server default filled in where it is empty.

    Unknown kinds come back unchanged (a copy). Malformed parts (a list where a mapping
    belongs) are left as they are, never raised on: the diff reports them.
    """
    out: JSONDict = copy_json(obj)
    fn = _BY_KIND.get(str(out.get("kind")))
    if fn is not None:
        try:
            fn(out)
        except (AttributeError, TypeError):
            return copy_json(obj)  # type: ignore[no-any-return]
    return out
