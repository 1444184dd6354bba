"""``/api/v1/datasets/<name>/columns``: the dataset registry's fideslang categories per column, which
reports use to flag the personal and sensitive input columns behind a model (``?namespace=``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.api import MethodRoles, valid
from registry.apis.common import READERS, UPDATERS
from registry.apis.datasets import dataset_namespace
from registry.models import Dataset
from registry.models_columns import ColumnCategory
from registry.selectors import catalog as selectors
from registry.services.columns import column_categories_declare


class DatasetColumnsOutputSerializer(serializers.Serializer[Any]):
    dataset = serializers.CharField()
    columns = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


NAMESPACE = OpenApiParameter("namespace", str, description='the dataset\'s namespace (default "default")')


def _declared(dataset: Dataset) -> dict[str, Any]:
    rows = ColumnCategory.objects.filter(dataset=dataset).order_by("column")
    return {"dataset": str(dataset), "columns": {row.column: row.data_categories for row in rows}}


class DatasetColumnsApi(APIView):
    """GET: The fideslang categories declared for the dataset's columns.

    PUT: Declare columns' categories (``{"columns": {"email": ["user.contact.email"]}}``): each column
    named gets exactly the categories given (``[]`` clears it); columns not named keep theirs. The
    dataset's ``data_categories`` take in new keys. Audited (``dataset.update``). Data scientists,
    pipelines and compliance officers."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "PUT": UPDATERS}

    class DeclareInputSerializer(serializers.Serializer[Any]):
        columns = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField(max_length=200), max_length=50),
            allow_empty=False,
        )

    @extend_schema(
        parameters=[NAMESPACE],
        responses=DatasetColumnsOutputSerializer,
        operation_id="v1_datasets_columns_retrieve",
    )
    def get(self, request: Request, name: str) -> Response:
        dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
        return Response(DatasetColumnsOutputSerializer(_declared(dataset)).data)

    @extend_schema(
        request=DeclareInputSerializer,
        parameters=[NAMESPACE],
        responses=DatasetColumnsOutputSerializer,
        operation_id="v1_datasets_columns_update",
    )
    def put(self, request: Request, name: str) -> Response:
        data = valid(self.DeclareInputSerializer, request.data)
        dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
        column_categories_declare(actor=actor_from_request(request), dataset=dataset, columns=data["columns"])
        return Response(DatasetColumnsOutputSerializer(_declared(dataset)).data)
