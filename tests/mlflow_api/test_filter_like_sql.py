"""MLflow ``LIKE``/``ILIKE`` search filters run as SQL pattern matches, never regular expressions.

MLflow's meaning: ``%`` any run, ``_`` one character, a backslash makes ``%``, ``_`` or itself literal;
``LIKE`` is case-sensitive and ``ILIKE`` is not; every other character (regex metacharacters
included) stands for itself. A regex with many ``.*`` backtracked for seconds on a long name (issue 16);
how fast the SQL form is shows in ``bench/mlflow_filters.py``, not here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from registry.models import RegisteredModel

pytestmark = pytest.mark.django_db
API = "/api/2.0/mlflow"
NOTES = {
    "dot": "v1.2",
    "star": "a*b+c?",
    "brackets": "[x](y){z}",
    "pipe": "one|two",
    "anchors": "^start$",
    "percent": "50% off",
    "underscore": "snake_case",
    "backslash": "C:\\dir",
    "quote": "it's",
}


@pytest.fixture
def pipeline(token_client: Any, settings: Any, tmp_path: Path) -> APIClient:
    settings.MEDIA_ROOT = tmp_path / "media"
    client, _ = token_client("nightly", "pipeline")
    return client


def _create(client: APIClient, name: str, note: str = "") -> None:
    tags = [{"key": "note", "value": note}] if note else []
    response = client.post(f"{API}/registered-models/create", {"name": name, "tags": tags}, format="json")
    assert response.status_code == 200, response.json()


def _names(client: APIClient, text: str, endpoint: str = "registered-models") -> list[str]:
    response = client.get(f"{API}/{endpoint}/search", {"filter": text})
    assert response.status_code == 200, response.json()
    key = "registered_models" if endpoint == "registered-models" else "model_versions"
    return sorted(row["name"] for row in response.json().get(key, []))


@pytest.fixture
def noted(pipeline: APIClient) -> APIClient:
    for name, note in NOTES.items():
        _create(pipeline, name, note)
    return pipeline


def test_like_is_case_sensitive_and_ilike_is_not(pipeline: APIClient) -> None:
    for name in ("Churn-EU", "churn-us", "fraud"):
        _create(pipeline, name)
    assert _names(pipeline, "name LIKE 'churn%'") == ["churn-us"]
    assert _names(pipeline, "name LIKE 'Churn%'") == ["Churn-EU"]
    assert _names(pipeline, "name ILIKE 'CHURN%'") == ["Churn-EU", "churn-us"]
    assert _names(pipeline, "name LIKE '%u%'") == ["Churn-EU", "churn-us", "fraud"]
    assert _names(pipeline, "name LIKE '%U%'") == ["Churn-EU"]


def test_underscore_is_one_character_and_percent_any_run(pipeline: APIClient) -> None:
    for name in ("ab", "a1b", "a12b"):
        _create(pipeline, name)
    assert _names(pipeline, "name LIKE 'a_b'") == ["a1b"]
    assert _names(pipeline, "name LIKE 'a%b'") == ["a12b", "a1b", "ab"]
    assert _names(pipeline, "name LIKE 'a__b'") == ["a12b"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("v1.2", ["dot"]),  # "." is a dot, not any character
        ("v1x2", []),
        ("a*b+c?", ["star"]),
        ("a*", []),  # "*" is a star (GLOB's wildcard, translated), not any run
        ("a*b+c_", ["star"]),
        ("a?%", []),
        ("[x](y){z}", ["brackets"]),
        ("one|two", ["pipe"]),
        ("one", []),  # "|" is no alternation
        ("^start$", ["anchors"]),
        ("%$", ["anchors"]),
    ],
)
def test_regex_metacharacters_stand_for_themselves(noted: APIClient, pattern: str, expected: list) -> None:
    assert _names(noted, f"tag.note LIKE '{pattern}'") == expected
    assert _names(noted, f"tag.note ILIKE '{pattern.upper()}'") == expected


def test_a_backslash_makes_percent_underscore_and_itself_literal(noted: APIClient) -> None:
    assert _names(noted, r"tag.note LIKE '50\% off'") == ["percent"]
    assert _names(noted, r"tag.note LIKE '%\%%'") == ["percent"]
    assert _names(noted, r"tag.note LIKE '%\_%'") == ["underscore"]
    assert _names(noted, r"tag.note LIKE 'snake\_case'") == ["underscore"]
    assert _names(noted, r"tag.note LIKE 'snake\%'") == []
    assert _names(noted, r"tag.note LIKE 'C:\\dir'") == ["backslash"]
    assert _names(noted, r"tag.note LIKE '%\\%'") == ["backslash"]
    assert _names(noted, r"tag.note ILIKE 'IT\'S'") == ["quote"]


def test_model_versions_are_searched_by_pattern_too(pipeline: APIClient) -> None:
    for name in ("Risk-a", "risk-b"):
        _create(pipeline, name)
        body = {"name": name, "source": "s3://bucket/m"}
        assert pipeline.post(f"{API}/model-versions/create", body, format="json").status_code == 200
    assert _names(pipeline, "name LIKE 'risk%'", "model-versions") == ["risk-b"]
    assert _names(pipeline, "name ILIKE 'risk%'", "model-versions") == ["Risk-a", "risk-b"]


@pytest.mark.parametrize(
    ("endpoint", "text"),
    [
        ("registered-models", "name LIKE '%a%a%a%a%b'"),
        ("registered-models", "name ILIKE '%a%a%a%a%b' AND tag.note LIKE '%.*%'"),
        ("model-versions", "name LIKE 'a_%' AND tag.note ILIKE '%(x|y)+%'"),
    ],
)
def test_the_sql_issued_matches_patterns_and_uses_no_regex(
    pipeline: APIClient, endpoint: str, text: str
) -> None:
    _create(pipeline, "a" * 199 + "c", note="a(x|y)+")
    with CaptureQueriesContext(connection) as queries:
        response = pipeline.get(f"{API}/{endpoint}/search", {"filter": text})
    assert response.status_code == 200
    searched = [
        query["sql"] for query in queries.captured_queries if "registry_registeredmodel" in query["sql"]
    ]
    assert searched
    sql = " ".join(searched).upper()
    assert "REGEXP" not in sql and " ~" not in sql and "SIMILAR TO" not in sql
    assert ("GLOB" in sql) if connection.vendor == "sqlite" and " LIKE '" in text else ("LIKE" in sql)


def test_a_filter_over_the_length_limit_is_refused_naming_it(pipeline: APIClient, settings: Any) -> None:
    settings.MAX_FILTER_LENGTH = 100
    _create(pipeline, "churn")
    long_filter = "name LIKE '" + "%a" * 50 + "'"
    for endpoint in ("registered-models", "model-versions"):
        response = pipeline.get(f"{API}/{endpoint}/search", {"filter": long_filter})
        assert response.status_code == 400
        body = response.json()
        assert body["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "MAX_FILTER_LENGTH" in body["message"] and "100" in body["message"]
    assert _names(pipeline, "name LIKE '" + "%" * 80 + "'") == ["churn"]  # within the limit: answered
    assert RegisteredModel.objects.count() == 1
