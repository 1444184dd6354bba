"""Datasets and dataset versions: list, register, read, add a version (upload or reference)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.api import MethodRoles, paginated, valid
from governance.core.errors import ValidationFailed
from governance.core.json_parser import LimitedJSONParser
from governance.core.pagination import CursorPagination
from governance.core.schema import paged
from governance.core.uploads import upload_handler_install, upload_limit
from registry.apis.common import (
    JURISDICTION_ERRORS,
    READ_ROLES,
    READERS,
    UPDATERS,
    WRITERS,
    CatalogDatasetOutputSerializer,
    CatalogDatasetVersionOutputSerializer,
    JsonValueField,
)
from registry.models import (
    Dataset,
    DatasetVersion,
    Jurisdiction,
)
from registry.models_quality import QualityProfile
from registry.selectors import catalog as selectors
from registry.selectors.quality import dataset_versions_with_profiles
from registry.services.datasets import (
    dataset_create,
    dataset_declarations_update,
    dataset_version_create,
    dataset_version_upload,
)


class DatasetOutputSerializer(CatalogDatasetOutputSerializer):
    """A dataset with its declarations for the quality profile and the bias examination."""

    target_column = serializers.CharField()
    declared_schema = serializers.JSONField()
    protected_attributes = serializers.JSONField()


class QualityProfileOutputSerializer(serializers.Serializer[QualityProfile]):
    sha256 = serializers.CharField()
    computed_at = serializers.DateTimeField()
    profile = serializers.JSONField()


class DatasetVersionOutputSerializer(CatalogDatasetVersionOutputSerializer):
    """A dataset version with its quality profile (null: registered without its file)."""

    quality_profile = serializers.SerializerMethodField()

    @extend_schema_field(QualityProfileOutputSerializer(allow_null=True))
    def get_quality_profile(self, obj: DatasetVersion) -> dict[str, Any] | None:
        try:
            profile = obj.quality_profile
        except QualityProfile.DoesNotExist:
            return None
        return dict(QualityProfileOutputSerializer(profile).data)


def _declarations(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data.pop(key) for key in DECLARATIONS if key in data}


DECLARATIONS = ("target_column", "declared_schema", "protected_attributes")


class DatasetCollectionApi(APIView):
    """GET: Datasets, newest first; filter by namespace, name (contains), holds_personal_data.

    POST: Register a dataset: what personal data it holds (fideslang categories), where, and why."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "POST": WRITERS}

    pagination_class = CursorPagination

    class DatasetListFilterSerializer(serializers.Serializer[Any]):
        namespace = serializers.CharField(required=False, max_length=200)
        name = serializers.CharField(required=False, max_length=300)
        holds_personal_data = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[DatasetListFilterSerializer],
        responses=paged(DatasetOutputSerializer),
        operation_id="v1_datasets_list",
    )
    def get(self, request: Request) -> Response:
        filters = valid(self.DatasetListFilterSerializer, request.query_params)
        return paginated(request, selectors.dataset_list(**filters), DatasetOutputSerializer, view=self)

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
        target_column = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        declared_schema = JsonValueField(kind=list, required=False, default=list)
        protected_attributes = JsonValueField(kind=list, required=False, default=list)

    @extend_schema(request=DatasetCreateInputSerializer, responses={201: DatasetOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid(self.DatasetCreateInputSerializer, request.data)
        dataset = dataset_create(actor=actor_from_request(request), **data)
        return Response(DatasetOutputSerializer(dataset).data, status=status.HTTP_201_CREATED)


def dataset_namespace(request: Request) -> str:
    return request.query_params.get("namespace") or "default"


class DatasetDetailApi(APIView):
    """GET: One dataset by name; ``?namespace=`` (default "default").

    PATCH: Change its declarations for the quality profile and the bias examination (``target_column``,
    ``declared_schema``, ``protected_attributes``); versions stored later are profiled under them.
    Audited (``dataset.update``). Data scientists, pipelines and compliance officers."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "PATCH": UPDATERS}

    class DeclareInputSerializer(serializers.Serializer[Any]):
        target_column = serializers.CharField(max_length=200, required=False, allow_blank=True)
        declared_schema = JsonValueField(kind=list, required=False)
        protected_attributes = JsonValueField(kind=list, required=False)

    @extend_schema(responses=DatasetOutputSerializer)
    def get(self, request: Request, name: str) -> Response:
        dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
        return Response(DatasetOutputSerializer(dataset).data)

    @extend_schema(request=DeclareInputSerializer, responses=DatasetOutputSerializer)
    def patch(self, request: Request, name: str) -> Response:
        data = valid(self.DeclareInputSerializer, request.data)
        dataset: Dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
        changed = dataset_declarations_update(
            actor=actor_from_request(request), dataset=dataset, **_declarations(data)
        )
        return Response(DatasetOutputSerializer(changed).data)


class DatasetVersionCollectionApi(APIView):
    """POST: Add a version: upload a CSV or Parquet file (multipart field ``file``; its schema, row count and
    keyed data-subject hashes are read from it) or reference one by uri + sha256."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "POST": WRITERS}

    pagination_class = CursorPagination

    @extend_schema(responses=paged(DatasetVersionOutputSerializer), operation_id="v1_datasets_versions_list")
    def get(self, request: Request, name: str) -> Response:
        dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
        rows = dataset_versions_with_profiles(selectors.dataset_version_list(dataset=dataset))
        return paginated(request, rows, DatasetVersionOutputSerializer, view=self)

    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST":  # before authentication: a session's CSRF check reads the body
            upload_handler_install(request, "MAX_DATASET_UPLOAD_BYTES")
        super().initial(request, *args, **kwargs)

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
        responses={201: DatasetVersionOutputSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        upload_limit(request, "MAX_DATASET_UPLOAD_BYTES")
        data = valid(self.DatasetVersionCreateInputSerializer, request.data)
        dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
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
        return Response(DatasetVersionOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class DatasetVersionDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=DatasetVersionOutputSerializer)
    def get(self, request: Request, name: str, version: str) -> Response:
        dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
        row = selectors.dataset_version_get(dataset=dataset, version=version)
        return Response(DatasetVersionOutputSerializer(row).data)
