"""OpenLineage events with ``schema``, ``columnLineage`` and fideslang ``tags`` facets, shaped as the
openlineage-python client's facet classes serialise them (SchemaDatasetFacet 1-2-0,
ColumnLineageDatasetFacet 1-2-0, TagsDatasetFacet 1-0-0): a feature job reads a CRM table and writes
a feature table; a training job reads the features and writes a model file."""

from __future__ import annotations

from typing import Any

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark"
SPEC = "https://openlineage.io/spec"
CRM = ("postgres://crm:5432", "crm.public.customers")
FEATURES = ("s3://features", "churn_features")
MODEL_FILE = ("s3://models", "churn/v9/model.pkl")
FEATURE_RUN = "0190a3c2-0000-7000-8000-00000000f001"
TRAIN_RUN = "0190a3c2-0000-7000-8000-00000000a002"


def facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{SPEC}/facets/1-2-0/{name}.json#/$defs/{name}", **fields}


def schema(*fields: dict[str, Any]) -> dict[str, Any]:
    return facet("SchemaDatasetFacet", fields=list(fields))


def field(name: str, type_: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **more}


def source(column: str, type_: str = "DIRECT", subtype: str = "IDENTITY", **more: Any) -> dict[str, Any]:
    """An InputField of the CRM table with one transformation."""
    return {
        "namespace": CRM[0],
        "name": CRM[1],
        "field": column,
        "transformations": [{"type": type_, "subtype": subtype, **more}],
    }


def version(value: str) -> dict[str, Any]:
    return facet("DatasetVersionDatasetFacet", datasetVersion=value)


def category_tags(**columns: str) -> dict[str, Any]:
    """A TagsDatasetFacet giving columns their fideslang category."""
    tags = [
        {"key": "fideslang", "value": value, "field": name, "source": "USER"}
        for name, value in columns.items()
    ]
    return facet("TagsDatasetFacet", tags=tags)


def run_event(
    run_id: str,
    job: str,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    event_type: str = "COMPLETE",
    event_time: str = "2026-03-01T10:00:00Z",
) -> dict[str, Any]:
    return {
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": event_type,
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": "ns", "name": job, "facets": {}},
        "inputs": inputs,
        "outputs": outputs,
    }


def feature_event(event_type: str = "COMPLETE", event_time: str = "2026-03-01T10:00:00Z") -> dict[str, Any]:
    """build_features reads crm.public.customers (email tagged personal by the producer) and writes
    churn_features v1 with column lineage: email_domain from email, at_risk from diagnosis, a filter
    on country for the whole output."""
    crm = {
        "namespace": CRM[0],
        "name": CRM[1],
        "facets": {
            "datasetVersion": version("2026-03-01"),
            "schema": schema(
                field("customer_id", "BIGINT"),
                field("email", "VARCHAR", description="login e-mail"),
                field("diagnosis", "VARCHAR"),
                field("country", "CHAR(2)"),
                field("address", "STRUCT", fields=[field("city", "VARCHAR"), field("zip", "VARCHAR")]),
            ),
            "tags": category_tags(email="user.contact.email"),
        },
    }
    lineage = facet(
        "ColumnLineageDatasetFacet",
        fields={
            "customer_id": {"inputFields": [source("customer_id")]},
            "email_domain": {
                "inputFields": [
                    source("email", subtype="TRANSFORMATION", description="split_part(email, '@', 2)")
                ]
            },
            "at_risk": {"inputFields": [source("diagnosis", subtype="TRANSFORMATION", masking=True)]},
            "city": {"inputFields": [source("address.city")]},
        },
        dataset=[source("country", type_="INDIRECT", subtype="FILTER")],
    )
    features = {
        "namespace": FEATURES[0],
        "name": FEATURES[1],
        "facets": {
            "datasetVersion": version("v1"),
            "schema": schema(
                field("customer_id", "BIGINT"),
                field("email_domain", "VARCHAR"),
                field("at_risk", "BOOLEAN"),
                field("city", "VARCHAR"),
            ),
            "columnLineage": lineage,
        },
    }
    return run_event(FEATURE_RUN, "build_features", [crm], [features], event_type, event_time)


def training_event(event_type: str = "COMPLETE") -> dict[str, Any]:
    """train_churn reads churn_features v1 and writes the model file."""
    features = {"namespace": FEATURES[0], "name": FEATURES[1], "facets": {"datasetVersion": version("v1")}}
    model = {"namespace": MODEL_FILE[0], "name": MODEL_FILE[1], "facets": {}}
    return run_event(TRAIN_RUN, "train_churn", [features], [model], event_type, "2026-03-02T09:00:00Z")
