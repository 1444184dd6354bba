"""OpenLineage 2-0-2 event validation: the events real clients send pass; malformed ones name the path."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from registry.openlineage.spec import SCHEMA_FILE, SCHEMA_ID, OpenLineageError, load_schema, validate_event

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/client/python"
SPEC = "https://openlineage.io/spec"
RUN_ID = "0190a3c2-5d1e-7b8a-9c4f-2e6d8a1b3c5d"
# What the upstream project pins for the 2-0-2 core schema file (9155 bytes).
UPSTREAM_SHA256 = "69f68bee00b9beac88a87059c0102410e7bb05f3f43c46d02a0409831eceb0d2"


def facet(schema_path: str, **fields: Any) -> dict[str, Any]:
    """A facet as openlineage-python serialises it: its fields plus _producer and _schemaURL."""
    return {"_producer": PRODUCER, "_schemaURL": f"{SPEC}/{schema_path}", **fields}


def run_event(event_type: str) -> dict[str, Any]:
    """A RunEvent shaped like the python client's HTTP transport body (attrs asdict, Nones dropped)."""
    return {
        "eventTime": "2024-06-01T08:00:00.123456+00:00",
        "producer": PRODUCER,
        "schemaURL": f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": event_type,
        "run": {
            "runId": RUN_ID,
            "facets": {
                "nominalTime": facet(
                    "facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
                    nominalStartTime="2024-06-01T08:00:00Z",
                ),
                "processing_engine": facet(
                    "facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
                    version="2.9.1",
                    name="Airflow",
                    openlineageAdapterVersion="1.24.2",
                ),
            },
        },
        "job": {
            "namespace": "ml-pipelines",
            "name": "train-readmission",
            "facets": {
                "jobType": facet(
                    "facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
                    processingType="BATCH",
                    integration="AIRFLOW",
                    jobType="TASK",
                )
            },
        },
        "inputs": [
            {
                "namespace": "postgres://warehouse:5432",
                "name": "patients.visits",
                "facets": {
                    "version": facet(
                        "facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
                        datasetVersion="3",
                    ),
                    "schema": facet(
                        "facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                        fields=[{"name": "patient_id", "type": "uuid"}, {"name": "visits", "type": "int"}],
                    ),
                    # A facet no spec defines: must be accepted and left in place.
                    "gov_consent": {
                        "_producer": "https://governance.example.org/lineage",
                        "_schemaURL": "https://governance.example.org/facets/ConsentDatasetFacet.json",
                        "summary": "Broad research consent",
                        "counts": {"granted": 11980, "withdrawn": 20},
                    },
                },
                "inputFacets": {
                    "dataQualityMetrics": facet(
                        "facets/1-0-2/DataQualityMetricsInputDatasetFacet.json"
                        "#/$defs/DataQualityMetricsInputDatasetFacet",
                        rowCount=1204311,
                        columnMetrics={"visits": {"nullCount": 0}},
                    )
                },
            }
        ],
        "outputs": [
            {
                "namespace": "s3://models",
                "name": "readmission-risk/1.4.0",
                "facets": {
                    "version": facet(
                        "facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
                        datasetVersion="1.4.0",
                    )
                },
                "outputFacets": {
                    "outputStatistics": facet(
                        "facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"
                        "#/$defs/OutputStatisticsOutputDatasetFacet",
                        rowCount=1,
                        size=48213,
                    )
                },
            }
        ],
    }


def dataset_event() -> dict[str, Any]:
    return {
        "eventTime": "2024-06-01T08:00:00Z",
        "producer": PRODUCER,
        "schemaURL": f"{SPEC}/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "postgres://warehouse:5432",
            "name": "patients.visits",
            "facets": {
                "version": facet(
                    "facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
                    datasetVersion="3",
                )
            },
        },
    }


def job_event() -> dict[str, Any]:
    return {
        "eventTime": "2024-06-01T08:00:00Z",
        "producer": PRODUCER,
        "schemaURL": f"{SPEC}/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "ml-pipelines", "name": "train-readmission"},
        "inputs": [{"namespace": "postgres://warehouse:5432", "name": "patients.visits"}],
        "outputs": [],
    }


def test_stored_schema_is_the_upstream_2_0_2_document() -> None:
    raw = SCHEMA_FILE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == UPSTREAM_SHA256
    schema = load_schema()
    assert schema["$id"] == SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"RunEvent", "DatasetEvent", "JobEvent", "BaseFacet"} <= set(schema["$defs"])


@pytest.mark.parametrize("event_type", ["START", "COMPLETE"])
def test_run_events_from_the_python_client_validate_and_keep_custom_facets(event_type: str) -> None:
    event = run_event(event_type)
    before = copy.deepcopy(event)
    assert validate_event(event) == "RunEvent"
    assert event == before
    assert event["inputs"][0]["facets"]["gov_consent"]["counts"] == {"granted": 11980, "withdrawn": 20}


def test_a_run_event_survives_a_json_round_trip() -> None:
    assert validate_event(json.loads(json.dumps(run_event("COMPLETE")))) == "RunEvent"


def test_dataset_event_validates() -> None:
    assert validate_event(dataset_event()) == "DatasetEvent"


def test_job_event_validates() -> None:
    assert validate_event(job_event()) == "JobEvent"


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != key}


def _with(event: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("event", "path", "fragment"),
    [
        pytest.param(
            _without(run_event("START"), "eventTime"), "eventTime", "required", id="missing-eventTime"
        ),
        pytest.param(
            _with(run_event("START"), ("run", "runId"), "abc"),
            "run.runId",
            "'abc' is not a 'uuid'",
            id="bad-runId",
        ),
        pytest.param(
            _with(run_event("START"), ("eventType",), "STARTED"),
            "eventType",
            "'STARTED' is not one of",
            id="bad-enum",
        ),
        pytest.param(
            _with(run_event("START"), ("inputs",), {"namespace": "x", "name": "y"}),
            "inputs",
            "is not of type 'array'",
            id="inputs-not-a-list",
        ),
        pytest.param(
            _with(run_event("START"), ("eventTime",), "2024-06-01 08:00"),
            "eventTime",
            "is not a 'date-time'",
            id="bad-eventTime",
        ),
        pytest.param(_without(run_event("START"), "job"), "job", "required", id="run-without-job"),
        pytest.param(
            _with(run_event("START"), ("producer",), "not a uri"),
            "producer",
            "is not a 'uri'",
            id="bad-producer",
        ),
        pytest.param(
            _with(dataset_event(), ("dataset",), {"namespace": "postgres://warehouse:5432"}),
            "dataset.name",
            "required",
            id="dataset-without-name",
        ),
        pytest.param(_without(job_event(), "schemaURL"), "schemaURL", "required", id="missing-schemaURL"),
    ],
)
def test_malformed_events_raise_an_error_naming_the_path(
    event: dict[str, Any], path: str, fragment: str
) -> None:
    with pytest.raises(OpenLineageError) as caught:
        validate_event(event)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: ")
    assert fragment in str(caught.value)


def test_the_bad_run_id_message_reads_like_the_spec_path() -> None:
    with pytest.raises(OpenLineageError, match=r"^run\.runId: 'abc' is not a 'uuid'$"):
        validate_event(_with(run_event("START"), ("run", "runId"), "abc"))


def test_a_custom_facet_without_its_base_fields_is_rejected() -> None:
    event = _with(run_event("START"), ("run", "facets", "gov_note"), {"text": "no _producer"})
    with pytest.raises(OpenLineageError) as caught:
        validate_event(event)
    assert caught.value.path.startswith("run.facets.gov_note")


@pytest.mark.parametrize("value", [None, 42, "event", ["eventTime"], True])
def test_something_that_is_not_an_object_is_rejected_at_the_root(value: object) -> None:
    with pytest.raises(OpenLineageError) as caught:
        validate_event(value)
    assert caught.value.path == "$"
    assert str(caught.value).startswith("$: an event must be a JSON object")


def test_an_object_of_no_known_kind_is_rejected_at_the_root() -> None:
    with pytest.raises(OpenLineageError, match=r"^\$: not an OpenLineage event"):
        validate_event({"eventTime": "2024-06-01T08:00:00Z", "producer": PRODUCER, "schemaURL": SPEC})


def test_openlineage_error_is_a_value_error() -> None:
    assert issubclass(OpenLineageError, ValueError)


_REPLACEMENTS: list[object] = [
    None,
    True,
    0,
    1.5,
    "",
    "x",
    "not a uri",
    "https://example.com/a",
    RUN_ID,
    "2024-06-01T08:00:00Z",
    "2024-02-30T08:00:00Z",
    "START",
    [],
    ["x"],
    [{}],
    {},
    {"_producer": PRODUCER},
    {"_producer": PRODUCER, "_schemaURL": SPEC},
    {"namespace": "n", "name": "m"},
]


def _variants(
    document: object, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], object]]:
    """Every place in the document with its member left out or its value replaced by another kind."""
    found: list[tuple[tuple[str | int, ...], object]] = []
    children: list[tuple[str | int, object]] = []
    if isinstance(document, dict):
        children = list(document.items())
    elif isinstance(document, list):
        children = list(enumerate(document))
    for key, child in children:
        found.append(((*path, key), _MISSING))
        found.extend(((*path, key), value) for value in _REPLACEMENTS)
        found.extend(_variants(child, (*path, key)))
    return found


_MISSING = object()


def _changed(event: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    if value is _MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = copy.deepcopy(value)
    return changed


@pytest.mark.parametrize(
    ("kind", "event"),
    [
        ("RunEvent", run_event("START")),
        ("DatasetEvent", dataset_event()),
        ("JobEvent", job_event()),
    ],
)
def test_the_fast_validator_accepts_exactly_what_jsonschema_accepts(kind: str, event: dict[str, Any]) -> None:
    from fastjsonschema import JsonSchemaException

    from registry.openlineage.spec import _fast_validators, _validators

    fast, reference = _fast_validators()[kind], _validators()[kind]  # type: ignore[index]
    disagreements = []
    variants = _variants(event)
    assert len(variants) > 100
    for path, value in variants:
        changed = _changed(event, path, value)
        try:
            fast(changed)
            fast_accepts = True
        except JsonSchemaException:
            fast_accepts = False
        if fast_accepts != reference.is_valid(changed):
            disagreements.append((path, value))
    assert disagreements == []


def test_an_event_that_is_not_json_native_is_judged_by_jsonschema() -> None:
    event: dict[str, Any] = job_event()
    event["inputs"] = tuple(event["inputs"])  # fastjsonschema would take a tuple as an array
    with pytest.raises(OpenLineageError) as caught:
        validate_event(event)
    assert caught.value.path == "inputs"
    assert "is not of type 'array'" in caught.value.problem
