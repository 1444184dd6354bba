"""Archiving instead of deleting: nothing an approval or a lineage edge points to ever disappears."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from registry.apis.common import (
    WRITE_ROLES,
    CatalogDatasetOutputSerializer,
    CatalogModelVersionOutputSerializer,
)
from registry.apis.datasets import dataset_namespace
from registry.selectors import catalog as selectors
from registry.services.datasets import dataset_archive
from registry.services.model_versions import model_version_archive


class ModelVersionArchiveApi(APIView):
    """Archive a model version; audited. Data scientists and pipelines."""

    permission_classes = [WRITE_ROLES]

    @extend_schema(request=None, responses=CatalogModelVersionOutputSerializer)
    def post(self, request: Request, name: str, version: str) -> Response:
        row = selectors.model_version_get(model_name=name, version=version)
        archived = model_version_archive(actor=actor_from_request(request), version=row)
        return Response(CatalogModelVersionOutputSerializer(archived).data)


class DatasetArchiveApi(APIView):
    """Archive a dataset (``?namespace=``, default "default"); audited. Data scientists and pipelines."""

    permission_classes = [WRITE_ROLES]

    @extend_schema(request=None, responses=CatalogDatasetOutputSerializer)
    def post(self, request: Request, name: str) -> Response:
        dataset = selectors.dataset_get(namespace=dataset_namespace(request), name=name)
        archived = dataset_archive(actor=actor_from_request(request), dataset=dataset)
        return Response(CatalogDatasetOutputSerializer(archived).data)
