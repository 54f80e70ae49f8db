"""The where-clause grammar (confighub-api.md section 4): what parses, what is refused with
which position, how clauses evaluate, and fuzzing for crashes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.errors import HubError, WhereClauseError
from drifttui.hub.where import (
    MAX_WHERE_LENGTH,
    AttrRef,
    Literal,
    evaluate,
    parse_where,
    quote,
    where_in,
)

REAL_EXAMPLES = [
    "Labels.tier = 'Backend'",
    "Slug IN ('app1','app2')",
    "Labels.Environment NOT IN ('development','test')",
    "UpstreamRevisionNum > 0",
    "HeadRevisionNum > LastReleasedRevisionNum",
    "UpstreamUnit.Slug = 'backend' AND Space.Labels.Environment = 'prod'",
    "CreatedAt >= '2025-01-07' AND Slug = 'test' AND Labels.mykey = 'myvalue'",
    "Unit.UpstreamRevisionNum < UpstreamUnit.HeadRevisionNum",
    "TargetID IS NOT NULL",
    "Labels.tier IS NULL",
    "ApprovedBy ? '7c61626f-ddbe-41af-93f6-b69f4ab6d308'",
    "LEN(ApprovedBy) > 0",
    "Slug LIKE 'app-%' AND DisplayName ILIKE '%Web%'",
    "Slug NOT LIKE 'tmp%'",
    "Slug ~ '^a.*z$' AND Slug !~* 'TEST'",
    "ChangeSetID = '7c61626f-ddbe-41af-93f6-b69f4ab6d308' IS NOT FALSE",
]


@pytest.mark.parametrize("text", REAL_EXAMPLES)
def test_documented_examples_parse(text: str) -> None:
    w = parse_where(text, "Unit")
    assert len(w.clauses) == text.count(" AND ") + 1


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("Slug = 'a' OR Slug = 'b'", 11, "OR is not supported"),
        ("(Slug = 'a')", 0, "parentheses are not supported"),
        ("Slug = 'a' AND (Slug = 'b')", 15, "parentheses"),
        ("Labels['tier'] = 'critical'", 6, "bracket access"),
        ("SetIDs contains 'x'", 0, "unknown attribute 'SetIDs'"),
        ("Labels.tier contains 'x'", 12, "no contains operator"),
        ("LiveRevisionNum > 0", 0, "unknown attribute 'LiveRevisionNum'"),
        ("slug = 'a'", 0, "did you mean Slug"),
        ("Slug = 'it''s'", 11, "cannot contain a quote"),
        ("Slug = 'a\\b'", 9, "backslash"),
        ('Slug = "a"', 7, "single quotes"),
        ("Slug = 'a", 7, "unterminated"),
        ("Slug = 'a' and Slug = 'b'", 11, "upper case"),
        ("HeadRevisionNum = '3'", 18, "bare number"),
        ("Slug = 3", 7, "quoted literal"),
        ("Slug", 4, "expected an operator"),
        ("Slug = 'a' AND", 14, "expected a clause after AND"),
        ("Labels = 'x'", 0, "is a map"),
        ("HeadRevisionNum LIKE '1%'", 16, "does not apply"),
        ("UnitID > 'x'", 7, "does not apply"),
        ("Slug <> 'a'", 5, "use !="),
        ("Slug = 'a' Slug = 'b'", 11, "expected AND"),
        ("HeadRevisionNum = Slug", 18, "cannot compare"),
        ("Slug ~ '('", 7, "invalid regular expression"),
        ("Slug = 'a' IS MAYBE", 14, "expected TRUE or FALSE"),
        ("Labels.tier IS NOT 'x'", 19, "expected NULL"),
        ("Foo.*.Slug = 'x'", 0, "'*' segment"),
    ],
)
def test_bad_clauses_name_the_position(text: str, position: int, message: str) -> None:
    with pytest.raises(WhereClauseError) as err:
        parse_where(text, "Unit")
    assert err.value.position == position, str(err.value)
    assert message in str(err.value)
    assert f"at position {position}" in str(err.value)
    assert err.value.status == 400
    assert "\n" not in str(err.value)


def test_or_and_parentheses_suggest_in() -> None:
    for text in ("Slug = 'a' OR Slug = 'b'", "(Slug = 'a')"):
        with pytest.raises(WhereClauseError, match=r"IN \('a', 'b'\)"):
            parse_where(text)


def test_length_limit_is_the_servers() -> None:
    ok = "Slug IN (" + ", ".join(f"'u{i}'" for i in range(1300)) + ")"
    ok = ok[: ok.rfind(",", 0, MAX_WHERE_LENGTH - 2)] + ")"
    assert len(ok) <= MAX_WHERE_LENGTH
    parse_where(ok)
    with pytest.raises(WhereClauseError, match="limit is 8192"):
        parse_where("Slug = 'a' AND " * 600 + "Slug = 'b'")


def test_entities_have_their_own_attributes() -> None:
    parse_where("Labels.drifttui.chain = 'x' AND Slug = 'y'", "Space")
    with pytest.raises(WhereClauseError, match="unknown attribute 'HeadRevisionNum' for Space"):
        parse_where("HeadRevisionNum > 1", "Space")
    parse_where("RevisionNum = 3 AND Source = 'Update'", "Revision")
    parse_where("From = 'Unit'", "Filter")


def test_map_keys_keep_dots_and_dashes() -> None:
    (c,) = parse_where("Labels.set-critical-drifts = 'p-records'").clauses
    assert c.left == AttrRef(None, "Labels", "set-critical-drifts", c.left.type, c.left.text, 0)
    (c2,) = parse_where("Space.Labels.drifttui.environment = 'dev'").clauses
    assert (c2.left.relation, c2.left.key) == ("Space", "drifttui.environment")


def test_quote_refuses_what_cannot_be_expressed() -> None:
    assert quote("abc") == "'abc'"
    for bad in ("it's", "a\\b"):
        with pytest.raises(HubError, match="cannot appear"):
            quote(bad)
    assert where_in("Slug", ["a", "b"]) == "Slug IN ('a', 'b')"


# --------------------------------------------------------------------------- evaluation


def record(**attrs: Any) -> Any:
    def lookup(ref: AttrRef) -> Any:
        key = ref.name if ref.relation is None else f"{ref.relation}.{ref.name}"
        return attrs.get(key)

    return lookup


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Labels.tier = 'critical'", True),
        ("Labels.tier != 'critical'", False),
        ("Labels.missing = 'x'", False),
        ("Labels.missing != 'x'", False),  # SQL: unknown is not true
        ("Labels.missing != 'x' IS NOT FALSE", True),
        ("Labels.missing IS NULL", True),
        ("Labels.tier IS NOT NULL", True),
        ("Labels.tier IN ('a', 'critical')", True),
        ("Labels.tier NOT IN ('a', 'critical')", False),
        ("Labels.missing NOT IN ('a')", False),
        ("Slug LIKE 'web-%'", True),
        ("Slug LIKE 'WEB-%'", False),
        ("Slug ILIKE 'WEB-%'", True),
        ("Slug LIKE 'web-_'", True),
        ("Slug NOT LIKE '%db%'", True),
        ("Slug ~ '^web'", True),
        ("Slug ~* '^WEB'", True),
        ("Slug !~ 'x'", True),
        ("HeadRevisionNum > 2 AND HeadRevisionNum <= 3", True),
        ("HeadRevisionNum IN (1, 2)", False),
        ("Unit.UpstreamRevisionNum < UpstreamUnit.HeadRevisionNum", True),
        ("UpstreamRevisionNum >= UpstreamUnit.HeadRevisionNum", False),
        ("Space.Slug = 'prod'", True),
        ("ApprovedBy ? 'u1'", True),
        ("LEN(ApprovedBy) = 2", True),
        ("CreatedAt >= '2025-01-07' AND CreatedAt < '2025-02-01'", True),
        ("Slug = 'web-1' IS FALSE", False),
        ("Slug = 'nope' IS NOT TRUE", True),
    ],
)
def test_evaluation_follows_sql(text: str, expected: bool) -> None:
    rec = record(
        Labels={"tier": "critical"},
        Slug="web-1",
        HeadRevisionNum=3,
        UpstreamRevisionNum=1,
        **{"UpstreamUnit.HeadRevisionNum": 2, "Space.Slug": "prod"},
        ApprovedBy=["u1", "u2"],
        CreatedAt="2025-01-08T10:00:00Z",
    )
    assert evaluate(parse_where(text), rec) is expected


def test_empty_where_selects_everything() -> None:
    w = parse_where("")
    assert w.clauses == ()
    assert evaluate(w, record())


def test_equality_hint_is_only_for_plain_top_level_equalities() -> None:
    assert parse_where("Slug = 'a' AND Labels.x = 'b'").equality("Slug") == "a"
    assert parse_where("Slug != 'a'").equality("Slug") is None
    assert parse_where("Slug = 'a' IS NOT FALSE").equality("Slug") is None
    assert parse_where("Space.Slug = 'a'").equality("Slug") is None


# --------------------------------------------------------------------------- fuzzing

_TOKENS = st.sampled_from(
    [
        "Slug",
        "Labels.tier",
        "Space.Slug",
        "UpstreamUnit.HeadRevisionNum",
        "HeadRevisionNum",
        "LEN(ApprovedBy)",
        "ApprovedBy",
        "=",
        "!=",
        "<",
        ">=",
        "LIKE",
        "NOT",
        "IN",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
        "AND",
        "OR",
        "and",
        "(",
        ")",
        ",",
        "'x'",
        "'%a_'",
        "3",
        "-1",
        "'",
        "\\",
        "?",
        "~*",
        "[",
        "]",
        '"',
        "true",
        "Labels",
        ".",
        "*",
        "''",
    ]
)


@settings(max_examples=200)
@given(st.lists(_TOKENS, max_size=12).map(" ".join))
def test_fuzzed_token_soup_parses_or_fails_clearly(text: str) -> None:
    _parse_or_clear_error(text)


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_fuzzed_text_parses_or_fails_clearly(text: str) -> None:
    _parse_or_clear_error(text)


def _parse_or_clear_error(text: str) -> None:
    try:
        w = parse_where(text, "Unit")
    except WhereClauseError as exc:
        error: WhereClauseError | None = exc
    else:
        error = None
    if error is not None:
        assert 0 <= error.position <= max(len(text), MAX_WHERE_LENGTH)
        assert "\n" not in str(error)
        assert "position" in str(error)
        return
    # whatever parses can be evaluated on any record without raising
    rec = record(Slug="a", Labels={"tier": "x"}, HeadRevisionNum=1, ApprovedBy=[])
    assert evaluate(w, rec) in (True, False)
    for c in w.clauses:
        assert isinstance(c.left, AttrRef)
        assert c.right is None or isinstance(c.right, AttrRef | Literal | tuple)
