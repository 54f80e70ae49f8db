"""User ignore rules: silence known, accepted differences (drift-rules.md 4.2 G).

A rule comes from the config file (``ignore:``) or an ``--ignore`` file as a mapping. It
names *what* to ignore, in one or more of three forms, and optionally *where*:

``path``
    A dotted path with list selectors, as reports print it:
    ``spec.template.spec.containers[name=istio-proxy]``. It matches that field and
    everything under it. ``*`` stands for one path element or selector value part,
    ``[*]`` for any list item, ``**`` for any run of elements:
    ``**.containers[name=istio-proxy]`` matches that container in any pod template.
``pointer``
    An RFC 6901 JSON Pointer (``/spec/replicas``), matched against the finding's pointer in
    the live object (in desired for a removed field), also as a prefix. A ``*`` segment
    matches any one segment (``/spec/template/spec/containers/*/image``).
``managers`` (or ``managedFieldsManagers``)
    Field managers whose writes are expected (``[kube-controller-manager, vpa-recommender]``):
    a finding attributed to one of them is ignored.

Scope (all optional; strings are regular expressions matched in full; a list means any of):
``kind``, ``group``, ``namespace``, ``resourceName`` (alias ``resource``), ``environment``.
``name`` is the rule's own name, shown in reports beside every finding it silences
(default ``rule-N``); ``reason`` is free text.

Examples::

    {name: istio, path: "spec.template.spec.containers[name=istio-proxy]", kind: Deployment}
    {pointer: /spec/replicas, kind: Deployment, resourceName: "web-.*", environment: dev}
    {name: vpa, managers: [vpa-recommender], kind: Deployment}

An ignored finding is kept, with ``ignored_by`` set: it is shown as ignored and never
counted or corrected. A rule never hides a missing object.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drifttui.core.models import Change, DriftItem, FieldDrift, ResourceKey
from drifttui.errors import ConfigError

_SCOPE_KEYS = {
    "kind": "kind",
    "kinds": "kind",
    "group": "group",
    "groups": "group",
    "namespace": "namespace",
    "namespaces": "namespace",
    "resourceName": "resource",
    "resource-name": "resource",
    "resource": "resource",
    "environment": "environment",
    "environments": "environment",
}
_WHAT_KEYS = {
    "path": "path",
    "paths": "path",
    "jqPathExpressions": "path",
    "pointer": "pointer",
    "pointers": "pointer",
    "jsonPointers": "pointer",
    "managers": "managers",
    "managedFieldsManagers": "managers",
}
_OTHER_KEYS = {"name", "reason", "comment", "description"}
_KNOWN = sorted({*_SCOPE_KEYS, *_WHAT_KEYS, *_OTHER_KEYS})


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """A compiled ignore rule (see the module docstring for the mapping it comes from)."""

    name: str
    paths: tuple[re.Pattern[str], ...] = ()
    pointers: tuple[tuple[str, ...], ...] = ()
    managers: frozenset[str] = frozenset()
    kind: re.Pattern[str] | None = None
    group: re.Pattern[str] | None = None
    namespace: re.Pattern[str] | None = None
    resource: re.Pattern[str] | None = None
    environment: re.Pattern[str] | None = None
    reason: str | None = None
    text: str = ""
    """The rule as the user wrote it (for display)."""

    def applies_to(self, environment: str, key: ResourceKey) -> bool:
        """Whether the rule's scope covers this object in this environment."""
        return (
            (self.environment is None or self.environment.fullmatch(environment) is not None)
            and (self.kind is None or self.kind.fullmatch(key.kind) is not None)
            and (self.group is None or self.group.fullmatch(key.group) is not None)
            and (self.namespace is None or self.namespace.fullmatch(key.namespace) is not None)
            and (self.resource is None or self.resource.fullmatch(key.name) is not None)
        )

    def matches_finding(self, finding: FieldDrift) -> bool:
        """Whether the rule names this finding (scope aside). Missing objects never match."""
        if finding.change is Change.MISSING:
            return False
        attribution = finding.attribution
        if self.managers and attribution is not None and attribution.manager in self.managers:
            return True
        if self.paths:
            text = finding.path_str
            if any(p.match(text) for p in self.paths):
                return True
        if self.pointers and finding.pointer:
            segs = finding.pointer.split("/")[1:]
            for rule in self.pointers:
                if len(rule) <= len(segs) and all(
                    r == "*" or r == s for r, s in zip(rule, segs, strict=False)
                ):
                    return True
        return False

    def matches(self, environment: str, key: ResourceKey, finding: FieldDrift) -> bool:
        return self.applies_to(environment, key) and self.matches_finding(finding)


# --------------------------------------------------------------------------- compiling


def _strings(value: Any, where: str, field: str) -> list[str]:
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        values = list(value)
    else:
        raise ConfigError(
            f"{field} must be a string or a list of strings, not {type(value).__name__}", where
        )
    if not values or any(not v.strip() for v in values):
        raise ConfigError(f"{field} is empty", where)
    return [v.strip() for v in values]


def _regex(values: list[str], where: str, field: str) -> re.Pattern[str]:
    text = values[0] if len(values) == 1 else "|".join(f"(?:{v})" for v in values)
    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(
            f"{field} is not a valid regular expression ({exc})", where, "escape . and * with \\"
        ) from None


def compile_path(text: str, where: str = "ignore rule") -> re.Pattern[str]:
    """A selector path (``spec.template.spec.containers[name=istio-proxy]``, with ``*``,
    ``[*]`` and ``**`` wildcards) as a regex matching report paths at or under it."""
    path = text.strip()
    if path.startswith("$"):
        path = path[1:]
    path = path.lstrip(".")
    if not path:
        raise ConfigError("path is empty", where, 'write it as reports do, e.g. "spec.replicas"')
    depth = 0
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if depth not in (0, 1):
            raise ConfigError(f"path {text!r} has unbalanced [ ]", where)
    if depth != 0:
        raise ConfigError(f"path {text!r} has unbalanced [ ]", where)
    if ".." in path or path.endswith("."):
        raise ConfigError(f"path {text!r} has an empty element", where)
    out: list[str] = []
    i = 0
    while i < len(path):
        if path.startswith("[*]", i):
            out.append(r"\[[^\]]*\]")
            i += 3
        elif path.startswith("**.", i):
            out.append(r"(?:.*[.\]])?")
            i += 3
        elif path.startswith("**", i):
            out.append(r".*")
            i += 2
        elif path[i] == "*":
            out.append(r"[^.\[\]]*")
            i += 1
        else:
            out.append(re.escape(path[i]))
            i += 1
    return re.compile("(?:" + "".join(out) + r")(?:$|[.\[])")


def _pointer(text: str, where: str) -> tuple[str, ...]:
    if not text.startswith("/"):
        raise ConfigError(
            f"pointer {text!r} must start with /", where, "JSON Pointer, e.g. /spec/replicas"
        )
    return tuple(text.split("/")[1:])


def compile_rule(raw: Mapping[str, Any], index: int = 0) -> IgnoreRule:
    """One rule mapping into an :class:`IgnoreRule`; ConfigError naming ``ignore[index]``."""
    where = f"ignore[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"an ignore rule must be a mapping, not {type(raw).__name__}",
            where,
            "e.g. {path: spec.replicas, kind: Deployment}",
        )
    unknown = [
        str(k) for k in raw if k not in _SCOPE_KEYS and k not in _WHAT_KEYS and k not in _OTHER_KEYS
    ]
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r} in ignore rule", where, f"known keys: {', '.join(_KNOWN)}"
        )
    name_raw = raw.get("name")
    if name_raw is not None and (not isinstance(name_raw, str) or not name_raw.strip()):
        raise ConfigError("name must be a non-empty string", where)
    name = name_raw.strip() if isinstance(name_raw, str) else f"rule-{index + 1}"
    where = f"ignore[{index}] ({name})" if name_raw else where

    paths: list[re.Pattern[str]] = []
    pointers: list[tuple[str, ...]] = []
    managers: set[str] = set()
    scope: dict[str, re.Pattern[str]] = {}
    for k, v in raw.items():
        if k in _WHAT_KEYS:
            what = _WHAT_KEYS[k]
            values = _strings(v, where, k)
            if what == "path":
                paths.extend(compile_path(p, where) for p in values)
            elif what == "pointer":
                pointers.extend(_pointer(p, where) for p in values)
            else:
                managers.update(values)
        elif k in _SCOPE_KEYS:
            field = _SCOPE_KEYS[k]
            if field in scope:
                raise ConfigError(f"{field} is given twice", where)
            scope[field] = _regex(_strings(v, where, k), where, k)
    if not paths and not pointers and not managers:
        raise ConfigError(
            "ignore rule names nothing to ignore",
            where,
            "give path, pointer or managers (scope keys alone would hide whole objects)",
        )
    reason = raw.get("reason") or raw.get("comment") or raw.get("description")
    text = ", ".join(f"{k}: {v}" for k, v in raw.items())
    return IgnoreRule(
        name=name,
        paths=tuple(paths),
        pointers=tuple(pointers),
        managers=frozenset(managers),
        kind=scope.get("kind"),
        group=scope.get("group"),
        namespace=scope.get("namespace"),
        resource=scope.get("resource"),
        environment=scope.get("environment"),
        reason=str(reason) if reason is not None else None,
        text="{" + text + "}",
    )


def compile_rules(raw: Sequence[Mapping[str, Any]] | None) -> tuple[IgnoreRule, ...]:
    """Compile the ``ignore:`` list of a config file; ConfigError on the first bad rule."""
    if raw is None:
        return ()
    if isinstance(raw, Mapping | str) or not isinstance(raw, Sequence):
        raise ConfigError("ignore rules must be a list of mappings", "ignore")
    rules = tuple(compile_rule(r, i) for i, r in enumerate(raw))
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"ignore rule names repeat: {', '.join(dupes)}", "ignore")
    return rules


# --------------------------------------------------------------------------- applying


def apply_rules(
    rules: Sequence[IgnoreRule],
    environment: str,
    key: ResourceKey,
    findings: Iterable[FieldDrift],
) -> list[FieldDrift]:
    """The findings with ``ignored_by`` set by the first matching rule."""
    scoped = [r for r in rules if r.applies_to(environment, key)]
    out: list[FieldDrift] = []
    for f in findings:
        if scoped and f.ignored_by is None:
            for rule in scoped:
                if rule.matches_finding(f):
                    f = dataclasses.replace(f, ignored_by=rule.name)
                    break
        out.append(f)
    return out


def count_silenced(rule: IgnoreRule, items: Iterable[DriftItem]) -> int:
    """How many findings, not yet ignored, this rule would silence (the TUI's ``i`` preview)."""
    total = 0
    for item in items:
        if not rule.applies_to(item.environment, item.key):
            continue
        total += sum(1 for f in item.fields if f.ignored_by is None and rule.matches_finding(f))
    return total


def silenced_findings(
    rule: IgnoreRule, items: Iterable[DriftItem]
) -> list[tuple[DriftItem, FieldDrift]]:
    """The (item, finding) pairs :func:`count_silenced` counts, for a preview list."""
    out: list[tuple[DriftItem, FieldDrift]] = []
    for item in items:
        if rule.applies_to(item.environment, item.key):
            out.extend(
                (item, f) for f in item.fields if f.ignored_by is None and rule.matches_finding(f)
            )
    return out
