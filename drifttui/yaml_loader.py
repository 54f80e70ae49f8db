"""YAML as Kubernetes tools read it, fast: PyYAML's safe loader (libyaml's C parser when
PyYAML has it) with a faster tag resolver, and :func:`load_all`, which builds the values.

:func:`load_all` is what every manifest and unit document goes through (``drifttui diff``,
the engine, the hub): timestamps stay text, as kubectl and the API server keep them (PyYAML
would make ``2026-11-25`` a ``datetime.date``, and a ConfigMap value written that way would
drift forever against the live string), ``!!binary`` stays its base64 text, merge keys are
honoured, an unknown tag is an error.

The resolver: PyYAML resolves the tag of every plain scalar (every mapping key included) by
matching the YAML 1.1 implicit regexes in Python, a third of the time of loading a manifest.
Manifests repeat the same few hundred scalars (``name``, ``image``, ``true``, ...), so the
tag of a plain scalar is looked up in a bounded table first and resolved by PyYAML's own
:meth:`resolve` only the first time. The safe loader has no path resolvers, so the per-node
path bookkeeping (``descend_resolver`` / ``ascend_resolver``) has nothing to do and is
skipped. The tags are exactly PyYAML's (YAML 1.1: ``yes`` is true, as kubectl reads it too).

``yaml`` is imported on first use (start-up stays light).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["load_all", "safe_loader"]

_MAX_REMEMBERED = 65_536
"""Distinct plain scalars whose tag is kept; past that, new ones are resolved each time."""

_lock = threading.Lock()
_loader: Any = None


def safe_loader() -> Any:
    """The loader class: pass it as ``Loader=`` to ``yaml.load`` / ``yaml.load_all``."""
    global _loader
    if _loader is None:
        with _lock:
            if _loader is None:
                _loader = _make_loader()
    return _loader


def _make_loader() -> Any:
    import yaml
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    base: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    if base.yaml_path_resolvers:  # never for the safe loader; keep PyYAML's if it changes
        return base
    resolve_once = base.resolve
    scalar_tag: str = base.DEFAULT_SCALAR_TAG
    collection_tags: dict[Any, str] = {
        MappingNode: base.DEFAULT_MAPPING_TAG,
        SequenceNode: base.DEFAULT_SEQUENCE_TAG,
    }
    plain_tags: dict[str, str] = {}

    class FastSafeLoader(base):  # type: ignore[misc, valid-type]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is ScalarNode:
                if not implicit[0]:  # quoted, or tagged by the document: a string
                    return scalar_tag
                tag = plain_tags.get(value)
                if tag is None:
                    tag = resolve_once(self, kind, value, implicit)
                    if len(plain_tags) < _MAX_REMEMBERED:
                        plain_tags[value] = tag
                return tag
            return collection_tags[kind]

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            return None

        def ascend_resolver(self) -> None:
            return None

    FastSafeLoader.__name__ = FastSafeLoader.__qualname__ = f"Fast{base.__name__}"
    return FastSafeLoader


# --------------------------------------------------------------------------- values


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_AS_TEXT_TAGS = frozenset({"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"})
_BOOLS = {
    "yes": True,
    "true": True,
    "on": True,
    "no": False,
    "false": False,
    "off": False,
}


class _Builder:
    """Builds Python values from the nodes PyYAML's C parser composes (libyaml), with
    PyYAML's own SafeConstructor for the scalar types it does not handle inline.

    PyYAML's generic construction (generators, recursion bookkeeping per node) is most of
    its run time; manifests are plain trees of maps, lists and strings, built here in one
    recursive pass (about twice as fast). Timestamps and ``!!binary`` stay text, as the API
    server writes them; merge keys (``<<``) are honoured; unknown tags are an error.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def build(self, node: Any) -> Any:
        tag = node.tag
        if tag == _STR_TAG:
            return node.value
        if tag == _MAP_TAG:
            build = self.build
            out: dict[Any, Any] = {}
            for k, v in node.value:
                if k.tag == _MERGE_TAG:  # rare: merge, then build the flat mapping
                    self.loader.flatten_mapping(node)
                    return build(node)
                key = build(k)
                if isinstance(key, dict | list):
                    from yaml.constructor import ConstructorError

                    raise ConstructorError(
                        None, None, "a mapping key is itself a mapping or a list", k.start_mark
                    )
                out[key] = build(v)
            return out
        if tag == _SEQ_TAG:
            build = self.build
            return [build(v) for v in node.value]
        if tag == _NULL_TAG:
            return None
        if tag == _BOOL_TAG:
            return _BOOLS[node.value.lower()]
        if tag == _INT_TAG and node.value.isdigit():
            return int(node.value)
        if tag in _AS_TEXT_TAGS:
            return node.value
        return self.loader.construct_object(node, deep=True)


def load_all(text: str) -> Iterator[Any]:
    """The documents of ``text`` (None for an empty one), as Kubernetes tools read them.
    Raises ``yaml.YAMLError`` for anything that is not such YAML (a mapping or list used as
    a mapping key, absurd nesting included), so a caller handles one error."""
    import yaml

    loader = safe_loader()(text)
    builder = _Builder(loader)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield builder.build(node) if node is not None else None
    except RecursionError:
        raise yaml.YAMLError("the document is nested too deeply") from None
    finally:
        loader.dispose()
