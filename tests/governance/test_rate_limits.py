"""Rate limits at one cache round trip a request (governance/core/throttling.py, issue 18): the rate holds
over a sliding minute, a refused client is told how long to wait, and hammering past the limit keeps it
refused. Run against the settings' cache: Redis when REDIS_URL is set (the PostgreSQL pass), else the file
cache."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.cache import cache

from governance.core import throttling
from tests.conftest import need
from tests.support import redis_db_url

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


@pytest.fixture(autouse=True)
def _clean() -> None:
    cache.clear()


def test_the_user_rate_admits_its_count_then_refuses_with_retry_after(
    token_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(throttling.UserRateThrottle.THROTTLE_RATES, "user", "5/minute")
    client, _ = token_client("robot", "pipeline")
    codes = [client.get(ME).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429, 429]
    refused = client.get(ME)
    assert refused.status_code == 429 and refused.json()["error"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 120


def test_each_user_has_a_rate_of_their_own(token_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(throttling.UserRateThrottle.THROTTLE_RATES, "user", "2/minute")
    first, _ = token_client("first", "pipeline")
    second, _ = token_client("second", "pipeline")
    assert [first.get(ME).status_code for _ in range(3)] == [200, 200, 429]
    assert second.get(ME).status_code == 200


def test_the_previous_windows_count_weighs_on_the_next_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 10 % into a window, 90 % of the last window's requests still count: no burst at the edge."""
    throttle = throttling.UserRateThrottle()
    throttle.rate, throttle.num_requests, throttle.duration = "10/minute", 10, 60
    key = f"test-{uuid.uuid4()}"
    monkeypatch.setattr(throttle, "get_cache_key", lambda request, view: key)
    window = 1_000_000
    monkeypatch.setattr(throttle, "timer", lambda: window * 60 - 1.0)  # the last second of a window
    assert all(throttle.allow_request(None, None) for _ in range(10))  # type: ignore[arg-type]
    monkeypatch.setattr(throttle, "timer", lambda: window * 60 + 6.0)  # 10 % into the next one
    assert throttle.allow_request(None, None)  # type: ignore[arg-type]  # 9 + 1 = 10: still admitted
    assert not throttle.allow_request(None, None)  # type: ignore[arg-type]  # 9 + 2 > 10
    assert throttle.wait() is not None and 0 < throttle.wait() <= 60  # type: ignore[operator]


def test_the_window_counter_is_one_command_and_expires(settings: Any) -> None:
    need("redis")
    import redis

    url = redis_db_url("throttle")
    settings.REDIS_URL = url
    throttling._client.clear()
    try:
        key, previous = f"test-window-{uuid.uuid4()}", f"test-window-{uuid.uuid4()}"
        redis.Redis.from_url(url).set(previous, 7, ex=5)
        assert [throttling.window_counts(key, previous, 5) for _ in range(3)] == [(1, 7), (2, 7), (3, 7)]
        assert 0 < redis.Redis.from_url(url).ttl(key) <= 5
        assert throttling.window_counts(key, f"test-window-{uuid.uuid4()}", 5) == (4, 0)  # no previous
        redis.Redis.from_url(url).script_flush()  # a restarted Redis: the script is sent again
        assert throttling.window_counts(key, previous, 5) == (5, 7)
    finally:
        throttling._client.clear()


def test_concurrent_requests_never_get_past_the_rate_together(settings: Any) -> None:
    """Eight threads asking at once, as a pipeline's workers would: Redis counts each request once
    (INCR is atomic), so exactly the rate is admitted, however the requests interleave."""
    need("redis")
    from concurrent.futures import ThreadPoolExecutor

    settings.REDIS_URL = redis_db_url("throttle")
    throttling._client.clear()
    key = f"test-concurrent-{uuid.uuid4()}"
    window = 2_000_000

    def ask(_: int) -> bool:
        throttle = throttling.UserRateThrottle()
        throttle.rate, throttle.num_requests, throttle.duration = "25/minute", 25, 60
        throttle.get_cache_key = lambda request, view: key  # type: ignore[method-assign]
        throttle.timer = lambda: window * 60 + 1.0  # type: ignore[method-assign]
        return throttle.allow_request(None, None)  # type: ignore[arg-type]

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            admitted = list(pool.map(ask, range(80)))
    finally:
        throttling._client.clear()
    assert admitted.count(True) == 25
