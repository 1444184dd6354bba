"""Logging what a deployment serves, on the predict path: bins only, one bulk INSERT per request.

Kept small because every prediction pays for it: the profile of a model version never changes, so it
is cached per process; rows are binned in plain Python (``bisect``) and written with one
``bulk_create``. Logging is telemetry, not a governed action, so it writes no audit entry (the drift
checks it feeds are audited).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone

from governance.monitoring import profiles
from governance.monitoring.models import PredictionLog, ReferenceProfile
from registry.models import Deployment, ModelVersion

# Keyed by the version's id and artifact hash: a profile never changes once stored, and the hash keeps a
# reused id (a restored or test database) from picking up another version's profile.
_profiles: OrderedDict[tuple[int, str], profiles.Profile | None] = OrderedDict()
_lock = threading.Lock()
_CACHED = 64


def profile_for(model_version: ModelVersion) -> profiles.Profile | None:
    """The reference profile of a model version (None when it was trained before monitoring existed)."""
    key = (model_version.pk, model_version.artifact_sha256)
    with _lock:
        if key in _profiles:
            _profiles.move_to_end(key)
            return _profiles[key]
    stored = ReferenceProfile.objects.filter(model_version_id=model_version.pk).values_list(
        "profile", flat=True
    )
    profile: profiles.Profile | None = stored.first()
    with _lock:
        _profiles[key] = profile
        while len(_profiles) > _CACHED:
            _profiles.popitem(last=False)
    return profile


def predictions_log(
    *, deployment: Deployment, rows: Sequence[Mapping[str, Any]], predictions: Sequence[Any]
) -> list[str] | None:
    """Log a request's predictions (bins, not values) and return their ids, or None when the request
    was not sampled (``MONITORING_SAMPLE_RATE``) or the version has no profile to bin against."""
    rate = settings.MONITORING_SAMPLE_RATE
    if rate <= 0 or (rate < 1 and random.random() >= rate):  # noqa: S311 (sampling, not security)
        return None
    profile = profile_for(deployment.model_version)
    if profile is None:
        return None
    now = timezone.now()
    binned = profiles.rows_binned(profile, rows)
    prediction_profile = profile["predictions"]
    logs = []
    for bins, prediction in zip(binned, predictions, strict=True):
        log = PredictionLog(
            id=uuid.uuid4(),
            deployment_id=deployment.pk,
            model_version_id=deployment.model_version_id,
            served_at=now,
            prediction=prediction,
            prediction_bin=profiles.prediction_bin(prediction_profile, prediction),
        )
        for index, value in enumerate(bins):
            setattr(log, f"f{index}", value)
        logs.append(log)
    PredictionLog.objects.bulk_create(logs)
    return [str(log.id) for log in logs]
