"""Unit documents: parsing and checking manifests, slugs, hashes and data paths.

Shared by both hubs and the commands, so a manifest the embedded hub refuses is refused the
same way before it reaches the real service.

Unit slugs (``unit_slug_for``): a unit is named after its object, ``metadata.name``
(lower-cased, characters outside ``[-_.A-Za-z0-9]`` replaced by ``-``). When a space
already holds a unit of that name for a *different* object, the new unit is
``<kind>-<name>`` (``service-backend-api``), then ``<kind>-<namespace>-<name>``. The
identity of the object behind a unit is kept in the unit's labels (``drifttui-kind``,
``drifttui-name``, ``drifttui-namespace``), so a second import of the same object finds its
unit again whatever its slug.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from drifttui.core.models import FieldPath, ResourceKey, Sel
from drifttui.errors import HubError

SLUG_RE = re.compile(r"^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$")
MAX_SLUG = 128
MAX_LABEL_VALUE = 128

KIND_LABEL = "drifttui-kind"
NAME_LABEL = "drifttui-name"
NAMESPACE_LABEL = "drifttui-namespace"


def check_slug(slug: str, what: str = "slug") -> str:
    if not isinstance(slug, str) or not SLUG_RE.match(slug) or len(slug) > MAX_SLUG:
        raise HubError(
            f"invalid {what} {slug!r}",
            what,
            "use letters, digits, '-', '_' or '.', start and end with a letter or digit, "
            f"at most {MAX_SLUG} characters",
            status=400,
        )
    return slug


def check_labels(labels: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (labels or {}).items():
        if not isinstance(k, str) or not k or len(k) > MAX_SLUG or "'" in k or " " in k:
            raise HubError(f"invalid label key {k!r}", "labels", status=400)
        if not isinstance(v, str) or len(v) > MAX_LABEL_VALUE:
            raise HubError(
                f"label {k} must be a string of at most {MAX_LABEL_VALUE} characters",
                "labels",
                status=400,
            )
        out[k] = v
    return out


def data_hash(data: str) -> str:
    """SHA-256 hex of the document: the real API's DataHash and the data ETag."""
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def document_json(obj: Mapping[str, Any]) -> str | None:
    """The JSON text that gives back exactly ``obj`` (an object just parsed from a unit's
    YAML), or None: a Secret (its values are copied nowhere), or a value JSON cannot carry
    (a YAML timestamp, a number as a mapping key, ...). Kept so that the next reader need
    not parse the YAML again (the embedded hub's parsed documents, the document cache)."""
    if obj.get("kind") == "Secret":
        return None
    try:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        if json.loads(text) != obj:  # e.g. a number as a mapping key: not JSON's
            return None
    except (TypeError, ValueError):
        return None
    return text


def parse_manifest(data: str, where: str = "unit data") -> dict[str, Any]:
    """One Kubernetes object from YAML text. Raises HubError (400) on anything else."""
    import yaml

    try:
        docs = [d for d in load_yaml_all(data) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise HubError(f"manifest is not valid YAML: {problem}{at}", where, status=400) from None
    if not docs:
        raise HubError("manifest is empty", where, "give one Kubernetes object", status=400)
    if len(docs) > 1:
        raise HubError(
            f"manifest holds {len(docs)} documents; a unit holds one object",
            where,
            "split it, or import the file (one unit per object)",
            status=400,
        )
    obj = docs[0]
    check_object(obj, where)
    return dict(obj)


def check_object(obj: Any, where: str) -> None:
    if not isinstance(obj, Mapping):
        raise HubError("manifest is not a mapping", where, "give one Kubernetes object", status=400)
    missing = [f for f in ("apiVersion", "kind") if not isinstance(obj.get(f), str) or not obj[f]]
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        missing.append("metadata.name")
    if missing:
        raise HubError(
            f"manifest lacks {', '.join(missing)}",
            where,
            "a unit holds one Kubernetes object with apiVersion, kind and metadata.name",
            status=400,
        )


def dump_yaml(obj: Any) -> str:
    """The canonical text of a document (key order kept, block style), with libyaml's safe
    dumper when PyYAML has it (about 10x faster than the pure-Python one)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(
        yaml.dump(
            obj,
            Dumper=dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
        )
    )


def load_yaml(data: str) -> Any:
    """One document, read as Kubernetes tools read it (:func:`drifttui.yaml_loader.load_all`);
    ``{}`` for empty text."""
    if not data.strip():
        return {}
    docs = load_yaml_all(data)
    if len(docs) > 1:
        import yaml

        raise yaml.YAMLError("expected a single document in the stream")
    return docs[0] if docs else None


def load_yaml_all(data: str) -> list[Any]:
    from drifttui.yaml_loader import load_all

    return list(load_all(data))


def _slugify(text: str) -> str:
    s = re.sub(r"[^-_.A-Za-z0-9]+", "-", text.lower()).strip("-_.")
    return s[:MAX_SLUG].rstrip("-_.") or "unit"


def identity_labels(obj: Mapping[str, Any]) -> dict[str, str]:
    key = ResourceKey.of(obj)
    out = {KIND_LABEL: key.kind, NAME_LABEL: key.name[:MAX_LABEL_VALUE]}
    if key.namespace:
        out[NAMESPACE_LABEL] = key.namespace[:MAX_LABEL_VALUE]
    return out


def unit_slug_for(
    obj: Mapping[str, Any], taken: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """The unit slug for a Kubernetes object.

    ``taken`` maps slugs already in the space to their labels. The object's own unit (same
    kind, name and namespace in its identity labels) keeps its slug; another object's unit
    makes this one ``<kind>-<name>``, then ``<kind>-<namespace>-<name>``.
    """
    key = ResourceKey.of(obj)
    ident = identity_labels(obj)
    candidates = [
        _slugify(key.name),
        _slugify(f"{key.kind}-{key.name}"),
        _slugify(f"{key.kind}-{key.namespace}-{key.name}") if key.namespace else None,
    ]
    taken = taken or {}
    for cand in candidates:
        if cand is None:
            continue
        other = taken.get(cand)
        if other is None or _same_object(other, ident):
            return cand
    base = _slugify(f"{key.kind}-{key.namespace}-{key.name}")
    n = 2
    while f"{base}-{n}" in taken and not _same_object(taken[f"{base}-{n}"], ident):
        n += 1
    return f"{base}-{n}"


def _same_object(labels: Mapping[str, str], ident: Mapping[str, str]) -> bool:
    if KIND_LABEL not in labels:
        return False  # a unit made by hand: the caller passes identity from its data
    return all(labels.get(k, "") == v for k, v in ident.items()) and (
        labels.get(NAMESPACE_LABEL, "") == ident.get(NAMESPACE_LABEL, "")
    )


# --------------------------------------------------------------------------- data paths

_SEG = re.compile(r"\[([^=\]]+)=([^\]]*)\]")


def parse_data_path(text: str) -> FieldPath:
    """``spec.replicas``, ``spec.template.spec.containers[name=web].image``, or ConfigHub's
    ``spec.template.spec.containers.?name=web.image`` / ``containers.0.image``."""
    if not text or text.startswith(".") or text.endswith("."):
        raise HubError(f"invalid data path {text!r}", "path", status=400)
    out: list[str | Sel] = []
    i = 0
    buf = ""
    while i < len(text):
        ch = text[i]
        if ch == "[":
            m = _SEG.match(text, i)
            if not m:
                raise HubError(f"invalid list selector in {text!r}", "path", status=400)
            if buf:
                out.append(buf)
                buf = ""
            out.append(Sel(((m.group(1), _scalar(m.group(2))),)))
            i = m.end()
            if i < len(text) and text[i] == ".":
                i += 1
            continue
        if ch == ".":
            if buf:
                out.append(buf)
            buf = ""
            i += 1
            continue
        buf += ch
        i += 1
    if buf:
        out.append(buf)
    final: list[str | Sel] = []
    for elem in out:
        if isinstance(elem, str) and elem.startswith("?") and "=" in elem:
            k, _, v = elem[1:].partition("=")
            final.append(Sel(((k, _scalar(v)),)))
        else:
            final.append(elem)
    return tuple(final)


def _scalar(text: str) -> Any:
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else text


def check_path_values(values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Parsed data paths with their scalar values; what the real API's set-*-path functions
    can express (strings, integers, booleans)."""
    if not values:
        raise HubError("no data paths to set", "values", status=400)
    out: dict[str, tuple[Any, Any]] = {}
    for text, value in values.items():
        if not isinstance(value, str | int | bool) or isinstance(value, float):
            raise HubError(
                f"{text}: only strings, integers and booleans can be set in bulk "
                f"(got {type(value).__name__})",
                "values",
                status=400,
            )
        out[text] = (parse_data_path(text), value)
    return out


def confighub_path(path: FieldPath) -> str:
    """A data path in ConfigHub's function syntax (``containers.?name=web.image``)."""
    parts: list[str] = []
    for elem in path:
        if isinstance(elem, Sel):
            parts.append(".".join(f"?{k}={v}" for k, v in elem.keys))
        else:
            parts.append(elem)
    return ".".join(parts)


def set_data_path(doc: Any, path: FieldPath, value: Any) -> bool:
    """Set ``path`` in ``doc`` (creating maps on the way); True when something changed.
    Raises HubError when the path runs through a scalar or a missing list item."""
    if not path:
        raise HubError("empty data path", "path", status=400)
    cur = doc
    for i, elem in enumerate(path):
        last = i == len(path) - 1
        if isinstance(elem, Sel):
            if not isinstance(cur, list):
                raise HubError(f"{_p(path)}: not a list at {elem}", "path", status=400)
            for item in cur:
                if elem.matches(item):
                    nxt = item
                    break
            else:
                raise HubError(f"{_p(path)}: no list item {elem}", "path", status=400)
            if last:
                raise HubError(f"{_p(path)}: cannot replace a whole list item", "path", status=400)
            cur = nxt
            continue
        if isinstance(cur, list) and elem.isdigit():
            idx = int(elem)
            if idx >= len(cur):
                raise HubError(f"{_p(path)}: no list item {idx}", "path", status=400)
            if last:
                changed = bool(cur[idx] != value)
                cur[idx] = value
                return changed
            cur = cur[idx]
            continue
        if not isinstance(cur, dict):
            raise HubError(f"{_p(path)}: not a map at {elem!r}", "path", status=400)
        if last:
            changed = elem not in cur or cur[elem] != value or type(cur[elem]) is not type(value)
            cur[elem] = value
            return changed
        if elem not in cur or cur[elem] is None:
            cur[elem] = {}
        cur = cur[elem]
    return False


def _p(path: FieldPath) -> str:
    from drifttui.core.models import format_path

    return format_path(path)


# --------------------------------------------------------------------------- sets

SET_MARK_LABEL = "drifttui-set"
"""Label on the saved Filter that stands for a set (the current API has no Sets)."""


def set_label(set_slug: str, space: str) -> tuple[str, str]:
    """The label that makes a unit a member of set ``space/set_slug``: ``set-<slug>`` with
    the set's space as its value (so equally named sets of two chains never mix)."""
    return f"set-{set_slug}", space


def set_filter_slug(set_slug: str) -> str:
    return f"set-{set_slug}"


def set_where(set_slug: str, space: str) -> str:
    key, value = set_label(set_slug, space)
    return f"Labels.{key} = '{value}'"
