"""PyYAML's safe loader (libyaml's C parser when PyYAML has it) with a faster tag resolver.

PyYAML resolves the tag of every plain scalar (every mapping key included) by matching the
YAML 1.1 implicit regexes in Python: a third of the time of loading a manifest. Manifests
repeat the same few hundred scalars (``name``, ``image``, ``containerPort``, ``true``, ...),
so the tag of a plain scalar is looked up in a bounded table first and resolved by PyYAML's
own :meth:`resolve` only the first time. The safe loader has no path resolvers, so the
per-node path bookkeeping (``descend_resolver`` / ``ascend_resolver``) has nothing to do
and is skipped. The tags, and so the loaded values, are exactly PyYAML's.

``yaml`` is imported on first use (start-up stays light).
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["safe_loader"]

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
