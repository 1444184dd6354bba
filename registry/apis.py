"""The registry catalog API under ``/api/v1/``: models, model versions, datasets, dataset versions,
runs and deployments. Data scientists and pipelines write; compliance officers and auditors read.

One APIView per operation; where two operations share a path, a small class joins them and each
method keeps its own operation's roles (as ``registry.lineage_apis.LineageApi`` does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.errors import NotFound, PermissionRefused, ValidationFailed
from governance.core.pagination import CursorPagination
from governance.core.permissions import roles_allowed, user_roles
from governance.core.roles import Role
from registry.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    Jurisdiction,
    ModelVersion,
    RegisteredModel,
    RiskLevel,
    TrainingRun,
)
from registry.selectors import catalog as selectors
from registry.services import catalog as services
from registry.services.datasets import (
    dataset_create,
    dataset_version_create,
    dataset_version_upload,
    special_category_keys,
)
from registry.services.deployments import deployment_end

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission

T = TypeVar("T")

READ_ROLES = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
WRITE_ROLES = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE)
WRITE_ROLE_NAMES = frozenset({Role.DATA_SCIENTIST.value, Role.PIPELINE.value})
RISK_LEVEL_ERRORS: dict[str, Any] = {
    "invalid_choice": (
        '"{input}" is not an EU AI Act risk level; choose minimal, limited, high or unacceptable.'
    )
}
JURISDICTION_ERRORS: dict[str, Any] = {
    "invalid_choice": '"{input}" is not a jurisdiction; choose eu_eea, uk, california or other.'
}


# --- Shared fields, helpers and output shapes ---------------------------------------------------------------


class JsonValueField(serializers.JSONField):
    """A JSON object or array, also accepted as JSON text (multipart forms carry every field as text)."""

    def __init__(self, *, kind: type[dict[str, Any]] | type[list[Any]], **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("invalid")
        value = super().to_internal_value(data)
        if not isinstance(value, self.kind):
            raise serializers.ValidationError(f"must be a JSON {'object' if self.kind is dict else 'array'}")
        return value


def _must_exist(field: str, fetch: Callable[[], T]) -> T:
    """A row named in a request body: its absence is a bad request (400), not a missing page (404)."""
    try:
        return fetch()
    except NotFound as exc:
        raise ValidationFailed(f"{field}: {exc.detail}") from exc


def _paginated(
    request: Request,
    view: APIView,
    rows: QuerySet[Any],
    serializer: type[serializers.Serializer[Any]],
    ordering: str = "-created_at",
) -> Response:
    paginator = CursorPagination()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _valid(serializer: type[serializers.Serializer[Any]], data: Any, **kwargs: Any) -> dict[str, Any]:
    incoming = serializer(data=data, **kwargs)
    incoming.is_valid(raise_exception=True)
    return dict(incoming.validated_data)


class _SharedPath(APIView):
    """Reads and writes on one path: GET takes the reading operation's roles, the rest the writer's."""

    permission_classes = [READ_ROLES]  # the union of both, named for the role checks
    read_operation: type[APIView]
    write_operation: type[APIView]

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        safe = self.request.method in SAFE_METHODS
        operation = self.read_operation if safe else self.write_operation
        return [permission() for permission in operation.permission_classes]


class CatalogModelOutputSerializer(serializers.Serializer[RegisteredModel]):
    name = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    description = serializers.CharField()
    intended_use = serializers.CharField()
    risk_level = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)


class CatalogModelVersionOutputSerializer(serializers.Serializer[ModelVersion]):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField()
    node_id = serializers.CharField()
    artifact_sha256 = serializers.CharField()
    artifact_size = serializers.IntegerField(allow_null=True)
    artifact_uri = serializers.CharField()
    artifact_stored = serializers.SerializerMethodField()
    artifact_verified = serializers.BooleanField()
    artifact_format = serializers.CharField(help_text="skops, onnx, reference (lineage only), or '' (legacy)")
    onnx_sha256 = serializers.CharField(help_text="the serving form (ONNX), pinned like the artifact")
    signing_key_id = serializers.CharField(help_text="SHA-256 of the public key that signed the artifact")
    metrics_source = serializers.CharField(help_text="service (computed here) or declared (by the uploader)")
    undeployable_reason = serializers.CharField(help_text="why it can never be deployed; '' when it can")
    framework = serializers.CharField()
    parameters = serializers.JSONField()
    metrics = serializers.JSONField()
    input_schema = serializers.JSONField()
    status = serializers.CharField()
    run_id = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)

    def get_artifact_stored(self, obj: ModelVersion) -> bool:
        return bool(obj.storage_name)

    def get_run_id(self, obj: ModelVersion) -> str | None:
        return str(obj.run.run_id) if obj.run is not None else None


class CatalogDatasetOutputSerializer(serializers.Serializer[Dataset]):
    namespace = serializers.CharField()
    name = serializers.CharField()
    node_id = serializers.CharField()
    description = serializers.CharField()
    holds_personal_data = serializers.BooleanField()
    subject_id_column = serializers.CharField()
    jurisdictions = serializers.ListField(child=serializers.CharField())
    data_categories = serializers.ListField(child=serializers.CharField())
    special_categories = serializers.BooleanField()
    special_category_keys = serializers.SerializerMethodField()
    purposes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)

    def get_special_category_keys(self, obj: Dataset) -> list[str]:
        return special_category_keys(obj.data_categories)


class CatalogDatasetVersionOutputSerializer(serializers.Serializer[DatasetVersion]):
    namespace = serializers.CharField(source="dataset.namespace")
    name = serializers.CharField(source="dataset.name")
    version = serializers.CharField()
    node_id = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    uri = serializers.CharField()
    stored = serializers.SerializerMethodField()
    file_format = serializers.CharField()
    schema = serializers.JSONField()
    row_count = serializers.IntegerField(allow_null=True)
    subject_count = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    created_at = serializers.DateTimeField()

    def get_stored(self, obj: DatasetVersion) -> bool:
        return bool(obj.storage_name)


class CatalogDatasetVersionRefSerializer(serializers.Serializer[Any]):
    namespace = serializers.CharField(max_length=200, default="default")
    name = serializers.CharField(max_length=300)
    version = serializers.CharField(max_length=200)


class CatalogRunOutputSerializer(serializers.Serializer[TrainingRun]):
    run_id = serializers.UUIDField()
    node_id = serializers.CharField()
    job = serializers.SerializerMethodField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    parameters = serializers.JSONField()
    metrics = serializers.JSONField()
    code_version = serializers.CharField()
    environment = serializers.JSONField()
    started_by = serializers.CharField(source="started_by.username", allow_null=True)
    inputs = serializers.SerializerMethodField()
    model_versions = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_job(self, obj: TrainingRun) -> dict[str, str] | None:
        return {"namespace": obj.job.namespace, "name": obj.job.name} if obj.job is not None else None

    def get_inputs(self, obj: TrainingRun) -> list[dict[str, str]]:
        return [
            {"namespace": row.dataset.namespace, "name": row.dataset.name, "version": row.version}
            for row in obj.inputs.all()
        ]

    def get_model_versions(self, obj: TrainingRun) -> list[str]:
        return [row.node_id for row in obj.models.all()]


class CatalogDeploymentOutputSerializer(serializers.Serializer[Deployment]):
    id = serializers.IntegerField()
    node_id = serializers.CharField()
    model = serializers.CharField(source="model_version.model.name")
    version = serializers.IntegerField(source="model_version.version")
    environment = serializers.CharField()
    endpoint = serializers.CharField()
    deployed_by = serializers.CharField(source="deployed_by.username")
    deployed_at = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True)
    job_reference = serializers.CharField()


# --- Models ---------------------------------------------------------------------------------------


class ModelListApi(APIView):
    """Registered models, newest first; filter by name (contains), risk_level, owner, tag=key:value."""

    permission_classes = [READ_ROLES]
    pagination_class = CursorPagination

    class ModelListFilterSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(required=False, max_length=200)
        risk_level = serializers.ChoiceField(
            choices=RiskLevel.choices, required=False, error_messages=RISK_LEVEL_ERRORS
        )
        owner = serializers.CharField(required=False, max_length=150)
        tag = serializers.ListField(
            child=serializers.RegexField(
                r"^[^:]+:.*$", error_messages={"invalid": "write a tag as key:value"}
            ),
            required=False,
        )
        archived = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(parameters=[ModelListFilterSerializer], responses=CatalogModelOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = _valid(self.ModelListFilterSerializer, request.query_params)
        tags = [tuple(item.split(":", 1)) for item in filters.pop("tag", [])]
        rows = selectors.model_list(tags=tags, **filters)
        return _paginated(request, self, rows, CatalogModelOutputSerializer)


class ModelCreateApi(APIView):
    """Register a model; the caller owns it."""

    permission_classes = [WRITE_ROLES]

    class ModelCreateInputSerializer(serializers.Serializer[Any]):
        name = serializers.SlugField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        intended_use = serializers.CharField(required=False, allow_blank=True, default="")
        risk_level = serializers.ChoiceField(
            choices=RiskLevel.choices, default=RiskLevel.MINIMAL, error_messages=RISK_LEVEL_ERRORS
        )
        tags = serializers.DictField(
            child=serializers.CharField(allow_blank=True), required=False, default=dict
        )

    @extend_schema(request=ModelCreateInputSerializer, responses={201: CatalogModelOutputSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(self.ModelCreateInputSerializer, request.data)
        model = services.model_create(actor=actor_from_request(request), **data)
        return Response(CatalogModelOutputSerializer(model).data, status=status.HTTP_201_CREATED)


class ModelCollectionApi(ModelListApi, ModelCreateApi, _SharedPath):
    read_operation = ModelListApi
    write_operation = ModelCreateApi


class ModelDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogModelOutputSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(CatalogModelOutputSerializer(selectors.model_get(name=name)).data)


class ModelUpdateApi(APIView):
    """Change description, intended_use or tags (data scientists, pipelines), or reclassify risk_level
    with a reason (compliance officers only: 403 ``risk_level_officer_only`` for anyone else); audited."""

    permission_classes = [roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER)]

    class ModelUpdateInputSerializer(serializers.Serializer[Any]):
        description = serializers.CharField(required=False, allow_blank=True)
        intended_use = serializers.CharField(required=False, allow_blank=True)
        risk_level = serializers.ChoiceField(
            choices=RiskLevel.choices, required=False, error_messages=RISK_LEVEL_ERRORS
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
        tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)

    @extend_schema(request=ModelUpdateInputSerializer, responses=CatalogModelOutputSerializer)
    def patch(self, request: Request, name: str) -> Response:
        unknown = sorted(set(request.data) - set(self.ModelUpdateInputSerializer().fields))
        if unknown:
            raise ValidationFailed(
                f"{', '.join(unknown)}: not changeable here; "
                "send only description, intended_use, risk_level (with reason) or tags"
            )
        changes = _valid(self.ModelUpdateInputSerializer, request.data)
        reason = changes.pop("reason")
        if set(changes) - {"risk_level"} and not user_roles(request.user) & WRITE_ROLE_NAMES:
            raise PermissionRefused("a compliance officer changes only a model's risk_level here")
        model = selectors.model_get(name=name)
        model = services.model_update(
            actor=actor_from_request(request), model=model, changes=changes, reason=reason
        )
        return Response(CatalogModelOutputSerializer(model).data)


class ModelResourceApi(ModelDetailApi, ModelUpdateApi, _SharedPath):
    read_operation = ModelDetailApi
    write_operation = ModelUpdateApi


class ModelArchiveApi(APIView):
    """Archive a model (it is never deleted); audited."""

    permission_classes = [WRITE_ROLES]

    @extend_schema(request=None, responses=CatalogModelOutputSerializer)
    def post(self, request: Request, name: str) -> Response:
        model = services.model_archive(
            actor=actor_from_request(request), model=selectors.model_get(name=name)
        )
        return Response(CatalogModelOutputSerializer(model).data)


# --- Model versions -------------------------------------------------------------------------------


class ModelVersionListApi(APIView):
    permission_classes = [READ_ROLES]
    pagination_class = CursorPagination

    @extend_schema(responses=CatalogModelVersionOutputSerializer(many=True))
    def get(self, request: Request, name: str) -> Response:
        rows = selectors.model_version_list(model=selectors.model_get(name=name))
        return _paginated(request, self, rows, CatalogModelVersionOutputSerializer, ordering="-version")


class ModelVersionCreateApi(APIView):
    """Add the next version: upload the artifact (multipart field ``artifact``; stored content-addressed,
    verified; an artifact_sha256 sent with it must match) or reference it by artifact_uri +
    artifact_sha256 + artifact_size (unverified)."""

    permission_classes = [WRITE_ROLES]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class ModelVersionCreateInputSerializer(serializers.Serializer[Any]):
        artifact = serializers.FileField(required=False, allow_empty_file=True)
        artifact_uri = serializers.CharField(required=False, max_length=1000, allow_blank=True, default="")
        artifact_sha256 = serializers.CharField(required=False, max_length=64, allow_blank=True, default="")
        artifact_size = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
        framework = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")
        parameters = JsonValueField(kind=dict, required=False, default=dict)
        metrics = JsonValueField(kind=dict, required=False, default=dict)
        input_schema = JsonValueField(kind=list, required=False, default=list)
        run_id = serializers.UUIDField(required=False, allow_null=True, default=None)

    @extend_schema(
        request={
            "multipart/form-data": ModelVersionCreateInputSerializer,
            "application/json": ModelVersionCreateInputSerializer,
        },
        responses={201: CatalogModelVersionOutputSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        data = _valid(self.ModelVersionCreateInputSerializer, request.data)
        model = selectors.model_get(name=name)
        run_id = data.pop("run_id")
        run = _must_exist("run_id", lambda: selectors.run_get(run_id=run_id)) if run_id else None
        artifact = data.pop("artifact", None)
        actor = actor_from_request(request)
        if artifact is not None:
            if data.pop("artifact_size") is not None:
                raise ValidationFailed("artifact_size: leave it out when uploading; the server measures it")
            expected = data.pop("artifact_sha256")
            version = services.model_version_upload(
                actor=actor, model=model, artifact=artifact, expected_sha256=expected, run=run, **data
            )
        else:
            version = services.model_version_create(actor=actor, model=model, run=run, **data)
        version = selectors.model_version_get(model_name=model.name, version=version.version)
        return Response(CatalogModelVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class ModelVersionCollectionApi(ModelVersionListApi, ModelVersionCreateApi, _SharedPath):
    read_operation = ModelVersionListApi
    write_operation = ModelVersionCreateApi


class ModelVersionDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogModelVersionOutputSerializer)
    def get(self, request: Request, name: str, version: str) -> Response:
        row = selectors.model_version_get(model_name=name, version=version)
        return Response(CatalogModelVersionOutputSerializer(row).data)


# --- Datasets -------------------------------------------------------------------------------------


class DatasetListApi(APIView):
    """Datasets, newest first; filter by namespace, name (contains), holds_personal_data."""

    permission_classes = [READ_ROLES]
    pagination_class = CursorPagination

    class DatasetListFilterSerializer(serializers.Serializer[Any]):
        namespace = serializers.CharField(required=False, max_length=200)
        name = serializers.CharField(required=False, max_length=300)
        holds_personal_data = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[DatasetListFilterSerializer], responses=CatalogDatasetOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        filters = _valid(self.DatasetListFilterSerializer, request.query_params)
        return _paginated(request, self, selectors.dataset_list(**filters), CatalogDatasetOutputSerializer)


class DatasetCreateApi(APIView):
    """Register a dataset: what personal data it holds (fideslang categories), where, and why."""

    permission_classes = [WRITE_ROLES]

    class DatasetCreateInputSerializer(serializers.Serializer[Any]):
        namespace = serializers.CharField(max_length=200, default="default")
        name = serializers.CharField(max_length=300)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        holds_personal_data = serializers.BooleanField(default=False)
        subject_id_column = serializers.CharField(
            max_length=200, required=False, allow_blank=True, default=""
        )
        jurisdictions = serializers.ListField(
            child=serializers.ChoiceField(choices=Jurisdiction.choices, error_messages=JURISDICTION_ERRORS),
            required=False,
            default=list,
        )
        data_categories = serializers.ListField(
            child=serializers.CharField(max_length=200), required=False, default=list
        )
        purposes = serializers.ListField(
            child=serializers.CharField(max_length=200), required=False, default=list
        )

    @extend_schema(request=DatasetCreateInputSerializer, responses={201: CatalogDatasetOutputSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(self.DatasetCreateInputSerializer, request.data)
        dataset = dataset_create(actor=actor_from_request(request), **data)
        return Response(CatalogDatasetOutputSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetCollectionApi(DatasetListApi, DatasetCreateApi, _SharedPath):
    read_operation = DatasetListApi
    write_operation = DatasetCreateApi


def _namespace(request: Request) -> str:
    return request.query_params.get("namespace") or "default"


class DatasetDetailApi(APIView):
    """One dataset by name; ``?namespace=`` (default "default")."""

    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogDatasetOutputSerializer)
    def get(self, request: Request, name: str) -> Response:
        dataset = selectors.dataset_get(namespace=_namespace(request), name=name)
        return Response(CatalogDatasetOutputSerializer(dataset).data)


class DatasetVersionListApi(APIView):
    permission_classes = [READ_ROLES]
    pagination_class = CursorPagination

    @extend_schema(responses=CatalogDatasetVersionOutputSerializer(many=True))
    def get(self, request: Request, name: str) -> Response:
        dataset = selectors.dataset_get(namespace=_namespace(request), name=name)
        rows = selectors.dataset_version_list(dataset=dataset)
        return _paginated(request, self, rows, CatalogDatasetVersionOutputSerializer)


class DatasetVersionCreateApi(APIView):
    """Add a version: upload a CSV or Parquet file (multipart field ``file``; its schema, row count and
    keyed data-subject hashes are read from it) or reference one by uri + sha256."""

    permission_classes = [WRITE_ROLES]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class DatasetVersionCreateInputSerializer(serializers.Serializer[Any]):
        file = serializers.FileField(required=False, allow_empty_file=True)
        file_format = serializers.ChoiceField(
            choices=["csv", "parquet"], required=False, allow_blank=True, default=""
        )
        version = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        uri = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
        sha256 = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
        size = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        row_count = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        schema = JsonValueField(kind=list, required=False, default=list)

    @extend_schema(
        request={
            "multipart/form-data": DatasetVersionCreateInputSerializer,
            "application/json": DatasetVersionCreateInputSerializer,
        },
        responses={201: CatalogDatasetVersionOutputSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        data = _valid(self.DatasetVersionCreateInputSerializer, request.data)
        dataset = selectors.dataset_get(namespace=_namespace(request), name=name)
        actor = actor_from_request(request)
        upload = data.pop("file", None)
        if upload is not None:
            given = sorted(key for key in ("uri", "sha256", "size", "row_count", "schema") if data[key])
            if given:
                raise ValidationFailed(
                    f"{', '.join(given)}: leave out when uploading; the server reads the file"
                )
            row = dataset_version_upload(
                actor=actor,
                dataset=dataset,
                upload=upload,
                version=data["version"],
                file_format=data["file_format"],
            )
        else:
            # A referenced file is not read here, so its data subjects stay unknown (subject_count null).
            row = dataset_version_create(actor=actor, dataset=dataset, **data)
        row = selectors.dataset_version_get(dataset=dataset, version=row.version)
        return Response(CatalogDatasetVersionOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class DatasetVersionCollectionApi(DatasetVersionListApi, DatasetVersionCreateApi, _SharedPath):
    read_operation = DatasetVersionListApi
    write_operation = DatasetVersionCreateApi


class DatasetVersionDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogDatasetVersionOutputSerializer)
    def get(self, request: Request, name: str, version: str) -> Response:
        dataset = selectors.dataset_get(namespace=_namespace(request), name=name)
        row = selectors.dataset_version_get(dataset=dataset, version=version)
        return Response(CatalogDatasetVersionOutputSerializer(row).data)


# --- Runs -----------------------------------------------------------------------------------------


class RunListApi(APIView):
    permission_classes = [READ_ROLES]
    pagination_class = CursorPagination

    class RunListFilterSerializer(serializers.Serializer[Any]):
        job_namespace = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")
        job_name = serializers.CharField(required=False, max_length=300, allow_blank=True, default="")

    @extend_schema(parameters=[RunListFilterSerializer], responses=CatalogRunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = _valid(self.RunListFilterSerializer, request.query_params)
        return _paginated(request, self, selectors.run_list(**filters), CatalogRunOutputSerializer)


class RunCreateApi(APIView):
    """Record a training run: its job (upserted), the dataset versions it read, parameters, metrics."""

    permission_classes = [WRITE_ROLES]

    class RunCreateInputSerializer(serializers.Serializer[Any]):
        run_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        job_namespace = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        job_name = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        inputs = CatalogDatasetVersionRefSerializer(many=True, required=False, default=list)
        parameters = serializers.DictField(required=False, default=dict)
        metrics = serializers.DictField(required=False, default=dict)
        code_version = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        environment = serializers.DictField(required=False, default=dict)
        started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(request=RunCreateInputSerializer, responses={201: CatalogRunOutputSerializer})
    def post(self, request: Request) -> Response:
        data = _valid(self.RunCreateInputSerializer, request.data)
        data["inputs"] = [dict(ref) for ref in data["inputs"]]
        run = services.run_create(actor=actor_from_request(request), **data)
        return Response(
            CatalogRunOutputSerializer(selectors.run_get(run_id=run.run_id)).data,
            status=status.HTTP_201_CREATED,
        )


class RunCollectionApi(RunListApi, RunCreateApi, _SharedPath):
    read_operation = RunListApi
    write_operation = RunCreateApi


class RunDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogRunOutputSerializer)
    def get(self, request: Request, run_id: str) -> Response:
        return Response(CatalogRunOutputSerializer(selectors.run_get(run_id=run_id)).data)


# --- Deployments ----------------------------------------------------------------------------------


class DeploymentListApi(APIView):
    """Deployments, latest first; filter by environment, model and serving (still open)."""

    permission_classes = [READ_ROLES]
    pagination_class = CursorPagination

    class DeploymentListFilterSerializer(serializers.Serializer[Any]):
        environment = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")
        model = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")
        serving = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[DeploymentListFilterSerializer], responses=CatalogDeploymentOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        filters = _valid(self.DeploymentListFilterSerializer, request.query_params)
        rows = selectors.deployment_list(**filters)
        return _paginated(request, self, rows, CatalogDeploymentOutputSerializer, ordering="-deployed_at")


class DeploymentCreateApi(APIView):
    """Record a deployment made outside this service, under the approved deploy ``release`` for this
    version and environment (its grant is used up, as a deploy job would). Without one: 409 saying why.
    Deploys made here go through ``POST /api/v1/releases/<id>/run``."""

    permission_classes = [WRITE_ROLES]

    class DeploymentCreateInputSerializer(serializers.Serializer[Any]):
        model = serializers.CharField(max_length=200)
        version = serializers.IntegerField(min_value=1)
        environment = serializers.CharField(max_length=100)
        endpoint = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        release = serializers.IntegerField(
            min_value=1,
            help_text="the approved deploy request (POST /api/v1/releases) this deployment carries out",
        )

    @extend_schema(
        request=DeploymentCreateInputSerializer, responses={201: CatalogDeploymentOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        from governance.approvals.selectors import release_get
        from governance.jobs.external import deployment_record_approved

        data = _valid(self.DeploymentCreateInputSerializer, request.data)
        model_version = _must_exist(
            "model", lambda: selectors.model_version_get(model_name=data["model"], version=data["version"])
        )
        deployment = deployment_record_approved(
            actor=actor_from_request(request),
            release=release_get(pk=data["release"]),
            model_version=model_version,
            environment=data["environment"],
            endpoint=data["endpoint"],
        )
        row = selectors.deployment_get(pk=deployment.pk)
        return Response(CatalogDeploymentOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class DeploymentCollectionApi(DeploymentListApi, DeploymentCreateApi, _SharedPath):
    read_operation = DeploymentListApi
    write_operation = DeploymentCreateApi


class DeploymentDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogDeploymentOutputSerializer)
    def get(self, request: Request, deployment_id: str) -> Response:
        return Response(CatalogDeploymentOutputSerializer(selectors.deployment_get(pk=deployment_id)).data)


class DeploymentEndApi(APIView):
    """Take a deployment out of service (it stays in the history); audited."""

    permission_classes = [WRITE_ROLES]

    @extend_schema(request=None, responses=CatalogDeploymentOutputSerializer)
    def post(self, request: Request, deployment_id: str) -> Response:
        deployment = deployment_end(
            actor=actor_from_request(request), deployment=selectors.deployment_get(pk=deployment_id)
        )
        return Response(CatalogDeploymentOutputSerializer(deployment).data)


class DeploymentAtApi(APIView):
    """Which model version(s) served ``environment`` at ``time`` (of one ``model`` if given); 404 if none."""

    permission_classes = [READ_ROLES]

    class DeploymentAtQuerySerializer(serializers.Serializer[Any]):
        environment = serializers.CharField(max_length=100)
        time = serializers.DateTimeField()
        model = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")

    class DeploymentAtOutputSerializer(serializers.Serializer[Any]):
        environment = serializers.CharField()
        time = serializers.DateTimeField()
        results = CatalogDeploymentOutputSerializer(many=True)

    @extend_schema(parameters=[DeploymentAtQuerySerializer], responses=DeploymentAtOutputSerializer)
    def get(self, request: Request) -> Response:
        query = _valid(self.DeploymentAtQuerySerializer, request.query_params)
        serving = selectors.deployment_at(
            environment=query["environment"], at=query["time"], model=query["model"] or None
        )
        if not serving:
            who = f"no version of model {query['model']!r}" if query["model"] else "no model version"
            raise NotFound(f"{who} served {query['environment']!r} at {query['time'].isoformat()}")
        body = {"environment": query["environment"], "time": query["time"], "results": serving}
        return Response(self.DeploymentAtOutputSerializer(body).data)
