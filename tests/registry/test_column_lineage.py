"""Column lineage: the schema and columnLineage facets stored as fields and column edges, and the
personal and sensitive input columns behind a model version in its JSON, HTML and PDF reports."""

from __future__ import annotations

import base64
import copy
import json
import re
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.actors import Actor
from audit.models import AuditEntry
from registry.models import Dataset, LineageEvent
from registry.models_columns import ColumnCategory, ColumnLineageEdge, DatasetField
from registry.openlineage.column_facets import MAX_FIELDS, column_facets
from registry.services.columns import column_categories_declare
from tests.registry import column_events as ev
from tests.registry.model_files import onnx_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/lineage"


@pytest.fixture
def pipeline(token_client):
    client, _ = token_client("airflow", "pipeline")
    return client


def _post(client, event):
    response = client.post(URL, event, format="json")
    assert response.status_code in (200, 201), response.content
    return response


def _counts() -> tuple[int, int, int]:
    return DatasetField.objects.count(), ColumnLineageEdge.objects.count(), LineageEvent.objects.count()


def _fields(namespace: str, name: str, version: str) -> dict[str, DatasetField]:
    rows = DatasetField.objects.filter(
        version__dataset__namespace=namespace, version__dataset__name=name, version__version=version
    )
    return {row.name: row for row in rows}


def test_the_schema_and_column_lineage_facets_are_stored_as_fields_and_edges(pipeline) -> None:
    _post(pipeline, ev.feature_event())

    crm = _fields(*ev.CRM, "2026-03-01")
    features = _fields(*ev.FEATURES, "v1")
    edges = {
        (e.output_field, e.input_field): e
        for e in ColumnLineageEdge.objects.select_related("output_version", "input_version")
    }

    assert list(crm) == [
        "customer_id",
        "email",
        "diagnosis",
        "country",
        "address",
        "address.city",
        "address.zip",
    ]
    assert (crm["email"].type, crm["email"].description) == ("VARCHAR", "login e-mail")
    assert crm["email"].data_categories == ["user.contact.email"]  # the producer's fideslang tag
    assert set(features) == {"customer_id", "email_domain", "at_risk", "city"}
    assert set(edges) == {
        ("customer_id", "customer_id"),
        ("email_domain", "email"),
        ("at_risk", "diagnosis"),
        ("city", "address.city"),
        ("", "country"),  # the facet's dataset-level dependency (a filter on every row)
    }
    email = edges[("email_domain", "email")]
    assert (email.transformation_type, email.transformation_subtype) == ("DIRECT", "TRANSFORMATION")
    assert email.description == "split_part(email, '@', 2)" and email.masking is None
    assert edges[("at_risk", "diagnosis")].masking is True
    assert edges[("", "country")].transformation_type == "INDIRECT"
    assert email.input_version.version == "2026-03-01" and email.output_version.version == "v1"


def test_a_replayed_event_or_the_same_facets_again_store_nothing_twice(pipeline) -> None:
    _post(pipeline, ev.feature_event("START", "2026-03-01T09:59:00Z"))
    stored = _counts()

    again = _post(pipeline, ev.feature_event("START", "2026-03-01T09:59:00Z"))
    _post(pipeline, ev.feature_event("COMPLETE"))  # another event, the same columns

    assert again.status_code == 200
    assert _counts()[:2] == stored[:2] and _counts()[2] == stored[2] + 1


def test_an_event_without_column_facets_stores_no_columns(pipeline) -> None:
    _post(pipeline, ev.training_event())

    assert _counts()[:2] == (0, 0)


def test_a_schema_over_the_field_limit_is_refused_with_its_path_and_stores_nothing(pipeline) -> None:
    event = ev.feature_event()
    event["outputs"][0]["facets"]["schema"]["fields"] = [
        ev.field(f"c{n}", "INT") for n in range(MAX_FIELDS + 1)
    ]

    response = pipeline.post(URL, event, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("outputs[0].facets.schema.fields: more than")
    assert _counts() == (0, 0, 0) and not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda e: e["outputs"][0]["facets"]["columnLineage"]["fields"]["at_risk"]["inputFields"][0][
                "transformations"
            ][0].update(masking="yes"),
            "outputs[0].facets.columnLineage.fields.at_risk.inputFields[0].transformations[0].masking",
        ),
        (
            lambda e: e["inputs"][0]["facets"]["tags"]["tags"][0].update(value="Personal Email"),
            "inputs[0].facets.tags.tags[0].value",
        ),
        (
            lambda e: e["inputs"][0]["facets"]["schema"]["fields"][4]["fields"][1].pop("name"),
            "inputs[0].facets.schema.fields[4].fields[1].name",
        ),
        (
            lambda e: e["outputs"][0]["facets"]["columnLineage"].update(fields=[]),
            "outputs[0].facets.columnLineage.fields",
        ),
    ],
)
def test_a_malformed_column_facet_is_refused_naming_the_path(pipeline, change, path) -> None:
    event = copy.deepcopy(ev.feature_event())
    change(event)

    response = pipeline.post(URL, event, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{path}: ")
    assert _counts() == (0, 0, 0)


def test_the_deprecated_field_level_transformation_type_is_read() -> None:
    event = ev.feature_event()
    event["outputs"][0]["facets"]["columnLineage"]["fields"] = {
        "email_hash": {
            "inputFields": [{"namespace": ev.CRM[0], "name": ev.CRM[1], "field": "email"}],
            "transformationType": "MASKED",
            "transformationDescription": "sha256(email)",
        }
    }

    (edge,) = [one for item in column_facets("RunEvent", event) for one in item.edges if one.output_field]

    assert (edge.type, edge.subtype, edge.masking, edge.description) == (
        "DIRECT",
        "TRANSFORMATION",
        True,
        "sha256(email)",
    )


def test_column_categories_declared_in_the_registry_are_audited_once(pipeline) -> None:
    _post(pipeline, ev.feature_event())
    crm = Dataset.objects.get(namespace=ev.CRM[0], name=ev.CRM[1])
    before = AuditEntry.objects.count()

    column_categories_declare(
        actor=Actor.system("tests"), dataset=crm, columns={"diagnosis": ["user.health_and_medical"]}
    )

    crm.refresh_from_db()
    assert AuditEntry.objects.count() == before + 1
    assert AuditEntry.objects.order_by("-index").first().action == "dataset.update"
    assert ColumnCategory.objects.get(dataset=crm).data_categories == ["user.health_and_medical"]
    assert "user.health_and_medical" in crm.data_categories and crm.special_categories


def _pdf_text(pdf: bytes) -> str:
    """The text drawn in a ReportLab PDF (its page streams are ASCII85 then Flate encoded; the
    bundled Vera subset keeps ASCII characters at their own codes)."""
    found = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = match.group(1).strip()
        try:
            data = zlib.decompress(base64.a85decode(raw, adobe=True) if raw.endswith(b"~>") else raw)
        except (ValueError, zlib.error):
            continue
        found.extend(part.decode("latin-1") for part in re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", data))
    return " ".join(found)


def _trained_model(token_client, pipeline, *, training_input_version: bool = True) -> None:
    """Ingest the feature and training runs, declare diagnosis a health column in the dataset
    registry, and register the model version the training run produced: all through the API."""
    _post(pipeline, ev.feature_event())
    training = ev.training_event()
    if not training_input_version:  # as the client sends it: the reader names no version
        del training["inputs"][0]["facets"]["datasetVersion"]
    _post(pipeline, training)
    scientist, _ = token_client("dana-cols", "data_scientist")
    declared = scientist.put(
        f"/api/v1/datasets/{ev.CRM[1]}/columns?namespace={ev.CRM[0]}",
        {"columns": {"diagnosis": ["user.health_and_medical"]}},
        format="json",
    )
    assert declared.status_code == 200, declared.content
    created = scientist.post("/api/v1/models", {"name": "churn", "risk_level": "high"}, format="json")
    assert created.status_code == 201, created.content
    version = scientist.post(
        "/api/v1/models/churn/versions",
        {"artifact": SimpleUploadedFile("model.onnx", onnx_bytes()), "run_id": ev.TRAIN_RUN},
        format="multipart",
    )
    assert version.status_code == 201, version.content


@pytest.mark.parametrize("training_input_version", [True, False], ids=["versioned", "unversioned"])
def test_a_model_trained_on_column_lineage_data_shows_its_personal_columns_in_every_report(
    token_client, pipeline, training_input_version
) -> None:
    """Acceptance (issue 19, item 2); unversioned: the training run's input binds to the version the
    feature run wrote, as the issue's client sends it (no datasetVersion facet)."""
    _trained_model(token_client, pipeline, training_input_version=training_input_version)
    auditor, _ = token_client("audrey-cols", "auditor")

    def report(fmt: str):
        response = auditor.get("/api/v1/reports/lineage", {"nodeId": "model:churn#1", "format": fmt})
        assert response.status_code == 200, response.content[:300]
        return response

    columns = {(c["name"], c["column"]): c for c in report("json").json()["input_columns"]}
    html = report("html").content.decode()
    pdf = _pdf_text(report("pdf").content)
    csv_text = report("csv").content.decode()

    email = columns[(ev.CRM[1], "email")]
    diagnosis = columns[(ev.CRM[1], "diagnosis")]
    assert (email["personal"], email["sensitive"], email["categories"]) == (
        True,
        False,
        ["user.contact.email"],
    )
    assert (diagnosis["personal"], diagnosis["sensitive"]) == (True, True)
    assert email["hops"] == 1 and email["feeds"][0]["column"] == "email_domain"
    assert email["feeds"][0]["transformation"] == "DIRECT/TRANSFORMATION"
    email_domain = columns[(ev.FEATURES[1], "email_domain")]
    assert email_domain["hops"] == 0  # read by the training run
    assert email_domain["derived_from_personal"] == [
        "postgres://crm:5432:crm.public.customers#2026-03-01 · email"
    ]
    assert columns[(ev.FEATURES[1], "at_risk")]["derived_from_personal"] == []  # masked on the way
    assert not columns[(ev.CRM[1], "customer_id")]["personal"]
    assert "address.zip" not in {column for _, column in columns}  # fed nothing the model read
    for text in (html, pdf):
        assert "Input columns behind this model" in text
        assert "user.contact.email" in text and "user.health_and_medical" in text
        assert "Sensitive" in text and "Personal" in text and "Derived from personal data" in text
    assert "crm.public.customers#2026-03-01 · email" in html
    assert "email_domain" in pdf
    assert "user.contact.email" in csv_text and "Sensitive (special category)" in csv_text


def test_the_lineage_page_shows_the_personal_columns_behind_a_model_version(
    token_client, pipeline, client, make_user
) -> None:
    _trained_model(token_client, pipeline)
    client.force_login(make_user("colin-cols", "compliance_officer"))

    body = client.get("/lineage/", {"nodeId": "model:churn#1"}).content.decode()

    section = body[body.index('id="input-columns"') :]
    assert "user.contact.email" in section and "<strong>Personal</strong>" in section
    assert "<strong>Sensitive</strong>" in section and "diagnosis" in section


def test_an_uploaded_version_without_facets_shows_its_profiled_columns(make_user, token_client) -> None:
    from tests.registry.factories import build_story

    story = build_story(make_user("dana-story", "data_scientist"))
    for one in story.versions:
        one.schema = [{"name": "customer_id", "type": "int64"}, {"name": "email", "type": "object"}]
        one.save(update_fields=["schema"])
    column_categories_declare(
        actor=Actor.system("tests"),
        dataset=story.versions[0].dataset,
        columns={"email": ["user.contact.email"]},
    )
    auditor, _ = token_client("audrey-story", "auditor")

    entries = auditor.get("/api/v1/reports/lineage", {"nodeId": "model:churn#1", "format": "json"}).json()[
        "input_columns"
    ]

    assert [(c["version"], c["column"], c["personal"]) for c in entries[:2]] == [
        ("v1", "email", True),
        ("v2", "email", True),
    ]
    assert {c["column"] for c in entries[2:]} == {"customer_id"}


def test_the_registry_api_declares_column_categories_once_audited_and_refuses_bad_keys(
    token_client, pipeline
) -> None:
    _post(pipeline, ev.feature_event())
    scientist, _ = token_client("dana-decl", "data_scientist")
    auditor, _ = token_client("audrey-decl", "auditor")
    url = f"/api/v1/datasets/{ev.CRM[1]}/columns?namespace={ev.CRM[0]}"
    before = AuditEntry.objects.count()

    bad = scientist.put(url, {"columns": {"email": ["Personal Email"]}}, format="json")
    refused = auditor.put(url, {"columns": {"email": ["user.contact.email"]}}, format="json")
    good = scientist.put(url, {"columns": {"email": ["user.contact.email"]}}, format="json")
    listed = auditor.get(url)

    assert bad.status_code == 400 and "fideslang" in bad.json()["detail"]
    assert refused.status_code == 403
    assert good.status_code == 200 and listed.json() == {
        "dataset": f"{ev.CRM[0]}:{ev.CRM[1]}",
        "columns": {"email": ["user.contact.email"]},
    }
    assert AuditEntry.objects.count() == before + 1


def test_a_later_schema_or_tag_fills_in_a_field_named_before_only_by_column_lineage(pipeline) -> None:
    first = ev.feature_event("START", "2026-03-01T09:59:00Z")
    del first["outputs"][0]["facets"]["schema"]
    _post(pipeline, first)
    named_only = _fields(*ev.FEATURES, "v1")["email_domain"]
    later = ev.feature_event()
    later["outputs"][0]["facets"]["tags"] = ev.category_tags(email_domain="user.contact.email")

    _post(pipeline, later)

    filled = _fields(*ev.FEATURES, "v1")["email_domain"]
    assert named_only.type == "" and filled.pk == named_only.pk
    assert (filled.type, filled.data_categories) == ("VARCHAR", ["user.contact.email"])


def test_an_event_whose_columns_fail_to_store_leaves_nothing_and_its_retry_stores_all(
    pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event, its lineage and its columns are one transaction (on PostgreSQL too, where the plan is
    one function call): a failure halfway leaves no event, no audit entry and no column; the client's
    retry then stores the whole event."""
    from registry.services import lineage

    before, entries = _counts(), AuditEntry.objects.count()
    stored = lineage.columns_store

    def failing(columns, plan):  # type: ignore[no-untyped-def]
        stored(columns, plan)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(lineage, "columns_store", failing)
    failed = pipeline.post(URL, ev.feature_event(), format="json")
    assert failed.status_code == 500 and failed.json()["error"] == "internal_error"
    assert _counts() == before and AuditEntry.objects.count() == entries

    monkeypatch.setattr(lineage, "columns_store", stored)
    assert _post(pipeline, ev.feature_event()).status_code == 201
    fields, edges, events = _counts()
    assert fields > before[0] and edges > before[1] and events == before[2] + 1


def test_the_prov_export_carries_the_columns_their_categories_and_derivations(token_client, pipeline) -> None:
    """The PROV-JSON report says what the JSON report says about columns: each a ``gov:Column`` member
    of its dataset version, personal or sensitive, and derived from the columns it was computed from."""
    from registry.reports.prov_columns import column_ident

    _trained_model(token_client, pipeline)
    auditor, _ = token_client("audrey-prov", "auditor")
    columns = {
        (c["name"], c["column"]): c
        for c in auditor.get("/api/v1/reports/lineage", {"nodeId": "model:churn#1", "format": "json"}).json()[
            "input_columns"
        ]
    }
    prov = auditor.get("/api/v1/reports/lineage", {"nodeId": "model:churn#1", "format": "prov"}).json()

    email, domain = columns[(ev.CRM[1], "email")], columns[(ev.FEATURES[1], "email_domain")]
    entity = prov["entity"][column_ident(email["node"], "email")]
    assert entity["prov:type"] == {"$": "gov:Column", "type": "xsd:QName"}
    assert (entity["gov:personal"], entity["gov:sensitive"]) == (True, False)
    assert json.loads(entity["gov:categories"]) == ["user.contact.email"]
    derived = {
        (one["prov:generatedEntity"], one["prov:usedEntity"]): one.get("gov:transformation")
        for one in prov["wasDerivedFrom"].values()
    }
    key = (column_ident(domain["node"], "email_domain"), column_ident(email["node"], "email"))
    assert derived[key] == "DIRECT/TRANSFORMATION"
    members = {(one["prov:collection"], one["prov:entity"]) for one in prov.get("hadMember", {}).values()}
    assert any(entity_id == column_ident(domain["node"], "email_domain") for _, entity_id in members)
    assert all(collection in prov["entity"] for collection, _ in members)
