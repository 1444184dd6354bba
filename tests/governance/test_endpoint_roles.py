"""Role x endpoint matrix (issue 14, acceptance 2): every route in the URL conf, asked by each of the five
roles and by an anonymous caller, answers as the table below says; a route without a row fails.

One request per route, method and caller, against a small governed story (a trained and deployed model,
its dataset, release, signature and job), so that routes with ids resolve. Answers are compared by what
they mean for access, not by exact status:

- ``ok``: the caller was let in (the view answered, or refused the request itself: 400, 404, 409, or a
  403 whose error is not ``permission_denied``, such as ``not_requester``);
- ``401``: not authenticated; ``login``: sent to a login page (HTML pages, the admin site);
- ``403``: authenticated, but the role may not.

Set ``ROLE_MATRIX_PRINT=1`` to print the answers observed, as table rows, when the table needs a new row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from governance.core.roles import Role

CALLERS = ("anonymous", Role.DATA_SCIENTIST, Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.PIPELINE, Role.ADMIN)
HEADER = "anon ds co aud pipe admin"
PAGE_POSTS = {  # HTML pages that take a form: asked with POST as well as GET
    "approvals/<int:release_id>/sign",
    "approvals/<int:release_id>/signatures/<int:signature_id>/revoke",
    "accounts/logout/",
    "admin/logout/",
    "search/",
    "privacy/requests/<int:request_id>/<slug:action>",
}
LAST = ("accounts/logout/", "admin/logout/")  # they end the caller's session: asked after everything else

# "METHOD route": answers of anonymous, data_scientist, compliance_officer, auditor, pipeline, admin.
TABLE: dict[str, str] = {
    "GET ": "login ok ok ok ok ok",
    "GET accounts/login/": "ok ok ok ok ok ok",
    "POST accounts/logout/": "ok ok ok ok ok ok",
    "GET admin/": "login login login ok login ok",
    "GET admin/(?P<url>.*)$": "login login login ok login ok",
    "GET admin/<app_label>/": "login login login ok login ok",
    "GET admin/autocomplete/": "login login login 403 login 403",
    "GET admin/jsi18n/": "login login login ok login ok",
    "GET admin/login/": "ok ok ok ok ok ok",
    "GET admin/logout/": "ok ok ok ok ok ok",
    "POST admin/logout/": "ok ok ok ok ok ok",
    "GET admin/password_change/": "login login login ok login ok",
    "GET admin/password_change/done/": "login login login ok login ok",
    "GET admin/r/<path:content_type_id>/<path:object_id>/": "login login login ok login ok",
    "GET api/2.0/mlflow/^(?P<rest>.*)$": "ok ok ok ok ok ok",
    "POST api/2.0/mlflow/model-versions/create": "401 ok 403 403 ok 403",
    "DELETE api/2.0/mlflow/model-versions/delete": "401 ok 403 403 ok 403",
    "DELETE api/2.0/mlflow/model-versions/delete-tag": "401 ok 403 403 ok 403",
    "GET api/2.0/mlflow/model-versions/get": "401 ok ok ok ok 403",
    "GET api/2.0/mlflow/model-versions/get-download-uri": "401 ok ok ok ok 403",
    "GET api/2.0/mlflow/model-versions/search": "401 ok ok ok ok 403",
    "POST api/2.0/mlflow/model-versions/set-tag": "401 ok 403 403 ok 403",
    "POST api/2.0/mlflow/model-versions/transition-stage": "401 ok 403 403 ok 403",
    "PATCH api/2.0/mlflow/model-versions/update": "401 ok 403 403 ok 403",
    "DELETE api/2.0/mlflow/registered-models/alias": "401 ok 403 403 ok 403",
    "GET api/2.0/mlflow/registered-models/alias": "401 ok ok ok ok 403",
    "POST api/2.0/mlflow/registered-models/alias": "401 ok 403 403 ok 403",
    "POST api/2.0/mlflow/registered-models/create": "401 ok 403 403 ok 403",
    "DELETE api/2.0/mlflow/registered-models/delete": "401 ok 403 403 ok 403",
    "DELETE api/2.0/mlflow/registered-models/delete-tag": "401 ok 403 403 ok 403",
    "GET api/2.0/mlflow/registered-models/get": "401 ok ok ok ok 403",
    "GET api/2.0/mlflow/registered-models/get-latest-versions": "401 ok ok ok ok 403",
    "POST api/2.0/mlflow/registered-models/get-latest-versions": "401 ok ok ok ok 403",
    "POST api/2.0/mlflow/registered-models/rename": "401 ok 403 403 ok 403",
    "GET api/2.0/mlflow/registered-models/search": "401 ok ok ok ok 403",
    "POST api/2.0/mlflow/registered-models/set-tag": "401 ok 403 403 ok 403",
    "PATCH api/2.0/mlflow/registered-models/update": "401 ok 403 403 ok 403",
    "GET api/docs/": "ok ok ok ok ok ok",
    "GET api/schema/": "ok ok ok ok ok ok",
    "GET api/v1/audit/checkpoint": "ok ok ok ok ok ok",
    "GET api/v1/audit/entries": "401 403 ok ok 403 ok",
    "GET api/v1/audit/export": "401 403 ok ok 403 ok",
    "GET api/v1/audit/proof/consistency": "ok ok ok ok ok ok",
    "GET api/v1/audit/proof/inclusion": "ok ok ok ok ok ok",
    "GET api/v1/audit/public-key": "ok ok ok ok ok ok",
    "POST api/v1/consent": "401 403 ok 403 ok 403",
    "GET api/v1/consent-notices": "401 403 ok ok ok 403",
    "POST api/v1/consent-notices": "401 403 ok 403 403 403",
    "GET api/v1/consent/<path:subject_id>": "401 403 ok ok ok 403",
    "POST api/v1/consent/import": "401 403 ok 403 ok 403",
    "GET api/v1/datasets": "401 ok ok ok ok 403",
    "POST api/v1/datasets": "401 ok 403 403 ok 403",
    "GET api/v1/datasets/<path:name>": "401 ok ok ok ok 403",
    "PATCH api/v1/datasets/<path:name>": "401 ok ok 403 ok 403",
    "POST api/v1/datasets/<path:name>/archive": "401 ok 403 403 ok 403",
    "GET api/v1/datasets/<path:name>/columns": "401 ok ok ok ok 403",
    "PUT api/v1/datasets/<path:name>/columns": "401 ok ok 403 ok 403",
    "GET api/v1/datasets/<path:name>/versions": "401 ok ok ok ok 403",
    "POST api/v1/datasets/<path:name>/versions": "401 ok 403 403 ok 403",
    "GET api/v1/datasets/<path:name>/versions/<str:version>": "401 ok ok ok ok 403",
    "GET api/v1/datasets/<path:name>/versions/<str:version>/eligibility": "401 ok ok ok ok 403",
    "GET api/v1/deployments": "401 ok ok ok ok 403",
    "POST api/v1/deployments": "401 ok 403 403 ok 403",
    "GET api/v1/deployments/<str:deployment_id>": "401 ok ok ok ok 403",
    "POST api/v1/deployments/<str:deployment_id>/end": "401 ok 403 403 ok 403",
    "POST api/v1/deployments/<str:environment>/<str:model>/labels": "401 ok 403 403 ok 403",
    "GET api/v1/deployments/<str:environment>/<str:model>/monitoring": "401 ok ok ok ok 403",
    "POST api/v1/deployments/<str:environment>/<str:model>/monitoring/check": "401 ok ok 403 ok 403",
    "POST api/v1/deployments/<str:environment>/<str:model>/predict": "401 ok 403 403 ok 403",
    "POST api/v1/deployments/<str:environment>/<str:model>/stop": "401 ok ok 403 403 403",
    "GET api/v1/deployments/at": "401 ok ok ok ok 403",
    "GET api/v1/grants/public-key": "401 ok ok ok ok ok",
    "GET api/v1/jobs/<int:job_id>": "401 ok ok ok ok 403",
    "GET api/v1/lineage": "401 ok ok ok ok 403",
    "POST api/v1/lineage": "401 ok 403 403 ok 403",
    "GET api/v1/me": "401 ok ok ok ok ok",
    "GET api/v1/models": "401 ok ok ok ok 403",
    "POST api/v1/models": "401 ok 403 403 ok 403",
    "GET api/v1/models/<str:name>": "401 ok ok ok ok 403",
    "PATCH api/v1/models/<str:name>": "401 ok ok 403 ok 403",
    "POST api/v1/models/<str:name>/archive": "401 ok 403 403 ok 403",
    "GET api/v1/models/<str:name>/versions": "401 ok ok ok ok 403",
    "POST api/v1/models/<str:name>/versions": "401 ok 403 403 ok 403",
    "GET api/v1/models/<str:name>/versions/<str:version>": "401 ok ok ok ok 403",
    "POST api/v1/models/<str:name>/versions/<str:version>/archive": "401 ok 403 403 ok 403",
    "GET api/v1/policies": "401 ok ok ok ok ok",
    "POST api/v1/policies": "401 403 403 403 403 ok",
    "GET api/v1/policies/<slug:name>": "401 ok ok ok ok ok",
    "GET api/v1/policies/<slug:name>/versions": "401 ok ok ok ok ok",
    "POST api/v1/policies/<slug:name>/versions": "401 403 403 403 403 ok",
    "GET api/v1/privacy-requests": "401 403 ok ok 403 403",
    "POST api/v1/privacy-requests": "401 403 ok 403 ok 403",
    "GET api/v1/privacy-requests/<str:request_id>": "401 403 ok ok 403 403",
    "POST api/v1/privacy-requests/<str:request_id>/erase-rows": "401 403 ok 403 403 403",
    "POST api/v1/privacy-requests/<str:request_id>/exemptions": "401 403 ok 403 403 403",
    "POST api/v1/privacy-requests/<str:request_id>/impact": "401 403 ok 403 403 403",
    "POST api/v1/privacy-requests/<str:request_id>/status": "401 403 ok 403 403 403",
    "GET api/v1/records-of-processing": "401 403 ok ok 403 403",
    "GET api/v1/releases": "401 ok ok ok ok 403",
    "POST api/v1/releases": "401 ok 403 403 ok 403",
    "GET api/v1/releases/<str:release_id>": "401 ok ok ok ok 403",
    "GET api/v1/releases/<str:release_id>/grant": "401 ok ok ok ok 403",
    "POST api/v1/releases/<str:release_id>/run": "401 ok 403 403 ok 403",
    "GET api/v1/releases/<str:release_id>/signatures": "401 ok ok ok ok 403",
    "POST api/v1/releases/<str:release_id>/signatures": "401 ok ok 403 403 403",
    "POST api/v1/releases/<str:release_id>/signatures/<str:signature_id>/revoke": "401 ok ok 403 403 403",
    "POST api/v1/releases/<str:release_id>/withdraw": "401 ok 403 403 ok 403",
    "GET api/v1/reports/lineage": "401 403 ok ok 403 403",
    "GET api/v1/reports/technical-documentation": "401 403 ok ok 403 403",
    "GET api/v1/runs": "401 ok ok ok ok 403",
    "POST api/v1/runs": "401 ok 403 403 ok 403",
    "GET api/v1/runs/<str:run_id>": "401 ok ok ok ok 403",
    "GET api/v1/signatures": "401 403 ok ok 403 403",
    "GET api/v1/tokens": "401 ok ok ok ok ok",
    "POST api/v1/tokens/<str:prefix>/revoke": "401 ok ok ok ok ok",
    "POST api/v1/tokens/issue": "401 ok ok ok ok ok",
    "GET approvals/": "login ok ok ok 403 403",
    "GET approvals/<int:release_id>/": "login ok ok ok 403 403",
    "GET approvals/<int:release_id>/sign": "login ok ok ok ok ok",
    "POST approvals/<int:release_id>/sign": "login ok ok ok 403 403",
    "GET approvals/<int:release_id>/signatures/<int:signature_id>/revoke": "login ok ok ok ok ok",
    "POST approvals/<int:release_id>/signatures/<int:signature_id>/revoke": "login ok ok ok 403 403",
    "GET approvals/signatures/": "login 403 ok ok 403 403",
    "GET approvals/all/": "login ok ok ok ok 403",
    "GET audit/": "login 403 ok ok 403 ok",
    "GET audit/<int:index>/": "login 403 ok ok 403 ok",
    "GET datasets/": "login ok ok ok ok 403",
    "GET deployments/": "login ok ok ok ok 403",
    "GET deployments/<str:environment>/<str:model>/": "login ok ok ok 403 403",
    "GET healthz": "ok ok ok ok ok ok",
    "GET jobs/": "login ok ok ok ok 403",
    "GET jobs/<int:job_id>/": "login ok ok ok ok 403",
    "GET lineage/": "login ok ok ok 403 403",
    "GET models/": "login ok ok ok ok 403",
    "GET models/<slug:name>/": "login ok ok ok 403 403",
    "GET privacy/requests/": "login 403 ok ok 403 403",
    "GET privacy/subject/": "login 403 ok ok 403 403",
    "GET privacy/requests/<int:request_id>/": "login 403 ok ok 403 403",
    "GET privacy/requests/<int:request_id>/response": "login 403 ok ok 403 403",
    # A workflow step is a POST (GET is 405 for everyone); only compliance officers act.
    "GET privacy/requests/<int:request_id>/<slug:action>": "login ok ok ok ok ok",
    "POST privacy/requests/<int:request_id>/<slug:action>": "login 403 ok 403 403 403",
    "GET accounts/signed-out/": "ok ok ok ok ok ok",
    "GET api/redoc/": "ok ok ok ok ok ok",
    "GET favicon.ico": "ok ok ok ok ok ok",
    "GET readyz": "ok ok ok ok ok ok",
    "GET runs/": "login ok ok ok ok 403",
    "GET search/": "login ok ok ok ok 403",
    "POST search/": "login ok ok ok ok 403",
}

# Each model in the admin site: answers for its list, change, history, add and delete pages (a row's
# pages asked about the model's first row in the story; a model with none is asked about a missing row,
# and its history page then redirects before looking at permissions, as Django's admin does).
ADMIN_MODELS: dict[str, tuple[str, str, str, str, str]] = {
    "accounts.apitoken": (
        "login login login 403 login ok",
        "login login login 403 login ok",
        "login login login 403 login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "accounts.user": (
        "login login login 403 login ok",
        "login login login 403 login ok",
        "login login login 403 login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "approvals.grant": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "approvals.policy": (
        "login login login ok login ok",
        "login login login ok login ok",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "approvals.policyversion": (
        "login login login ok login ok",
        "login login login ok login ok",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "approvals.releaserequest": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "approvals.signature": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "audit.auditentry": (
        "login login login ok login ok",
        "login login login ok login ok",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "auth.group": (
        "login login login 403 login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "consent.consentevent": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "consent.consentimport": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "consent.consentnotice": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "consent.erasureexemption": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "consent.privacyrequest": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "django_celery_results.groupresult": (
        "login login login 403 login 403",
        "login login login 403 login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "django_celery_results.taskresult": (
        "login login login 403 login 403",
        "login login login 403 login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "monitoring.driftcheck": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "monitoring.webhookdelivery": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.columncategory": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.columnlineageedge": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.dataset": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.datasetfield": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login ok",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.datasetversion": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.deployment": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.job": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.lineageedge": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.modelalias": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.modelversion": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.qualityprofile": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.registeredmodel": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
    "registry.trainingrun": (
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login ok login 403",
        "login login login 403 login 403",
        "login login login 403 login 403",
    ),
}
ADMIN_PAGES = ("list", "change", "history", "add", "delete")

ADMIN_MODEL_ROUTE = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/(?P<rest>.*)$")
ADMIN_SUFFIXES = {
    "": "list",
    "add/": "add",
    "<path:object_id>/history/": "history",
    "<path:object_id>/delete/": "delete",
    "<path:object_id>/change/": "change",
    "<path:object_id>/": "redirect",
}
# A row's short address only redirects to its change page, for any member of staff.
ADMIN_ROW_REDIRECT = "login login login ok login ok"


@dataclass(frozen=True)
class Route:
    route: str
    view: Any

    @property
    def key(self) -> str:
        """The route as the table names it (the admin's app index lists every app: named by its slot)."""
        return re.sub(r"^admin/\^\(\?P<app_label>[^)]*\)/\$$", "admin/<app_label>/", self.route)

    @property
    def api(self) -> bool:
        return self.route.startswith("api/")

    def methods(self) -> list[str]:
        view_class = getattr(self.view, "view_class", None)
        if view_class is not None and issubclass(view_class, APIView):
            return [m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)]
        if self.route == "accounts/logout/":
            return ["POST"]  # Django's LogoutView answers POST only
        return ["GET", "POST"] if self.route in PAGE_POSTS else ["GET"]


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield Route(route, pattern.callback)


ROUTES = list(_walk(get_resolver().url_patterns))


def _admin_model(route: str) -> tuple[str, str] | None:
    """``(app.model, kind)`` for a route the admin site makes for a registered model."""
    match = ADMIN_MODEL_ROUTE.match(route)
    if match is None:
        return None
    label = f"{match['app']}.{match['model']}"
    registered = {model._meta.label_lower for model in admin.site._registry}
    if label not in registered or match["rest"] not in ADMIN_SUFFIXES:
        return None
    return label, ADMIN_SUFFIXES[match["rest"]]


def _expected(route: str, method: str) -> str | None:
    found = _admin_model(route)
    if found is not None:
        label, kind = found
        row = ADMIN_MODELS.get(label)
        if kind == "redirect":
            return ADMIN_ROW_REDIRECT if row is not None else None
        return None if row is None else row[ADMIN_PAGES.index(kind)]
    return TABLE.get(f"{method} {route}")


def _keys() -> list[tuple[Route, str]]:
    keys = [(route, method) for route in ROUTES for method in route.methods()]
    return sorted(keys, key=lambda key: (key[0].route in LAST, key[1] != "GET", key[0].route))


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    missing = [f"{method} {route.key}" for route, method in _keys() if _expected(route.key, method) is None]
    assert not missing, f"routes without a row in the role table (add them): {missing}"
    known = {f"{method} {route.key}" for route, method in _keys()}
    assert not set(TABLE) - known, f"rows for routes that are gone: {sorted(set(TABLE) - known)}"
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert set(ADMIN_MODELS) == registered


def test_the_signature_history_page_admits_exactly_the_roles_of_the_api() -> None:
    page = TABLE["GET approvals/signatures/"].replace("login", "401")
    assert page == TABLE["GET api/v1/signatures"]


CONSOLE_LISTS = {  # console page -> the API route reading the same rows (a pattern)
    "GET models/": "GET api/v1/models",
    "GET datasets/": "GET api/v1/datasets",
    "GET runs/": "GET api/v1/runs",
    "GET deployments/": "GET api/v1/deployments",
    "GET approvals/all/": "GET api/v1/releases",
    "GET jobs/<int:job_id>/": "GET api/v1/jobs/<int:job_id>",
    "GET privacy/requests/": "GET api/v1/privacy-requests",
    "GET audit/": "GET api/v1/audit/entries",
}


def test_each_console_list_admits_exactly_the_roles_of_its_api() -> None:
    for page, api in CONSOLE_LISTS.items():
        (answers,) = [row for key, row in TABLE.items() if re.fullmatch(api, key)]
        assert TABLE[page].replace("login", "401") == answers, page


# --- The story the requests are asked about -------------------------------------------------------------


@pytest.fixture
def story(sent: list[dict[str, Any]], settings: Any, tmp_path: Any) -> dict[str, str]:
    """A trained and deployed model, its dataset, release, signature, job and a privacy request: the
    values of every path parameter in the URL conf."""
    from audit.actors import Actor
    from governance.accounts import services as accounts
    from governance.approvals.models import Signature
    from governance.consent.services.requests import privacy_request_create
    from governance.consent.subjects import subject_hash_of
    from governance.jobs.runner import run_release_job
    from registry.models import Deployment, ModelVersion
    from tests.jobs import factories

    settings.MEDIA_ROOT = tmp_path / "media"
    people = factories.people()
    dataset = factories.customers_dataset(people.requester)
    train = factories.train_request(people.requester, dataset)
    factories.sign(train, people.approver)
    client = APIClient()
    client.force_authenticate(people.requester)
    assert client.post(f"/api/v1/releases/{train.pk}/run").status_code == 201
    job_id = sent[-1]["job_id"]
    assert run_release_job(job_id=job_id, grant=sent[-1]["grant"], worker="test") == "succeeded"
    version = ModelVersion.objects.get(model__name="churn")
    deploy = factories.deploy_request(people.requester, version.version, "staging")
    factories.sign(deploy, people.approver)
    assert client.post(f"/api/v1/releases/{deploy.pk}/run").status_code == 201
    assert run_release_job(job_id=sent[-1]["job_id"], grant=sent[-1]["grant"], worker="test") == "succeeded"
    privacy = privacy_request_create(
        actor=Actor.for_user(people.approver),
        subject_hash=subject_hash_of("c-0001"),
        request_type="access",
        jurisdiction="eu_eea",
    )
    token, _ = accounts.token_issue(actor=Actor.system("tests"), user=people.outsider, name="spare")
    first_rows = {
        f"admin:{model._meta.label_lower}": str(
            model._default_manager.order_by("pk").values_list("pk", flat=True).first() or 0
        )
        for model in admin.site._registry
    }
    return {
        **first_rows,
        "name": "churn",
        "version": str(version.version),
        "dataset": f"{dataset.dataset.namespace}/{dataset.dataset.name}",
        "dataset_version": str(dataset.version),
        "run_id": str(version.run.run_id),
        "deployment_id": str(Deployment.objects.get().pk),
        "environment": "staging",
        "model": "churn",
        "subject_id": "c-0001",
        "request_id": str(privacy.pk),
        "policy": "train-default",
        "release_id": str(train.pk),
        "signature_id": str(Signature.objects.filter(release=train).first().pk),  # type: ignore[union-attr]
        "job_id": str(job_id),
        "index": "1",  # an audit entry (the story wrote many)
        "action": "verify",  # a privacy request's workflow step
        "prefix": token.prefix,
    }


def _path(route: str, values: dict[str, str]) -> str:
    """A concrete path for ``route``: its parameters filled from the story."""
    specials = {
        "api/2.0/mlflow/^(?P<rest>.*)$": "/api/2.0/mlflow/runs/get",
        "admin/(?P<url>.*)$": "/admin/no-such-page/",
    }
    if route in specials:
        return specials[route]
    if route.startswith("admin/^(?P<app_label>"):
        return "/admin/registry/"
    if route.startswith("admin/r/"):
        return "/admin/r/1/1/"

    def value(match: re.Match[str]) -> str:
        name = match["name"]
        if name == "name" and route.startswith("api/v1/datasets/"):
            return values["dataset"]
        if name == "version" and route.startswith("api/v1/datasets/"):
            return values["dataset_version"]
        if name == "name" and route.startswith("api/v1/policies/"):
            return values["policy"]
        if name == "object_id":
            found = ADMIN_MODEL_ROUTE.match(route)
            assert found is not None, route
            return values[f"admin:{found['app']}.{found['model']}"]
        return values[name]

    return "/" + re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value, route)


def _refusal(route: str, response: Any) -> str:
    """A 401 or 403 in the error shape of its API: ours (``{"error", "detail"}``) or MLflow's. On our
    API a 403 other than ``permission_denied`` is the service refusing the request itself (the role was
    let in, e.g. ``not_requester``); a refusal in another shape is an answer of its own, so it shows."""
    status = response.status_code
    if route.startswith("api/v1/"):
        body = response.json()
        if status == 403 and set(body) == {"error", "detail"} and body["error"] != "permission_denied":
            return "ok"
        expected = "not_authenticated" if status == 401 else "permission_denied"
        return str(status) if body.get("error") == expected and "detail" in body else f"{status}:{body}"
    if route.startswith("api/2.0/mlflow/"):
        expected = "UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"
        body = response.json()
        return str(status) if body.get("error_code") == expected else f"{status}:{body}"
    return str(status)


def _answer(route: str, response: Any) -> str:
    if response.status_code in (301, 302) and "/login/" in response.get("Location", ""):
        return "login"
    if response.status_code in (401, 403):
        return _refusal(route, response)
    if response.status_code >= 500:
        return str(response.status_code)
    return "ok"


def _clients(make_user: Any) -> dict[str, tuple[APIClient, Client]]:
    """For each caller, a client for the API (its Bearer token) and one for pages (its session)."""
    from audit.actors import Actor
    from governance.accounts import services as accounts

    clients: dict[str, tuple[APIClient, Client]] = {"anonymous": (APIClient(), Client())}
    for role in CALLERS[1:]:
        user = make_user(f"matrix-{role}", role)
        _, raw = accounts.token_issue(actor=Actor.system("tests"), user=user, name="matrix")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        page = Client()
        page.force_login(user)
        clients[role] = (api, page)
    return clients


@pytest.mark.django_db
def test_each_route_answers_each_role_as_the_table_says(
    story: dict[str, str], make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rates are not what this test is about: some 150 anonymous requests in a row would be throttled.
    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)
    clients = _clients(make_user)
    observed: dict[str, str] = {}
    for route, method in _keys():
        path = _path(route.route, story)
        answers = []
        for caller in CALLERS:
            api, page = clients[caller]
            client = api if route.api else page
            response = client.generic(method, path, "" if method == "GET" else "{}", "application/json")
            answers.append(_answer(route.route, response))
        observed[f"{method} {route.key}"] = " ".join(answers)
    if os.environ.get("ROLE_MATRIX_PRINT"):
        for key, answers in observed.items():
            print(f'    "{key}": "{answers}",')  # noqa: T201
    wrong = {
        key: f"expected {_expected(key.split(' ', 1)[1], key.split(' ', 1)[0])!r}, got {answers!r}"
        for key, answers in observed.items()
        if answers != _expected(key.split(" ", 1)[1], key.split(" ", 1)[0])
    }
    assert not wrong, f"answers ({HEADER}) that differ from the table:\n" + "\n".join(
        f"{key}: {why}" for key, why in wrong.items()
    )
