"""One way to show a date, a duration and a set of parameters on every page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.template import Context, Template

from governance.core.templatetags.console import deflist, duration, when, when_text


def test_an_instant_reads_to_the_minute_in_utc_with_the_full_value_on_hover() -> None:
    moment = datetime(2026, 12, 3, 15, 5, 42, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert when(moment) == (
        '<time datetime="2026-12-03T14:05:42.123456Z" title="2026-12-03T14:05:42.123456Z">'
        "2026-12-03 14:05 UTC</time>"
    )
    assert when_text(moment) == "2026-12-03 14:05 UTC"


def test_a_date_an_iso_string_and_nothing() -> None:
    assert ">2027-01-03<" in str(when(date(2027, 1, 3)))
    assert "2026-12-03 14:05 UTC" in str(when("2026-12-03T14:05:42Z"))
    assert when(None) == "—"
    assert when_text("") == "—"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (604800, "7 days"),
        (86400 + 7200, "1 day 2 hours"),
        (5400, "1 hour 30 minutes"),
        (45, "45 seconds"),
        (0, "0 seconds"),
        (timedelta(days=2, minutes=1, seconds=5), "2 days 1 minute"),
        ("3600", "1 hour"),
        (None, "—"),
    ],
)
def test_durations_read_as_words(value: object, words: str) -> None:
    assert duration(value) == words


def test_parameters_are_a_definition_list_never_a_python_repr() -> None:
    html = str(deflist({"target": "label", "n_estimators": 50, "grid": {"depth": [3, 5]}, "scale": True}))
    assert html.startswith('<dl class="params">')
    assert "<dt>target</dt><dd>label</dd>" in html
    assert '<dt>grid</dt><dd><dl class="params"><dt>depth</dt><dd>3, 5</dd></dl></dd>' in html
    assert "<dd>yes</dd>" in html
    assert "{" not in html and "'" not in html


def test_keys_and_values_are_escaped() -> None:
    html = str(deflist({"<b>": "<script>alert(1)</script>"}))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_filters_need_no_load_tag_in_any_template() -> None:
    rendered = Template("{{ at|when_text }} · {{ seconds|duration }}").render(
        Context({"at": datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "seconds": 604800})
    )
    assert rendered == "2026-01-02 03:04 UTC · 7 days"
