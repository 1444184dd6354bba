"""What requests and signatures commit to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from governance.approvals import hashing


def _document(**overrides: Any) -> hashing.ReleaseDocument:
    fields: dict[str, Any] = {
        "kind": "train",
        "environment": "",
        "risk_level": "high",
        "model": "churn",
        "model_version": None,
        "pinned": [
            {"node_id": "dataset:w:b#v1", "sha256": "b" * 64},
            {"node_id": "dataset:w:a#v1", "sha256": "a" * 64},
        ],
        "parameters": {"max_depth": 4, "n_estimators": 50},
        "code_version": "git:1",
        "metric_thresholds": {"accuracy": {"min": 0.8}},
        "dpia_reference": "DPIA-7",
        "human_overseer_id": 4,
        "policy": {"name": "train-default", "version": 1},
        **overrides,
    }
    return hashing.release_document(**fields)


def test_the_request_hash_does_not_depend_on_the_order_things_were_listed_in() -> None:
    reordered = _document(
        pinned=[
            {"node_id": "dataset:w:a#v1", "sha256": "a" * 64},
            {"node_id": "dataset:w:b#v1", "sha256": "b" * 64},
        ],
        parameters={"n_estimators": 50, "max_depth": 4},
    )

    assert hashing.request_hash(_document()) == hashing.request_hash(reordered)


@pytest.mark.parametrize(
    "change",
    [
        {"pinned": [{"node_id": "dataset:w:a#v1", "sha256": "c" * 64}]},
        {"parameters": {"n_estimators": 51}},
        {"policy": {"name": "train-default", "version": 2}},
        {"environment": "production"},
    ],
)
def test_the_request_hash_changes_with_anything_the_request_covers(change: dict[str, Any]) -> None:
    assert hashing.request_hash(_document(**change)) != hashing.request_hash(_document())


def test_a_signature_hash_names_its_request_so_it_cannot_move_to_a_twin_request() -> None:
    common = {
        "request_hash": "a" * 64,
        "signer_id": 3,
        "meaning": "approved",
        "signed_at": "2026-03-01T09:00:00.000000Z",
    }

    assert hashing.signature_hash(release_id=1, **common) != hashing.signature_hash(release_id=2, **common)


def test_times_are_spelled_one_way_in_utc() -> None:
    moment = datetime(2026, 3, 1, 9, 0, 0, 5, tzinfo=UTC)

    assert hashing.utc_text(moment) == "2026-03-01T09:00:00.000005Z"
    assert hashing.parse_utc_text(hashing.utc_text(moment)) == moment
    with pytest.raises(ValueError, match="naive"):
        hashing.utc_text(datetime(2026, 3, 1))  # noqa: DTZ001 (the naive value is the point)
