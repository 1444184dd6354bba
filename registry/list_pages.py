"""Console lists of the catalog: models, datasets, runs and deployments, each a filterable, sortable,
paginated table. They admit the roles that may read the same rows through the API (``READERS``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from governance.core.lists import list_page, roles_required
from registry.apis.common import READERS
from registry.list_tables import (
    DatasetFilter,
    DatasetTable,
    DeploymentFilter,
    DeploymentTable,
    ModelFilter,
    ModelTable,
    RunFilter,
    RunTable,
    dataset_rows,
    deployment_rows,
    model_rows,
    run_rows,
)

WHO = "data scientists, pipelines, compliance officers and auditors"


@login_required
@require_GET
def model_list_page(request: HttpRequest) -> HttpResponse:
    """``/models/?q=&risk_level=&owner=&archived=1|0&sort=&page=``"""
    roles_required(request, READERS, who=WHO)
    return list_page(
        request,
        title="Models",
        intro="Registered models with their EU AI Act risk level; open one for its versions and releases.",
        filterset=ModelFilter(request.GET or None, queryset=model_rows()),
        table_class=ModelTable,
        table_id="models",
    )


@login_required
@require_GET
def dataset_list_page(request: HttpRequest) -> HttpResponse:
    """``/datasets/?q=&namespace=&personal=1|0&sort=&page=``"""
    roles_required(request, READERS, who=WHO)
    return list_page(
        request,
        title="Datasets",
        intro="Each version links to its lineage: the runs that used it and the models they made.",
        filterset=DatasetFilter(request.GET or None, queryset=dataset_rows()),
        table_class=DatasetTable,
        table_id="datasets",
    )


@login_required
@require_GET
def run_list_page(request: HttpRequest) -> HttpResponse:
    """``/runs/?q=&state=&started_by=&sort=&page=``"""
    roles_required(request, READERS, who=WHO)
    return list_page(
        request,
        title="Training runs",
        intro="Each run with the data it used and the model versions it produced.",
        filterset=RunFilter(request.GET or None, queryset=run_rows()),
        table_class=RunTable,
        table_id="runs",
    )


@login_required
@require_GET
def deployment_list_page(request: HttpRequest) -> HttpResponse:
    """``/deployments/?q=&environment=&model=&serving=1|0&sort=&page=``"""
    roles_required(request, READERS, who=WHO)
    return list_page(
        request,
        title="Deployments",
        intro="Where each model version serves, or served; open one for its monitoring and drift checks.",
        filterset=DeploymentFilter(request.GET or None, queryset=deployment_rows()),
        table_class=DeploymentTable,
        table_id="deployments",
    )
