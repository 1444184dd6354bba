"""Logging what a deployment serves, on the predict path: bins only, one INSERT statement per request.

Kept small because every prediction pays for it:

1. The profile of a model version never changes, so it is cached per process.
2. Rows are binned a feature at a time (numbers with one ``numpy.searchsorted``, categories with one
   dict lookup each), giving one column of bins per profiled feature; :func:`feature_bins` answers as
   ``profiles.bin_of`` does, value for value.
3. The columns are written as they are: on PostgreSQL one ``INSERT ... SELECT FROM unnest(...)`` whose
   arrays are the columns (only the profiled features' bin columns, the rest stay NULL), elsewhere one
   ``executemany``. The ORM's ``bulk_create`` spent most of a 1,000-row request preparing 38 fields
   per row.

Logging is telemetry, not a governed action, so it writes no audit entry (the drift checks it feeds
are audited).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from governance.monitoring import profiles
from governance.monitoring.models import PredictionLog, ReferenceProfile
from registry.models import Deployment, ModelVersion

# Keyed by the version's id and artifact hash: a profile never changes once stored, and the hash keeps a
# reused id (a restored or test database) from picking up another version's profile.
_profiles: OrderedDict[tuple[int, str], profiles.Profile | None] = OrderedDict()
_lock = threading.Lock()
_CACHED = 64
_NUMBERS = frozenset({int, float})


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


def feature_bins(feature: profiles.FeatureProfile, values: list[Any]) -> list[int]:
    """``[profiles.bin_of(feature, value) for value in values]``, a column at a time."""
    if feature["type"] == "number" and set(map(type, values)) <= _NUMBERS:
        numbers = np.asarray(values, dtype=np.float64)
        bins = np.searchsorted(np.asarray(feature["edges"], dtype=np.float64), numbers, side="left")
        bins[np.isnan(numbers)] = len(feature["labels"]) - 1  # "missing"
        result: list[int] = bins.tolist()
        return result
    if feature["type"] == "string":
        index = {category: number for number, category in reversed(list(enumerate(feature["categories"])))}
        other = len(feature["labels"]) - 2
        return [
            index.get(value, other) if type(value) is str else profiles.bin_of(feature, value)
            for value in values
        ]
    return [profiles.bin_of(feature, value) for value in values]  # nulls, booleans, text among numbers


def prediction_bins(profile: profiles.PredictionProfile, predictions: Sequence[Any]) -> list[int]:
    """``[profiles.prediction_bin(profile, p) for p in predictions]`` with one dict lookup each."""
    try:
        index = {label: number for number, label in reversed(list(enumerate(profile["classes"])))}
        other = len(profile["classes"])
        return [index.get(prediction, other) for prediction in predictions]
    except TypeError:  # an unhashable label (a list): compare one by one, as the profile does
        return [profiles.prediction_bin(profile, prediction) for prediction in predictions]


def _uuids(count: int) -> list[str]:
    """``count`` time-ordered UUIDs (version 7, RFC 9562 §5.7) as strings: the time in milliseconds, then
    random bits from one read of the system's random source. Time-ordered ids land at the end of the
    primary key's index instead of all over it, which keeps a large batch's insert cheap."""
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, :6] = np.frombuffer((time.time_ns() // 1_000_000).to_bytes(6, "big"), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70  # version 7
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # variant 10
    text = raw.tobytes().hex()
    return [
        f"{text[at : at + 8]}-{text[at + 8 : at + 12]}-{text[at + 12 : at + 16]}-"
        f"{text[at + 16 : at + 20]}-{text[at + 20 : at + 32]}"
        for at in range(0, 32 * count, 32)
    ]


def _array(values: Sequence[Any]) -> str:
    """A PostgreSQL array literal of plain numbers or UUIDs (cast in the query): joined in one call,
    where the driver would adapt a list value by value."""
    return "{" + ",".join(map(str, values)) + "}"


def _insert(
    *, deployment: Deployment, ids: list[str], predictions: Sequence[Any], bins: list[list[int]]
) -> None:
    """One statement for all rows: the columns as arrays on PostgreSQL, ``executemany`` elsewhere."""
    quote = connection.ops.quote_name
    served_at = timezone.now()
    by_prediction, feature_columns = bins[0], bins[1:]
    names = ["id", "prediction", "prediction_bin", *(f"f{n}" for n in range(len(feature_columns)))]
    columns = ", ".join(quote(name) for name in ("deployment_id", "model_version_id", "served_at", *names))
    table = quote(PredictionLog._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(
                ["unnest(%s::uuid[])", "jsonb_array_elements(%s::jsonb)"]
                + ["unnest(%s::smallint[])"] * len(bins)
            )
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, %s, %s, r.* "  # noqa: S608 (names from the model)
                f"FROM ROWS FROM ({arrays}) AS r",
                [
                    deployment.pk,
                    deployment.model_version_id,
                    served_at,
                    _array(ids),
                    json.dumps(list(predictions)),
                    *map(_array, bins),
                ],
            )
            return
        at = connection.ops.adapt_datetimefield_value(served_at)
        if not connection.features.has_native_uuid_field:  # stored as 32 hex digits, as UUIDField does
            ids = [log_id.replace("-", "") for log_id in ids]
        values = ", ".join(["%s"] * (3 + len(names)))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({values})",  # noqa: S608 (names from the model)
            [
                (deployment.pk, deployment.model_version_id, at, log_id, json.dumps(prediction), *row_bins)
                for log_id, prediction, *row_bins in zip(
                    ids, predictions, by_prediction, *feature_columns, strict=True
                )
            ],
        )


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
    prediction_profile = profile["predictions"]
    bins = [prediction_bins(prediction_profile, predictions)]
    for feature in profile["features"][: profiles.MAX_FEATURES]:
        name = feature["name"]
        bins.append(feature_bins(feature, [row.get(name) for row in rows]))
    ids = _uuids(len(rows))
    _insert(deployment=deployment, ids=ids, predictions=predictions, bins=bins)
    return ids
