"""Reading Kubernetes objects from files: desired manifests and saved live objects.

Accepted: multi-document YAML, JSON (one object, a ``List`` such as ``kubectl get -o json``
prints, or a typed list like ``DeploymentList``), and directories of ``*.yaml``, ``*.yml``
and ``*.json`` files (recursively, in name order). YAML is parsed with PyYAML's C loader
when present; timestamps stay strings, as the API server writes them.

Every problem is an :class:`~drifttui.errors.InputError` with one line naming the file and
the document (``live.yaml: document 3: no kind``), never a traceback. Messages never quote
a document's content (a Secret's values could be in it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drifttui.errors import InputError

SUFFIXES = (".yaml", ".yml", ".json")

API_VERSIONS: dict[str, tuple[str, ...]] = {
    "Deployment": ("apps/v1",),
    "StatefulSet": ("apps/v1",),
    "DaemonSet": ("apps/v1",),
    "ReplicaSet": ("apps/v1",),
    "ControllerRevision": ("apps/v1",),
    "Pod": ("v1",),
    "Service": ("v1",),
    "ConfigMap": ("v1",),
    "Secret": ("v1",),
    "ServiceAccount": ("v1",),
    "Namespace": ("v1",),
    "PersistentVolumeClaim": ("v1",),
    "PersistentVolume": ("v1",),
    "Endpoints": ("v1",),
    "LimitRange": ("v1",),
    "ResourceQuota": ("v1",),
    "ReplicationController": ("v1",),
    "Node": ("v1",),
    "Job": ("batch/v1",),
    "CronJob": ("batch/v1",),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "autoscaling/v1"),
    "PodDisruptionBudget": ("policy/v1",),
    "Ingress": ("networking.k8s.io/v1",),
    "IngressClass": ("networking.k8s.io/v1",),
    "NetworkPolicy": ("networking.k8s.io/v1",),
    "Role": ("rbac.authorization.k8s.io/v1",),
    "ClusterRole": ("rbac.authorization.k8s.io/v1",),
    "RoleBinding": ("rbac.authorization.k8s.io/v1",),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1",),
    "StorageClass": ("storage.k8s.io/v1",),
    "PriorityClass": ("scheduling.k8s.io/v1",),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1",),
    "MutatingWebhookConfiguration": ("admissionregistration.k8s.io/v1",),
    "ValidatingWebhookConfiguration": ("admissionregistration.k8s.io/v1",),
    "Lease": ("coordination.k8s.io/v1",),
    "EndpointSlice": ("discovery.k8s.io/v1",),
}
"""Built-in kinds and the apiVersions a v1.28 API server serves for them."""

_API_VERSION_RE = re.compile(
    r"^(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$"
)


@dataclass(frozen=True, slots=True)
class Manifest:
    """One object read from a file, with where it came from (for messages and SARIF)."""

    obj: dict[str, Any]
    source: str
    document: int  # 1-based document index in the file
    item: int | None = None  # 1-based index inside a List document
    key: Any = None  # its ResourceKey, set by load_manifests

    @property
    def where(self) -> str:
        text = f"{self.source}: document {self.document}"
        return text if self.item is None else f"{text}, item {self.item}"


# --------------------------------------------------------------------------- parsing


def _yaml_documents(text: str, source: str) -> Iterator[Any]:
    import yaml

    from drifttui.yaml_loader import load_all

    n = 0
    docs = load_all(text)
    while True:
        try:
            doc = next(docs)
        except StopIteration:
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or "invalid YAML"
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise InputError(
                f"YAML does not parse{at}: {problem}",
                f"{source}: document {n + 1}",
                "fix the file or check that it is Kubernetes YAML or JSON",
            ) from None
        except (RecursionError, MemoryError, ValueError, TypeError, KeyError) as exc:
            raise InputError(
                f"YAML cannot be read ({type(exc).__name__})", f"{source}: document {n + 1}"
            ) from None
        n += 1
        yield doc


def _json_document(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"JSON does not parse at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            source,
            "the file is truncated or not JSON",
        ) from None
    except RecursionError:
        raise InputError("JSON is nested too deeply", source) from None


def _decode(data: bytes, source: str) -> str:
    if b"\x00" in data:
        raise InputError(
            "file is binary, not YAML or JSON", source, "give Kubernetes YAML or JSON files"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"file is not UTF-8 text (byte {exc.start + 1})",
            source,
            "give Kubernetes YAML or JSON files",
        ) from None


def _check_object(obj: dict[str, Any], where: str) -> None:
    kind = obj.get("kind")
    api = obj.get("apiVersion")
    meta = obj.get("metadata")
    hint = "every object needs apiVersion, kind and metadata.name"
    if not isinstance(kind, str) or not kind:
        raise InputError("object has no kind", where, hint)
    if not isinstance(api, str) or not api:
        raise InputError(f"{kind} has no apiVersion", where, hint)
    if not isinstance(meta, dict):
        raise InputError(f"{kind} has no metadata", where, hint)
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{kind} has no metadata.name", where, hint)
    ns = meta.get("namespace")
    if ns is not None and not isinstance(ns, str):
        raise InputError(f"{kind}/{name} has a metadata.namespace that is not a string", where)
    if not _API_VERSION_RE.match(api):
        raise InputError(
            f"{kind}/{name} has an unknown apiVersion {api!r}",
            where,
            "apiVersion is GROUP/VERSION such as apps/v1, or v1",
        )
    known = API_VERSIONS.get(kind)
    if known is not None and api not in known:
        raise InputError(
            f"{kind}/{name} has an unknown apiVersion {api!r}",
            where,
            f"Kubernetes 1.28 serves {kind} as {' or '.join(known)}",
        )


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _expand(doc: Any, source: str, index: int) -> Iterator[Manifest]:
    where = f"{source}: document {index}"
    if not isinstance(doc, dict):
        raise InputError(
            f"document is {_type_name(doc)}, not a Kubernetes object",
            where,
            "give objects as YAML documents separated by --- or as a List with items",
        )
    kind = doc.get("kind")
    items = doc.get("items")
    meta = doc.get("metadata")
    named = isinstance(meta, dict) and bool(meta.get("name"))
    if isinstance(kind, str) and kind.endswith("List") and ("items" in doc or not named):
        if not isinstance(items, list):
            raise InputError(f"{kind} has no items list", where)
        for j, item in enumerate(items, 1):
            item_where = f"{where}, item {j}"
            if not isinstance(item, dict):
                raise InputError(f"item is {_type_name(item)}, not a Kubernetes object", item_where)
            _check_object(item, item_where)
            yield Manifest(item, source, index, j)
        return
    _check_object(doc, where)
    yield Manifest(doc, source, index)


def parse_manifests(data: bytes | str, source: str) -> list[Manifest]:
    """The objects in one file's content. ``source`` names the file in messages."""
    text = data if isinstance(data, str) else _decode(data, source)
    stripped = text.lstrip()
    if not stripped:
        return []
    out: list[Manifest] = []
    if source.endswith(".json") or stripped[0] in "{[":
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            if source.endswith(".json") or stripped[0] == "[":
                _json_document(text, source)  # raises the JSON error
            docs: Iterable[Any] = _yaml_documents(text, source)
        else:
            docs = [doc]
    else:
        docs = _yaml_documents(text, source)
    for i, doc in enumerate(docs, 1):
        if doc is None:
            continue
        out.extend(_expand(doc, source, i))
    return out


# --------------------------------------------------------------------------- files


def _files(path: Path, flag: str) -> list[Path]:
    if path.is_dir():
        found = sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise InputError(
                "directory holds no .yaml, .yml or .json files", str(path), f"check {flag}"
            )
        return found
    if not path.exists():
        raise InputError("file not found", str(path), f"check the {flag} path")
    return [path]


def read_manifests(path: str | os.PathLike[str], flag: str = "--desired") -> list[Manifest]:
    """Objects in a file or directory; InputError naming the file on any problem."""
    out: list[Manifest] = []
    for file in _files(Path(path), flag):
        source = str(file)
        try:
            data = file.read_bytes()
        except IsADirectoryError:
            raise InputError("is a directory", source) from None
        except OSError as exc:
            raise InputError(f"cannot read file ({exc.strerror})", source) from None
        out.extend(parse_manifests(data, source))
    return out


def load_manifests(
    paths: Sequence[str | os.PathLike[str]],
    flag: str,
    *,
    allow_empty: bool,
    default_namespace: str = "default",
) -> list[Manifest]:
    """Objects from several files or directories, checked for repeats.

    ``allow_empty`` False (desired): an empty file is an error. True (live): an empty file
    means the cluster holds none of the objects.
    """
    from drifttui.core.normalize import key_of

    out: list[Manifest] = []
    seen: dict[Any, Manifest] = {}
    for path in paths:
        found = read_manifests(path, flag)
        if not found and not allow_empty:
            raise InputError(
                "file holds no Kubernetes objects",
                str(path),
                f"give at least one manifest to {flag}",
            )
        for m in found:
            key = key_of(m.obj, default_namespace)
            if key in seen:
                raise InputError(
                    f"{key} appears twice (also at {seen[key].where})",
                    m.where,
                    "each object may be given once",
                )
            m = Manifest(m.obj, m.source, m.document, m.item, key)
            seen[key] = m
            out.append(m)
    return out
