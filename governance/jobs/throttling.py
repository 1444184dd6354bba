"""The predict endpoint's rate limit: ``THROTTLE_PREDICT`` per user (per client address when anonymous),
one Redis round trip a request (``governance.core.throttling``), on its own scope so that serving traffic
is not counted against the general per-user rate."""

from __future__ import annotations

from governance.core.throttling import UserRateThrottle


class PredictRateThrottle(UserRateThrottle):
    scope = "predict"
