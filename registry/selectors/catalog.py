"""Reading the catalog: models, versions, datasets, runs and deployments, each list in a fixed
number of queries (related rows joined or prefetched, never fetched per row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTransform

from governance.core.errors import NotFound
from registry.models import Dataset, DatasetVersion, Deployment, ModelVersion, RegisteredModel, TrainingRun


def model_list(
    *,
    name: str = "",
    risk_level: str = "",
    owner: str = "",
    tags: Sequence[tuple[str, str]] = (),
    archived: bool | None = None,
) -> QuerySet[RegisteredModel]:
    """Models whose name contains ``name``, of a risk level and owner, carrying every ``(key, value)`` tag."""
    models = RegisteredModel.objects.select_related("owner")
    if name:
        models = models.filter(name__icontains=name)
    if risk_level:
        models = models.filter(risk_level=risk_level)
    if owner:
        models = models.filter(owner__username=owner)
    if archived is not None:
        models = models.filter(archived_at__isnull=not archived)
    for index, (key, value) in enumerate(tags):
        # KeyTransform passes the key as a parameter, so a key is never parsed as a lookup path.
        alias = f"tag_{index}"
        models = models.alias(**{alias: KeyTransform(key, "tags")}).filter(**{alias: value})
    return models


def model_get(*, name: str) -> RegisteredModel:
    try:
        return RegisteredModel.objects.select_related("owner").get(name=name)
    except RegisteredModel.DoesNotExist as exc:
        raise NotFound(f"no model named {name!r}") from exc


def _model_versions() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("model", "run", "created_by")


def model_version_list(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return _model_versions().filter(model=model)


def model_version_get(*, model_name: str, version: int | str) -> ModelVersion:
    try:
        number = int(version)
    except ValueError as exc:
        raise NotFound(f"model versions are numbered 1, 2, ...; {version!r} is not one") from exc
    try:
        return _model_versions().get(model__name=model_name, version=number)
    except ModelVersion.DoesNotExist as exc:
        raise NotFound(f"model {model_name!r} has no version {number}") from exc


def dataset_list(
    *, namespace: str = "", name: str = "", holds_personal_data: bool | None = None
) -> QuerySet[Dataset]:
    datasets = Dataset.objects.all()
    if namespace:
        datasets = datasets.filter(namespace=namespace)
    if name:
        datasets = datasets.filter(name__icontains=name)
    if holds_personal_data is not None:
        datasets = datasets.filter(holds_personal_data=holds_personal_data)
    return datasets


def dataset_get(*, namespace: str, name: str) -> Dataset:
    try:
        return Dataset.objects.get(namespace=namespace, name=name)
    except Dataset.DoesNotExist as exc:
        raise NotFound(f"no dataset {namespace}:{name}") from exc


def _dataset_versions() -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.select_related("dataset", "created_by")


def dataset_version_list(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    return _dataset_versions().filter(dataset=dataset)


def dataset_version_get(*, dataset: Dataset, version: str) -> DatasetVersion:
    try:
        return _dataset_versions().get(dataset=dataset, version=version)
    except DatasetVersion.DoesNotExist as exc:
        raise NotFound(f"dataset {dataset} has no version {version!r}") from exc


def _runs() -> QuerySet[TrainingRun]:
    return TrainingRun.objects.select_related("job", "started_by").prefetch_related(
        "inputs__dataset", "models__model"
    )


def run_list(*, job_namespace: str = "", job_name: str = "") -> QuerySet[TrainingRun]:
    runs = _runs()
    if job_namespace:
        runs = runs.filter(job__namespace=job_namespace)
    if job_name:
        runs = runs.filter(job__name=job_name)
    return runs


def run_get(*, run_id: uuid.UUID | str) -> TrainingRun:
    try:
        wanted = uuid.UUID(str(run_id))
    except ValueError as exc:
        raise NotFound(f"{run_id!r} is not a run id (a UUID)") from exc
    try:
        return _runs().get(run_id=wanted)
    except TrainingRun.DoesNotExist as exc:
        raise NotFound(f"no run {wanted}") from exc


def _deployments() -> QuerySet[Deployment]:
    return Deployment.objects.select_related("model_version__model", "deployed_by")


def deployment_list(
    *, environment: str = "", model: str = "", serving: bool | None = None
) -> QuerySet[Deployment]:
    deployments = _deployments()
    if environment:
        deployments = deployments.filter(environment=environment)
    if model:
        deployments = deployments.filter(model_version__model__name=model)
    if serving is not None:
        deployments = deployments.filter(until__isnull=serving)
    return deployments


def deployment_get(*, pk: int | str) -> Deployment:
    try:
        return _deployments().get(pk=int(pk))
    except (ValueError, Deployment.DoesNotExist) as exc:
        raise NotFound(f"no deployment {pk!r}") from exc


def deployment_at(*, environment: str, at: datetime, model: str | None = None) -> list[Deployment]:
    """The deployments serving ``environment`` at instant ``at`` (one query): those deployed at or
    before ``at`` and not yet ended at ``at`` (``until`` is exclusive)."""
    serving = _deployments().filter(
        Q(until__isnull=True) | Q(until__gt=at), environment=environment, deployed_at__lte=at
    )
    if model:
        serving = serving.filter(model_version__model__name=model)
    return list(serving.order_by("model_version__model__name", "deployed_at"))
