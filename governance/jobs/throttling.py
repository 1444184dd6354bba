"""The predict endpoint's rate limit: a per-user counter per fixed window, one Redis round trip a request.

DRF's ``UserRateThrottle`` keeps every request's time in one cache entry and reads and rewrites it
whole (two round trips, and an entry as long as the rate: thousands of times for a serving rate).
Here a window's count is ``SET key 0 EX <window> NX`` then ``INCR key``, sent together in one
pipeline. A fixed window lets a client send up to twice the rate across a window's edge; for a
serving endpoint that is the trade for a constant cost per request.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle

_client: list[Any] = []
_lock = threading.Lock()


def _redis() -> Any | None:
    """A Redis client on ``REDIS_URL`` (made once per process), or None when the cache is not Redis."""
    if not settings.REDIS_URL:
        return None
    with _lock:
        if not _client:
            import redis

            _client.append(redis.Redis.from_url(settings.REDIS_URL))
        return _client[0]


def window_count(key: str, seconds: int) -> int:
    """Count one more request in the window ``key`` (which lasts ``seconds``); the count so far."""
    client = _redis()
    if client is None:  # the file cache of a development set-up: two calls, same count
        cache.add(key, 0, timeout=seconds)
        return int(cache.incr(key))
    pipe = client.pipeline(transaction=False)
    pipe.set(key, 0, ex=seconds, nx=True)
    pipe.incr(key)
    return int(pipe.execute()[1])


class PredictRateThrottle(UserRateThrottle):
    """``THROTTLE_PREDICT`` requests per user (per client address when anonymous) per window."""

    scope = "predict"
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.count = window_count(f"{key}:{window}", int(self.duration) + 1)
        return self.count <= self.num_requests

    def wait(self) -> float | None:
        return self.duration - (self.timer() % self.duration)
