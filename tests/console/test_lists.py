"""The console's lists: models, datasets, runs, deployments, releases and privacy requests as sortable,
filterable, paginated tables, each admitting the roles of its API; and search across the catalog and,
for officers and auditors, a data subject by the id in their systems (hashed, never kept)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from governance.consent.services.requests import privacy_request_create
from governance.consent.subjects import subject_hash_of
from tests.console.lists_factories import answers, catalog, page_client, page_clients
from tests.governance.test_secrets_stay_secret import _every_value_in_the_database

pytestmark = pytest.mark.django_db

CATALOG_READERS = {"data_scientist", "compliance_officer", "auditor", "pipeline"}
PRIVACY_READERS = {"compliance_officer", "auditor"}


def _rows(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)
    return [row for row in rows if 'class="empty"' not in row]


def _expect(allowed: set[str]) -> dict[str, int]:
    roles = ("data_scientist", "compliance_officer", "auditor", "pipeline", "admin")
    return {**{role: 200 if role in allowed else 403 for role in roles}, "anonymous": 302}


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/models/", CATALOG_READERS),
        ("/datasets/", CATALOG_READERS),
        ("/runs/", CATALOG_READERS),
        ("/deployments/", CATALOG_READERS),
        ("/approvals/all/", CATALOG_READERS),
        ("/search/?q=churn", CATALOG_READERS),
        ("/privacy/requests/", PRIVACY_READERS),
    ],
)
def test_each_list_admits_the_roles_of_its_api_and_refuses_the_others(
    make_user: Any, path: str, allowed: set[str]
) -> None:
    seen = answers(page_clients(make_user), path)
    assert seen == _expect(allowed)


def test_a_refused_role_gets_the_403_page_not_the_rows(make_user: Any) -> None:
    owner = make_user("owner", "data_scientist")
    catalog(owner, 2)
    response = page_client(make_user, "admin").get("/models/")
    assert response.status_code == 403
    assert "m-model-000" not in response.content.decode()


def test_the_model_list_pages_120_models_and_sorts_and_filters_them(make_user: Any) -> None:
    owner = make_user("owner", "data_scientist", full_name="Owen Owner")
    catalog(owner, 120)
    client = page_client(make_user, "auditor")
    first = client.get("/models/").content.decode()
    assert len(_rows(first, "models")) == 50
    assert "120 found, page 1 of 3" in first
    assert "m-model-000" in first and "m-model-050" not in first
    last = client.get("/models/?page=3").content.decode()
    assert len(_rows(last, "models")) == 20
    assert "m-model-119" in last
    newest_first = _rows(client.get("/models/?sort=-name").content.decode(), "models")
    assert "m-model-119" in newest_first[0]
    high = client.get("/models/?risk_level=high&per_page=100").content.decode()
    assert len(_rows(high, "models")) == 40
    assert all(">high<" in row for row in _rows(high, "models"))
    found = _rows(client.get("/models/?q=model-007").content.decode(), "models")
    assert len(found) == 1 and 'href="/models/m-model-007/"' in found[0]
    assert "Owen Owner" in found[0]


def test_a_filter_that_does_not_parse_is_a_400_with_no_rows(make_user: Any) -> None:
    catalog(make_user("owner", "data_scientist"), 3)
    response = page_client(make_user, "auditor").get("/models/?risk_level=catastrophic")
    assert response.status_code == 400
    page = response.content.decode()
    assert "No models match." in page
    assert "Some filters could not be read" in page and "catastrophic is not one of the available" in page
    assert "m-model-000" not in page


def test_each_dataset_links_to_its_versions(make_user: Any) -> None:
    catalog(make_user("owner", "data_scientist"), 3)
    client = page_client(make_user, "data_scientist")
    rows = _rows(client.get("/datasets/?q=table-001").content.decode(), "datasets")
    assert len(rows) == 1
    assert 'href="/lineage/?nodeId=dataset:warehouse:m-table-001%23v1"' in rows[0]
    assert 'href="/lineage/?nodeId=dataset:warehouse:m-table-001%23v2"' in rows[0]
    personal = _rows(client.get("/datasets/?personal=1").content.decode(), "datasets")
    assert len(personal) == 2  # tables 000 and 002


def test_runs_show_their_inputs_and_the_model_versions_they_made(make_user: Any) -> None:
    catalog(make_user("owner", "data_scientist"), 2)
    rows = _rows(page_client(make_user, "pipeline").get("/runs/?sort=started_at").content.decode(), "runs")
    assert len(rows) == 2
    assert "m-table-000#v1" in rows[0] and 'href="/models/m-model-000/"' in rows[0]


def test_each_deployment_links_to_its_page_and_filters_by_environment_and_serving(make_user: Any) -> None:
    catalog(make_user("owner", "data_scientist"), 4)
    client = page_client(make_user, "compliance_officer")
    staging = _rows(client.get("/deployments/?environment=staging").content.decode(), "deployments")
    assert len(staging) == 4
    assert all('href="/deployments/staging/m-model-' in row for row in staging)
    ended = _rows(client.get("/deployments/?serving=0").content.decode(), "deployments")
    assert len(ended) == 2 and all("ended" in row for row in ended)
    by_model = _rows(client.get("/deployments/?model=m-model-001").content.decode(), "deployments")
    assert len(by_model) == 2


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/models/", "models"),
        ("/datasets/", "datasets"),
        ("/runs/", "runs"),
        ("/deployments/", "deployments"),
    ],
)
def test_a_catalog_list_reads_a_page_in_a_fixed_number_of_queries(
    make_user: Any, django_assert_max_num_queries: Any, path: str, table: str
) -> None:
    owner = make_user("owner", "data_scientist")
    catalog(owner, 3, prefix="a")
    client = page_client(make_user, "auditor")
    client.get(path)  # the session and the user's roles, read once per request
    with django_assert_max_num_queries(12):
        small = client.get(path)
    catalog(owner, 60, prefix="b")
    with django_assert_max_num_queries(12):
        large = client.get(path)
    assert len(_rows(small.content.decode(), table)) >= 3
    assert len(_rows(large.content.decode(), table)) == 50


def _requests(officer: Any, count: int, *, received_at: Any = None) -> None:
    for n in range(count):
        privacy_request_create(
            actor=Actor.for_user(officer),
            subject_hash=subject_hash_of(f"customer-{n}"),
            request_type=("erasure", "access")[n % 2],
            jurisdiction="eu_eea",
            received_at=received_at,
        )


def test_privacy_requests_link_to_their_page_and_filter_by_status_and_type(
    make_user: Any, django_assert_max_num_queries: Any
) -> None:
    officer = make_user("olga", "compliance_officer")
    _requests(officer, 6)
    client = page_client(make_user, "auditor")
    # 10 for the page, and its own privacy_request.read entry: the enqueue and (tests run on_commit work at
    # once) the sequencer, savepoints included.
    with django_assert_max_num_queries(10 + 12):
        page = client.get("/privacy/requests/?status=open").content.decode()
    rows = _rows(page, "privacy-requests")
    assert len(rows) == 6
    assert re.search(r'href="/privacy/requests/\d+/"', rows[0])
    assert len(_rows(client.get("/privacy/requests/?type=erasure").content.decode(), "privacy-requests")) == 3
    assert _rows(client.get("/privacy/requests/?overdue=1").content.decode(), "privacy-requests") == []
    assert "customer-0" not in page


def test_overdue_privacy_requests_come_first_and_filter_alone(make_user: Any) -> None:
    officer = make_user("olga", "compliance_officer")
    _requests(officer, 2)
    _requests(officer, 1, received_at=timezone.now() - timedelta(days=90))
    client = page_client(make_user, "compliance_officer")
    rows = _rows(client.get("/privacy/requests/").content.decode(), "privacy-requests")
    assert len(rows) == 3 and "overdue" in rows[0] and "overdue" not in rows[1]
    overdue = _rows(client.get("/privacy/requests/?overdue=1").content.decode(), "privacy-requests")
    assert len(overdue) == 1


def test_the_release_list_keeps_every_request_and_filters_by_status(make_user: Any) -> None:
    from tests.approvals import factories as approvals

    scientist = make_user("dana", "data_scientist")
    approvals.make_policy("train-default")
    version = approvals.dataset_version(scientist)
    for _ in range(3):
        approvals.train_request(scientist, version)
    client = page_client(make_user, "compliance_officer")
    rows = _rows(client.get("/approvals/all/?status=pending").content.decode(), "releases")
    assert len(rows) == 3
    assert all(re.search(r'href="/approvals/\d+/"', row) for row in rows)
    assert _rows(client.get("/approvals/all/?status=rejected").content.decode(), "releases") == []


def test_search_finds_models_and_datasets_by_name(make_user: Any) -> None:
    catalog(make_user("owner", "data_scientist"), 3)
    page = page_client(make_user, "data_scientist").get("/search/?q=model-002").content.decode()
    assert 'href="/models/m-model-002/"' in page
    assert "m-model-001" not in page
    assert 'id="subject-result"' not in page


def test_search_finds_a_subject_by_external_id_and_keeps_the_id_nowhere(make_user: Any) -> None:
    officer = make_user("olga", "compliance_officer")
    _requests(officer, 3)
    raw = "customer-1"
    client = page_client(make_user, "compliance_officer")
    response = client.post("/search/", {"q": raw})
    page = response.content.decode()
    assert response.status_code == 200
    assert subject_hash_of(raw) in page
    assert re.search(r'href="/privacy/requests/\d+/"', page.split('id="subject-result"', 1)[1])
    assert raw not in page
    missing = client.post("/search/", {"q": "nobody-here"}).content.decode()
    assert "No data subject with that id" in missing
    assert raw not in _every_value_in_the_database()
    assert "nobody-here" not in _every_value_in_the_database()


def test_a_data_scientist_searching_a_subject_id_learns_nothing_about_the_subject(make_user: Any) -> None:
    _requests(make_user("olga", "compliance_officer"), 2)
    page = page_client(make_user, "data_scientist").post("/search/", {"q": "customer-1"}).content.decode()
    assert subject_hash_of("customer-1") not in page
    assert 'id="subject-result"' not in page


def test_search_refuses_a_text_too_long_to_be_a_name(make_user: Any) -> None:
    client: Client = page_client(make_user, "auditor")
    assert client.post("/search/", {"q": "x" * 201}).status_code == 400


def test_a_subject_id_in_a_link_is_not_looked_up_and_the_page_says_how_to(make_user: Any) -> None:
    _requests(make_user("olga", "compliance_officer"), 2)
    page = page_client(make_user, "auditor").get("/search/?q=customer-1").content.decode()
    assert subject_hash_of("customer-1") not in page
    assert 'id="subject-hint"' in page and 'method="post"' in page


@pytest.mark.parametrize(
    "path",
    [
        "/models/?q=%00",
        "/datasets/?namespace=a%00b",
        "/runs/?state=%00",
        "/deployments/?environment=%00",
        "/approvals/all/?q=%00",
        "/jobs/?requested_by=%00",
        "/privacy/requests/?handled_by=%00",
        "/audit/?actor=%00",
        "/audit/?target_id=%00",
        "/search/?q=%00",
    ],
)
def test_a_nul_in_a_filter_is_a_400_page_not_a_database_error(make_user: Any, path: str) -> None:
    assert page_client(make_user, "auditor").get(path).status_code == 400
