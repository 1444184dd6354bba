"""The search filter grammar, as MLflow's client sends it (governance/mlflow_api/filters.py)."""

from __future__ import annotations

import pytest

from governance.mlflow_api.filters import (
    Clause,
    FilterError,
    LikePart,
    OrderBy,
    filter_parse,
    like_parse,
    like_to_glob,
    like_to_sql,
    max_results_check,
    order_by_parse,
    page_token_decode,
    page_token_encode,
)


def test_it_reads_the_clause_the_client_always_adds() -> None:
    assert filter_parse("name = 'churn' AND tag.`mlflow.prompt.is_prompt` != 'true'") == [
        Clause("attribute", "name", "=", "churn"),
        Clause("tag", "mlflow.prompt.is_prompt", "!=", "true"),
    ]


def test_it_reads_like_ilike_and_tags_with_either_prefix() -> None:
    assert filter_parse("name LIKE 'churn-%' and tags.team ilike \"R%\"") == [
        Clause("attribute", "name", "LIKE", "churn-%"),
        Clause("tag", "team", "ILIKE", "R%"),
    ]


def test_it_reads_run_id_lists_and_not_in() -> None:
    assert filter_parse("run_id IN ('a1', 'b2')") == [Clause("attribute", "run_id", "IN", ("a1", "b2"))]
    assert filter_parse("run_id NOT IN ('a1')") == [Clause("attribute", "run_id", "NOT IN", ("a1",))]
    assert filter_parse("run_id = 'a1'") == [Clause("attribute", "run_id", "=", "a1")]


def test_quoted_values_keep_their_spaces_and_escaped_quotes() -> None:
    assert filter_parse(r"tag.note = 'it\'s a model AND more'") == [
        Clause("tag", "note", "=", "it's a model AND more")
    ]


def test_an_empty_filter_is_no_condition() -> None:
    assert filter_parse(None) == [] == filter_parse("  ")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("name = 'a' OR name = 'b'", "OR is not supported"),
        ("owner = 'x'", "not searchable"),
        ("name =", "ends in the middle"),
        ("name ~ 'x'", "cannot read"),
        ("run_id LIKE 'a%'", "takes =, !=, IN or NOT IN"),
        ("tag.k IN ('a')", "tag.k takes"),
        ("run_id IN 'a'", "parenthesised list"),
    ],
)
def test_it_refuses_what_mlflow_refuses_naming_the_part(text: str, complaint: str) -> None:
    with pytest.raises(FilterError, match=complaint):
        filter_parse(text)


def test_registered_models_search_only_by_name_and_tags() -> None:
    with pytest.raises(FilterError, match="not searchable"):
        filter_parse("run_id = 'x'", allowed=("name",))


def test_like_patterns_are_read_as_wildcards_and_literal_characters() -> None:
    assert like_parse("a_%") == [LikePart("", "a"), LikePart("_"), LikePart("%")]
    assert like_parse(r"\%\_\\x") == [
        LikePart("", "%"),
        LikePart("", "_"),
        LikePart("", "\\"),
        LikePart("", "x"),
    ]
    assert like_parse("trailing\\") == [*(LikePart("", c) for c in "trailing"), LikePart("", "\\")]


def test_like_patterns_become_sql_like_and_glob_patterns_not_regexes() -> None:
    assert like_to_sql(like_parse("churn-%")) == "churn-%"
    assert like_to_sql(like_parse("50.5%")) == "50.5%"
    assert like_to_sql(like_parse(r"50\% of a\_b\\")) == r"50\% of a\_b\\"
    assert like_to_sql(like_parse(r"\.")) == "."  # an escaped ordinary character is itself
    assert like_to_glob(like_parse("a_c%")) == "a?c*"
    assert like_to_glob(like_parse(r"*?[]\%\_")) == "[*][?][[]]%_"


def test_like_values_keep_their_escapes_and_other_values_lose_them() -> None:
    assert filter_parse(r"name LIKE 'a\_b%'") == [Clause("attribute", "name", "LIKE", r"a\_b%")]
    assert filter_parse(r"name = 'a\_b'") == [Clause("attribute", "name", "=", "a_b")]


def test_a_filter_longer_than_the_limit_is_refused_naming_it() -> None:
    assert filter_parse("name = 'x'", max_length=10) == [Clause("attribute", "name", "=", "x")]
    with pytest.raises(FilterError, match=r"11 characters, over the limit of 10 \(MAX_FILTER_LENGTH\)"):
        filter_parse("name = 'xy'", max_length=10)


def test_order_by_defaults_to_ascending_and_reads_timestamp_as_creation() -> None:
    allowed = ("name", "creation_timestamp")
    assert order_by_parse(["name", "timestamp DESC"], allowed=allowed) == [
        OrderBy("name", True),
        OrderBy("creation_timestamp", False),
    ]
    with pytest.raises(FilterError, match="listed twice"):
        order_by_parse(["name", "name DESC"], allowed=allowed)
    with pytest.raises(FilterError, match="cannot be ordered by"):
        order_by_parse(["owner"], allowed=allowed)


def test_page_tokens_round_trip_and_foreign_ones_are_refused() -> None:
    assert page_token_decode(page_token_encode(200)) == 200
    assert page_token_decode(None) == 0
    with pytest.raises(FilterError, match="page_token"):
        page_token_decode("not-a-token")


def test_max_results_has_mlflow_default_and_limit() -> None:
    assert max_results_check(None, default=100, limit=1000) == 100
    assert max_results_check("5", default=100, limit=1000) == 5
    with pytest.raises(FilterError, match="1 to 1000"):
        max_results_check(1001, default=100, limit=1000)
