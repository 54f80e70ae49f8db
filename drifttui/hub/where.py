"""ConfigHub where-clauses: one parser and evaluator, shared by both hubs.

The grammar is the real API's (confighub-api.md section 4): a flat conjunction of
``attribute OPERATOR value`` clauses joined by ``AND``. There is no ``OR`` and there are no
parentheses; a disjunction over one attribute is written ``IN (...)``. String literals use
single quotes and can hold neither a quote nor a backslash (there is no escaping). The whole
expression is at most 8192 characters.

``parse_where`` checks a clause against the attributes an entity really has, so a filter the
embedded hub accepts is one the real service accepts too, and every error names the character
position. ``ConfigHubClient`` validates each where-clause with it before sending; ``SqliteHub``
and ``hub serve`` evaluate the parsed form with :func:`evaluate`.

Semantics follow SQL, as the server's do: a comparison with an absent value (a missing label,
a unit without an upstream) is unknown, which selects nothing, unless tested with
``IS NOT FALSE`` / ``IS NOT TRUE``; ``IS NULL`` selects the absent ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drifttui.errors import HubError, WhereClauseError

MAX_WHERE_LENGTH = 8192
"""The server's cap on a where expression (``cubapi.MaxFilterLength``)."""


class AttrType(StrEnum):
    STRING = "string"
    INT = "integer"
    UUID = "uuid"
    BOOL = "boolean"
    TIME = "time"
    MAP = "map"
    ARRAY = "array"


_S, _I, _U, _B, _T, _M, _A = (
    AttrType.STRING,
    AttrType.INT,
    AttrType.UUID,
    AttrType.BOOL,
    AttrType.TIME,
    AttrType.MAP,
    AttrType.ARRAY,
)

_COMMON: dict[str, AttrType] = {
    "Slug": _S,
    "DisplayName": _S,
    "Labels": _M,
    "Annotations": _M,
    "OrganizationID": _U,
    "CreatedAt": _T,
    "UpdatedAt": _T,
}

ENTITY_ATTRIBUTES: dict[str, dict[str, AttrType]] = {
    # G2 (current) attributes; G1-only ones (LiveRevisionNum, SetID, ...) are rejected as the
    # current server rejects them.
    "Unit": {
        **_COMMON,
        "UnitID": _U,
        "SpaceID": _U,
        "ToolchainType": _S,
        "HeadRevisionNum": _I,
        "HeadRevisionID": _U,
        "HeadMutationNum": _I,
        "LastReleasedRevisionNum": _I,
        "LastChangeDescription": _S,
        "UpstreamUnitID": _U,
        "UpstreamSpaceID": _U,
        "UpstreamRevisionNum": _I,
        "TargetID": _U,
        "ChangeSetID": _U,
        "DataHash": _S,
        "ApprovedBy": _A,
        "ValidationErrors": _M,
        "ValidationWarnings": _M,
        "Values": _M,
    },
    "Space": {**_COMMON, "SpaceID": _U, "DeleteGates": _M},
    "Filter": {
        **_COMMON,
        "FilterID": _U,
        "SpaceID": _U,
        "From": _S,
        "Where": _S,
        "WhereData": _S,
        "ResourceType": _S,
        "FromSpaceID": _U,
    },
    "ChangeSet": {**_COMMON, "ChangeSetID": _U, "SpaceID": _U, "Description": _S},
    "Revision": {
        "RevisionID": _U,
        "RevisionNum": _I,
        "UnitID": _U,
        "SpaceID": _U,
        "OrganizationID": _U,
        "Description": _S,
        "Source": _S,
        "UserID": _U,
        "ChangeSetID": _U,
        "DataHash": _S,
        "CreatedAt": _T,
    },
}

RELATED: dict[str, dict[str, str]] = {
    # prefix -> entity it names, per entity being filtered
    "Unit": {"Unit": "Unit", "Space": "Space", "UpstreamUnit": "Unit", "UpstreamSpace": "Space"},
    "Space": {"Space": "Space"},
    "Filter": {"Filter": "Filter", "Space": "Space"},
    "ChangeSet": {"ChangeSet": "ChangeSet", "Space": "Space"},
    "Revision": {"Revision": "Revision", "Unit": "Unit", "ChangeSet": "ChangeSet"},
}

# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class AttrRef:
    """``Space.Labels.tier`` is AttrRef(relation="Space", name="Labels", key="tier").

    ``relation`` is None for the entity itself (``Unit.Slug`` on a unit is the same as
    ``Slug``). ``length`` marks ``LEN(attr)``."""

    relation: str | None
    name: str
    key: str | None
    type: AttrType
    text: str
    position: int
    length: bool = False

    @property
    def value_type(self) -> AttrType:
        if self.length:
            return AttrType.INT
        if self.type is AttrType.MAP and self.key is not None:
            return AttrType.STRING
        return self.type


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | bool
    position: int


Operand = AttrRef | Literal


@dataclass(frozen=True, slots=True)
class Clause:
    left: AttrRef
    op: str  # "=", "!=", "<", ..., "LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE", "~", "~*",
    # "!~", "!~*", "IN", "NOT IN", "IS NULL", "IS NOT NULL", "?"
    right: Operand | tuple[Literal, ...] | None
    truth: str | None  # None, "IS TRUE", "IS FALSE", "IS NOT TRUE", "IS NOT FALSE"
    position: int


@dataclass(frozen=True, slots=True)
class Where:
    """A parsed where-clause; empty ``clauses`` selects everything."""

    text: str
    entity: str
    clauses: tuple[Clause, ...]

    def attributes(self) -> set[tuple[str | None, str]]:
        out: set[tuple[str | None, str]] = set()
        for c in self.clauses:
            out.add((c.left.relation, c.left.name))
            if isinstance(c.right, AttrRef):
                out.add((c.right.relation, c.right.name))
        return out

    def equality(self, name: str) -> str | None:
        """The literal of a top-level ``name = 'x'`` clause on the entity itself, if any
        (lets the embedded hub narrow its SQL before evaluating)."""
        for c in self.clauses:
            if (
                c.op == "="
                and c.truth is None
                and c.left.relation is None
                and c.left.name == name
                and c.left.key is None
                and not c.left.length
                and isinstance(c.right, Literal)
                and isinstance(c.right.value, str)
            ):
                return c.right.value
        return None


# --------------------------------------------------------------------------- tokens


class _Tok(StrEnum):
    ATTR = "attribute"
    STRING = "string"
    NUMBER = "number"
    OP = "operator"
    WORD = "keyword"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Tok
    text: str
    position: int
    value: Any = None


_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "TRUE", "FALSE", "LEN"}
_OPERATORS = ("!~~", "!~*", "!=", "<>", "<=", ">=", "~~", "~*", "!~", "<", ">", "=", "~", "?")
_WORD_START = re.compile(r"[A-Za-z_]")
_WORD_CHARS = re.compile(r"[A-Za-z0-9_.*/\-]*")
_NUMBER = re.compile(r"-?[0-9]+")


def _fail(what: str, position: int, clause: str) -> WhereClauseError:
    return WhereClauseError(what, position, clause)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise _fail(
                    "unterminated string literal (a quote opened here never closes)", i, text
                )
            body = text[i + 1 : end]
            bad = body.find("\\")
            if bad >= 0:
                raise _fail(
                    "a string literal cannot contain a backslash (the grammar has no escapes)",
                    i + 1 + bad,
                    text,
                )
            tokens.append(_Token(_Tok.STRING, text[i : end + 1], i, body))
            i = end + 1
            if i < n and text[i] == "'":
                raise _fail(
                    "a string literal cannot contain a quote ('' is not an escape)", i, text
                )
            continue
        if ch == '"':
            raise _fail("string literals use single quotes, not double quotes", i, text)
        if ch == "(":
            tokens.append(_Token(_Tok.LPAREN, ch, i))
            i += 1
            continue
        if ch == ")":
            tokens.append(_Token(_Tok.RPAREN, ch, i))
            i += 1
            continue
        if ch == ",":
            tokens.append(_Token(_Tok.COMMA, ch, i))
            i += 1
            continue
        if ch == "[":
            raise _fail(
                "bracket access is not supported; write Labels.key instead of Labels['key']",
                i,
                text,
            )
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or (not tokens or _is_value_slot(tokens))):
            tokens.append(_Token(_Tok.NUMBER, m.group(), i, int(m.group())))
            i = m.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(_Token(_Tok.OP, op, i))
            i += len(op)
            continue
        if _WORD_START.match(ch):
            m2 = _WORD_CHARS.match(text, i + 1)
            end = m2.end() if m2 else i + 1
            word = text[i:end]
            if word.upper() in _KEYWORDS and "." not in word:
                tokens.append(_Token(_Tok.WORD, word, i))
            else:
                tokens.append(_Token(_Tok.ATTR, word, i))
            i = end
            continue
        raise _fail(f"unexpected character {ch!r}", i, text)
    tokens.append(_Token(_Tok.EOF, "", n))
    return tokens


def _is_value_slot(tokens: list[_Token]) -> bool:
    return bool(tokens) and tokens[-1].kind in (_Tok.OP, _Tok.LPAREN, _Tok.COMMA)


# --------------------------------------------------------------------------- parser

_COMPARISONS = {"=", "!=", "<", ">", "<=", ">="}
_STRING_OPS = {"LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE", "~", "~*", "!~", "!~*"}
_OPS_BY_TYPE: dict[AttrType, set[str]] = {
    AttrType.STRING: _COMPARISONS | _STRING_OPS | {"IN", "NOT IN"},
    AttrType.INT: _COMPARISONS | {"IN", "NOT IN"},
    AttrType.UUID: {"=", "!=", "IN", "NOT IN"},
    AttrType.BOOL: {"=", "!="},
    AttrType.TIME: _COMPARISONS,
    AttrType.ARRAY: {"?"},
    AttrType.MAP: set(),
}


class _Parser:
    def __init__(self, text: str, entity: str) -> None:
        self.text = text
        self.entity = entity
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind is not _Tok.EOF:
            self.i += 1
        return tok

    def fail(self, what: str, tok: _Token | None = None) -> WhereClauseError:
        return _fail(what, (tok or self.peek()).position, self.text)

    def word(self, tok: _Token, expected: str) -> bool:
        if tok.kind is not _Tok.WORD:
            return False
        if tok.text.upper() == expected and tok.text != expected:
            raise self.fail(f"write the keyword {expected} in upper case", tok)
        return tok.text == expected

    def is_word(self, expected: str) -> bool:
        return self.word(self.peek(), expected)

    def expect_word(self, expected: str, context: str) -> _Token:
        tok = self.peek()
        if not self.word(tok, expected):
            raise self.fail(f"expected {expected} {context}, found {_describe(tok)}", tok)
        return self.take()

    def parse(self) -> Where:
        clauses: list[Clause] = []
        if self.peek().kind is _Tok.EOF:
            return Where(self.text, self.entity, ())
        while True:
            clauses.append(self.clause())
            tok = self.peek()
            if tok.kind is _Tok.EOF:
                break
            if self.word(tok, "AND"):
                self.take()
                if self.peek().kind is _Tok.EOF:
                    raise self.fail("expected a clause after AND")
                continue
            if self.word(tok, "OR"):
                raise self.fail(
                    "OR is not supported (a where-clause is a conjunction of AND clauses); "
                    "for alternatives of one attribute write IN ('a', 'b')",
                    tok,
                )
            raise self.fail(f"expected AND or the end, found {_describe(tok)}", tok)
        return Where(self.text, self.entity, tuple(clauses))

    def clause(self) -> Clause:
        tok = self.peek()
        if tok.kind is _Tok.LPAREN:
            raise self.fail(
                "parentheses are not supported (no grouping, no OR); "
                "for alternatives of one attribute write IN ('a', 'b')",
                tok,
            )
        left = self.operand_attr()
        op, right = self.predicate(left)
        truth = self.truth_test()
        return Clause(left, op, right, truth, left.position)

    def operand_attr(self) -> AttrRef:
        tok = self.peek()
        if self.word(tok, "LEN"):
            self.take()
            if self.peek().kind is not _Tok.LPAREN:
                raise self.fail("expected ( after LEN")
            self.take()
            inner = self.attr(self.take())
            if inner.type is not AttrType.ARRAY:
                raise self.fail(f"LEN() takes an array attribute; {inner.text} is not one", tok)
            if self.peek().kind is not _Tok.RPAREN:
                raise self.fail("expected ) to close LEN(")
            self.take()
            return AttrRef(
                inner.relation, inner.name, None, inner.type, inner.text, tok.position, True
            )
        if tok.kind is _Tok.WORD and tok.text.upper() in ("AND", "OR"):
            raise self.fail(f"expected an attribute, found {tok.text}", tok)
        return self.attr(self.take())

    def attr(self, tok: _Token) -> AttrRef:
        if tok.kind is not _Tok.ATTR:
            if tok.kind is _Tok.LPAREN:
                raise self.fail(
                    "parentheses are not supported; for alternatives write IN ('a', 'b')", tok
                )
            raise self.fail(f"expected an attribute name, found {_describe(tok)}", tok)
        return resolve_attribute(self.entity, tok.text, tok.position, self.text)

    def literal(self) -> Literal:
        tok = self.take()
        if tok.kind is _Tok.STRING:
            return Literal(str(tok.value), tok.position)
        if tok.kind is _Tok.NUMBER:
            return Literal(int(tok.value), tok.position)
        if tok.kind in (_Tok.WORD, _Tok.ATTR) and tok.text.lower() in ("true", "false"):
            return Literal(tok.text.lower() == "true", tok.position)
        raise self.fail(f"expected a literal value, found {_describe(tok)}", tok)

    def predicate(self, left: AttrRef) -> tuple[str, Operand | tuple[Literal, ...] | None]:
        tok = self.peek()
        if self.is_word("IS"):
            self.take()
            negate = False
            if self.is_word("NOT"):
                self.take()
                negate = True
            self.expect_word("NULL", "after IS" + (" NOT" if negate else ""))
            if left.type is not AttrType.MAP and left.type is not AttrType.UUID:
                raise self.fail(
                    f"IS NULL applies to map keys and nullable IDs; {left.text} is a "
                    f"{left.value_type}",
                    tok,
                )
            if left.type is AttrType.MAP and left.key is None:
                raise self.fail(f"name a key: {left.text}.<key> IS NULL", tok)
            return ("IS NOT NULL" if negate else "IS NULL"), None
        if left.type is AttrType.MAP and left.key is None:
            raise _fail(
                f"{left.text} is a map; compare one key, as in {left.text}.tier",
                left.position,
                self.text,
            )
        op: str
        if self.is_word("NOT"):
            self.take()
            nxt = self.peek()
            if self.word(nxt, "LIKE") or self.word(nxt, "ILIKE") or self.word(nxt, "IN"):
                op = "NOT " + self.take().text
            else:
                raise self.fail(f"expected LIKE, ILIKE or IN after NOT, found {_describe(nxt)}")
        elif tok.kind is _Tok.WORD and tok.text in ("LIKE", "ILIKE", "IN"):
            op = self.take().text
        elif tok.kind is _Tok.WORD and tok.text.upper() in ("LIKE", "ILIKE", "IN"):
            raise self.fail(f"write the keyword {tok.text.upper()} in upper case", tok)
        elif tok.kind is _Tok.OP:
            op = self.take().text
            if op == "<>":
                raise self.fail("use != for inequality (<> is not an operator here)", tok)
            op = {"~~": "LIKE", "!~~": "NOT LIKE"}.get(op, op)
        elif tok.kind is _Tok.ATTR and tok.text.lower() == "contains":
            raise self.fail(
                "there is no contains operator; use LIKE '%text%' for strings or ? for arrays",
                tok,
            )
        else:
            raise self.fail(f"expected an operator after {left.text}, found {_describe(tok)}", tok)

        vtype = left.value_type
        if op not in _OPS_BY_TYPE[vtype]:
            allowed = ", ".join(sorted(_OPS_BY_TYPE[vtype])) or "IS NULL / IS NOT NULL"
            raise self.fail(
                f"operator {op} does not apply to {left.text} (a {vtype}); allowed: {allowed}",
                tok,
            )
        if op in ("IN", "NOT IN"):
            if self.peek().kind is not _Tok.LPAREN:
                raise self.fail(f"expected ( after {op}")
            self.take()
            items: list[Literal] = []
            while True:
                lit = self.literal()
                self.check_literal(left, lit)
                items.append(lit)
                sep = self.take()
                if sep.kind is _Tok.COMMA:
                    continue
                if sep.kind is _Tok.RPAREN:
                    break
                raise self.fail(f"expected , or ) in the {op} list, found {_describe(sep)}", sep)
            return op, tuple(items)
        nxt = self.peek()
        if nxt.kind is _Tok.ATTR and nxt.text.lower() not in ("true", "false"):
            right = self.attr(self.take())
            if op not in _COMPARISONS:
                raise self.fail(f"{op} needs a literal on its right, not an attribute", nxt)
            if right.value_type != vtype and {right.value_type, vtype} != {AttrType.UUID}:
                raise self.fail(
                    f"cannot compare {left.text} (a {vtype}) with {right.text} "
                    f"(a {right.value_type})",
                    nxt,
                )
            return op, right
        lit = self.literal()
        self.check_literal(left, lit)
        if op in ("~", "~*", "!~", "!~*"):
            try:
                re.compile(str(lit.value))
            except re.error as exc:
                raise self.fail(f"invalid regular expression ({exc.msg})", nxt) from None
        return op, lit

    def check_literal(self, left: AttrRef, lit: Literal) -> None:
        vtype = left.value_type
        val = lit.value
        if vtype in (AttrType.STRING, AttrType.UUID, AttrType.TIME, AttrType.ARRAY):
            if not isinstance(val, str):
                raise _fail(
                    f"{left.text} is a {vtype}; compare it with a quoted literal such as 'x'",
                    lit.position,
                    self.text,
                )
        elif vtype is AttrType.INT:
            if isinstance(val, bool) or not isinstance(val, int):
                raise _fail(
                    f"{left.text} is an integer; compare it with a bare number such as 3",
                    lit.position,
                    self.text,
                )
        elif vtype is AttrType.BOOL and not isinstance(val, bool):
            raise _fail(
                f"{left.text} is a boolean; compare it with true or false",
                lit.position,
                self.text,
            )

    def truth_test(self) -> str | None:
        if not self.is_word("IS"):
            return None
        tok = self.take()
        negate = False
        if self.is_word("NOT"):
            self.take()
            negate = True
        nxt = self.peek()
        if self.word(nxt, "TRUE") or self.word(nxt, "FALSE"):
            self.take()
            return f"IS {'NOT ' if negate else ''}{nxt.text}"
        raise self.fail(f"expected TRUE or FALSE after {tok.text}, found {_describe(nxt)}", nxt)


def _describe(tok: _Token) -> str:
    if tok.kind is _Tok.EOF:
        return "the end of the clause"
    return f"{tok.kind.value} {tok.text!r}"


def resolve_attribute(entity: str, text: str, position: int, clause: str = "") -> AttrRef:
    """Check an attribute path (``Labels.tier``, ``UpstreamUnit.HeadRevisionNum``) against
    the entity's real attributes."""
    if entity not in ENTITY_ATTRIBUTES:
        raise HubError(f"cannot filter {entity} entities", "where-clause", status=400)
    parts = text.split(".")
    relation: str | None = None
    target = entity
    related = RELATED.get(entity, {})
    if len(parts) > 1 and parts[0] in related:
        relation = None if parts[0] == entity else parts[0]
        target = related[parts[0]]
        parts = parts[1:]
    name = parts[0]
    attrs = ENTITY_ATTRIBUTES[target]
    if "*" in parts:
        raise _fail(
            f"{text}: a '*' segment applies only to lists of entities, which the drift "
            "tools do not filter on",
            position,
            clause,
        )
    if name not in attrs:
        near = [a for a in attrs if a.lower() == name.lower()]
        hint = (
            f"; attribute names are case-sensitive: did you mean {near[0]}?"
            if near
            else f"; known: {', '.join(sorted(attrs))}"
        )
        raise _fail(f"unknown attribute {name!r} for {target}{hint}", position, clause)
    atype = attrs[name]
    key: str | None = None
    if len(parts) > 1:
        if atype is not AttrType.MAP:
            raise _fail(f"{name} is a {atype}, not a map: {text} names no value", position, clause)
        key = ".".join(parts[1:])
        if not key:
            raise _fail(f"empty map key in {text}", position, clause)
    return AttrRef(relation, name, key, atype, text, position)


def parse_where(text: str, entity: str = "Unit") -> Where:
    """Parse and check a where-clause for ``entity`` (Unit, Space, Filter, ChangeSet,
    Revision). Raises :class:`WhereClauseError` naming the position of the problem."""
    if len(text) > MAX_WHERE_LENGTH:
        raise _fail(
            f"where-clause is {len(text)} characters; the limit is {MAX_WHERE_LENGTH}",
            MAX_WHERE_LENGTH,
            text[:80],
        )
    return _Parser(text, entity).parse()


# --------------------------------------------------------------------------- building


def quote(value: str, what: str = "value") -> str:
    """A string literal for ``value``; refuses what the grammar cannot express."""
    if "'" in value or "\\" in value:
        raise HubError(
            f"{what} {value!r} cannot appear in a where-clause (it holds a quote or a "
            "backslash, which the grammar cannot express)",
            "where-clause",
            status=400,
        )
    return f"'{value}'"


def where_and(*clauses: str | None) -> str:
    """Join non-empty clauses with AND."""
    return " AND ".join(c.strip() for c in clauses if c and c.strip())


def where_in(attribute: str, values: Iterable[str]) -> str:
    return f"{attribute} IN ({', '.join(quote(v) for v in values)})"


# --------------------------------------------------------------------------- evaluation

Lookup = Callable[[AttrRef], Any]
"""Returns the value of an attribute for the record being tested (None when absent)."""


def evaluate(where: Where, lookup: Lookup) -> bool:
    """True when every clause holds for the record ``lookup`` describes."""
    return all(_holds(c, lookup) for c in where.clauses)


def _like_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if insensitive else 0))


def _value(lookup: Lookup, ref: AttrRef) -> Any:
    v = lookup(ref)
    if ref.length:
        return len(v) if isinstance(v, list | tuple) else 0 if v is None else None
    if ref.type is AttrType.MAP and ref.key is not None:
        if isinstance(v, Mapping):
            return v.get(ref.key)
        return None
    return v


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    try:
        if op == "=":
            return bool(a == b)
        if op == "!=":
            return bool(a != b)
        if op == "<":
            return bool(a < b)
        if op == ">":
            return bool(a > b)
        if op == "<=":
            return bool(a <= b)
        if op == ">=":
            return bool(a >= b)
    except TypeError:
        return None
    raise AssertionError(op)


def _holds(c: Clause, lookup: Lookup) -> bool:
    result = _raw(c, lookup)
    if c.truth is None:
        return result is True
    if c.truth == "IS TRUE":
        return result is True
    if c.truth == "IS FALSE":
        return result is False
    if c.truth == "IS NOT TRUE":
        return result is not True
    return result is not False  # IS NOT FALSE


def _raw(c: Clause, lookup: Lookup) -> bool | None:
    left = _value(lookup, c.left)
    op = c.op
    if op == "IS NULL":
        return left is None or left == ""
    if op == "IS NOT NULL":
        return not (left is None or left == "")
    if left is None:
        return None
    if op == "?":
        assert isinstance(c.right, Literal)
        return isinstance(left, list | tuple) and c.right.value in left
    if op in ("IN", "NOT IN"):
        assert isinstance(c.right, tuple)
        found = any(left == lit.value for lit in c.right)
        return found if op == "IN" else not found
    if isinstance(c.right, AttrRef):
        right: Any = _value(lookup, c.right)
    else:
        assert isinstance(c.right, Literal)
        right = c.right.value
    if right is None:
        return None
    if op in ("LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"):
        rx = _like_regex(str(right), insensitive="ILIKE" in op)
        hit = rx.fullmatch(str(left)) is not None
        return hit if not op.startswith("NOT") else not hit
    if op in ("~", "~*", "!~", "!~*"):
        rx2 = re.compile(str(right), re.IGNORECASE if op.endswith("*") else 0)
        hit = rx2.search(str(left)) is not None
        return hit if not op.startswith("!") else not hit
    return _compare(op, left, right)
