"""Rate limits at one cache round trip a request: a counter per window, read as a sliding estimate.

DRF's throttles keep every request's time in one cache entry and read and rewrite it whole: two round
trips a request, and an entry as long as the rate (thousands of timestamps for a pipeline's rate, all
unpickled and pickled again on every call). Here each window of ``duration`` seconds has a counter:
``SET <window> 0 EX <ttl> NX``, ``INCR <window>`` and ``GET <previous window>`` run in Redis as one
script (one command, one reply). The request is judged on the estimate of the last ``duration``
seconds that Cloudflare's limiter uses: the previous window's count weighted by how much of it is
still inside the sliding window, plus this window's count. A refused request counts too, so a client
that keeps hammering stays refused rather than being let through each time the estimate dips.

Without Redis (the embedded default's file cache), the same counters go through Django's cache API.
The classes keep DRF's names, scopes, settings (``DEFAULT_THROTTLE_RATES``) and keys, so views and
tests use them as they used DRF's (DRF's class comes first in their bases, so the scoped one reads its
view's scope before counting).
"""

from __future__ import annotations

import math
import threading
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import throttling
from rest_framework.request import Request

_client: list[Any] = []
_lock = threading.Lock()


def _redis() -> Any | None:
    """A Redis client on ``REDIS_URL`` (made once per process), or None when the cache is not Redis."""
    if not settings.REDIS_URL:
        return None
    if _client:
        return _client[0]
    with _lock:
        if not _client:
            import redis

            _client.append(redis.Redis.from_url(settings.REDIS_URL))
        return _client[0]


def window_counts(key: str, previous: str, seconds: int) -> tuple[int, int]:
    """Count one more request in window ``key`` (kept ``seconds``); this window's count so far and the
    count of window ``previous`` (0 when it has expired or never was)."""
    client = _redis()
    if client is None:  # the file cache of a development set-up
        cache.add(key, 0, timeout=seconds)
        return int(cache.incr(key)), int(cache.get(previous) or 0)
    count, before = _count_script(client)(keys=[key, previous], args=[seconds])
    return int(count), int(before)


# The three commands as one script: one command sent and one reply read, where a pipeline of three
# cost three of each in this process (redis-py's ``Script`` sends EVALSHA, and the script itself the
# first time, or after a SCRIPT FLUSH).
_COUNT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
return {redis.call('INCR', KEYS[1]), tonumber(redis.call('GET', KEYS[2])) or 0}
"""
_scripts: dict[int, Any] = {}


def _count_script(client: Any) -> Any:
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts.setdefault(id(client), client.register_script(_COUNT))
    return script


class WindowRateThrottle(throttling.SimpleRateThrottle):
    """``num_requests`` per ``duration`` seconds, judged on the sliding estimate (module docstring)."""

    num_requests: int
    duration: int
    estimate: float = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window, into = divmod(self.now, self.duration)
        # Kept two windows and a second: the next window still reads this one as its "previous".
        current, previous = window_counts(
            f"{key}:{int(window)}", f"{key}:{int(window) - 1}", 2 * self.duration + 1
        )
        self.estimate = previous * (1 - into / self.duration) + current
        self.current = current
        return self.estimate <= self.num_requests

    def wait(self) -> float | None:
        """Seconds until the estimate is back under the rate if no more requests come."""
        into = self.now % self.duration
        left_in_window = self.duration - into
        if self.current <= self.num_requests:
            # Only the previous window's weight is over: it falls linearly to 0 at the window's end.
            over = self.estimate - self.num_requests
            weight_per_second = max(self.estimate - self.current, 1e-9) / max(left_in_window, 1e-9)
            return max(0.0, min(left_in_window, math.ceil(over / weight_per_second)))
        # This window alone is over: wait for it to end, then until its weight has fallen far enough.
        share = 1 - self.num_requests / self.current
        return float(math.ceil(left_in_window + share * self.duration))


class AnonRateThrottle(throttling.AnonRateThrottle, WindowRateThrottle):
    """``THROTTLE_ANON`` per client address, for requests without a user."""


class UserRateThrottle(throttling.UserRateThrottle, WindowRateThrottle):
    """``THROTTLE_USER`` per user (per client address when anonymous)."""


class ScopedRateThrottle(throttling.ScopedRateThrottle, WindowRateThrottle):
    """The view's ``throttle_scope`` rate, per user (per client address when anonymous)."""
