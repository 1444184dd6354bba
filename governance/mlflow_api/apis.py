"""MLflow's Model Registry REST API 2.0 under ``/api/2.0/mlflow/``, as mlflow-skinny 3.x's client calls it.

GET parameters come as a query string (lists as repeated keys), the other methods' as a JSON body
(DELETE included). Errors are MLflow's ``{"error_code", "message"}`` with MLflow's status for each code
(``errors.py``), never a 5xx for a refusal, since the client retries those. Data scientists and
pipelines write; compliance officers and auditors read. Every change is one audit entry (by the registry's
services), and so is every governance refusal (``mlflow.refuse``); reads of registry metadata are
access-log lines naming what was read (``governance.core.access_log``), not signed audit entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.access_log import access_note
from governance.core.api import MethodRoles
from governance.core.errors import ValidationFailed
from governance.core.json_parser import LimitedJSONParser
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from governance.mlflow_api import errors, filters, render, selectors, services, version_reads
from governance.mlflow_api.guards import alias_check, stage_check, version_delete_check
from registry.models import ModelVersion, RegisteredModel
from registry.services import catalog
from registry.services.aliases import alias_move, alias_remove

READERS = (Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
WRITERS = (Role.DATA_SCIENTIST, Role.PIPELINE)
READ_ROLES = roles_allowed(*READERS)
WRITE_ROLES = roles_allowed(*WRITERS)


@extend_schema(exclude=True)  # MLflow's own API, documented by MLflow; kept out of our OpenAPI schema
class MlflowApi(APIView):
    """Base: MLflow's error shape, parameters from the query (GET) or the JSON body, logged reads."""

    permission_classes = [WRITE_ROLES]
    parser_classes = [LimitedJSONParser]  # MLflow's client sends JSON bodies only
    endpoint: ClassVar[str] = ""
    list_params: ClassVar[tuple[str, ...]] = ("order_by", "stages")

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return errors.mlflow_exception_handler

    def params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            query = request.query_params
            return {key: query.getlist(key) if key in self.list_params else query.get(key) for key in query}
        return dict(request.data) if isinstance(request.data, dict) else {}

    def required(self, params: dict[str, Any], *names: str) -> list[str]:
        values = []
        for name in names:
            value = params.get(name)
            if value in (None, ""):
                raise ValidationFailed(f"Missing value for required parameter '{name}'.")
            values.append(str(value))
        return values

    def version(self, params: dict[str, Any]) -> ModelVersion:
        """The version named by ``name`` and ``version``."""
        name, number = self.required(params, "name", "version")
        return selectors.mlflow_version_get(name=name, version=number)

    def read(self, request: Request, target: str, params: dict[str, Any]) -> None:
        """Name what this call reads in its access-log line (registry metadata: no audit entry)."""
        access_note(request, f"mlflow:{self.endpoint}:{target}")


class ReadApi(MlflowApi):
    permission_classes = [READ_ROLES]


def _tags(raw: Any) -> dict[str, str]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, list) or not all(isinstance(tag, dict) and "key" in tag for tag in raw):
        raise ValidationFailed("tags: a list of {key, value}")
    return {str(tag["key"]): str(tag.get("value", "")) for tag in raw}


# --- Registered models -----------------------------------------------------------------------------------


class ModelCreateApi(MlflowApi):
    endpoint = "registered-models/create"

    def post(self, request: Request) -> Response:
        params = self.params(request)
        (name,) = self.required(params, "name")
        errors.check_model_name(name)
        if RegisteredModel.objects.filter(name=name).exists():
            raise errors.MlflowError(
                "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists."
            )
        catalog.model_create(
            actor=actor_from_request(request),
            name=name,
            description=str(params.get("description") or ""),
            tags=_tags(params.get("tags")),
        )
        return Response({"registered_model": render.model_json(selectors.mlflow_model_get(name=name))})


class ModelGetApi(ReadApi):
    endpoint = "registered-models/get"

    def get(self, request: Request) -> Response:
        params = self.params(request)
        (name,) = self.required(params, "name")
        self.read(request, f"model:{name}", params)
        return Response({"registered_model": render.model_json(selectors.mlflow_model_get(name=name))})


def _page(rows: Sequence[Any], more: bool, offset: int, key: str, shape: Callable[[Any], Any]) -> Response:
    body: dict[str, Any] = {key: [shape(row) for row in rows]} if rows else {}
    if more:
        body["next_page_token"] = filters.page_token_encode(offset + len(rows))
    return Response(body)


class ModelSearchApi(ReadApi):
    endpoint = "registered-models/search"

    def get(self, request: Request) -> Response:
        params = self.params(request)
        self.read(request, "registered-models", params)
        offset = filters.page_token_decode(params.get("page_token"))
        rows, more = selectors.mlflow_model_search(
            clauses=filters.filter_parse(
                params.get("filter"), allowed=("name",), max_length=settings.MAX_FILTER_LENGTH
            ),
            order=filters.order_by_parse(
                params.get("order_by"),
                allowed=("name", "creation_timestamp", "last_updated_timestamp"),
            ),
            offset=offset,
            limit=filters.max_results_check(params.get("max_results"), default=100, limit=1000),
        )
        return _page(rows, more, offset, "registered_models", render.model_json)


class ModelUpdateApi(MlflowApi):
    endpoint = "registered-models/update"

    def patch(self, request: Request) -> Response:
        params = self.params(request)
        (name,) = self.required(params, "name")
        model = selectors.mlflow_model_row(name=name)
        if params.get("description") is not None:
            changes = {"description": str(params["description"])}
            catalog.model_update(actor=actor_from_request(request), model=model, changes=changes)
        return Response({"registered_model": render.model_json(selectors.mlflow_model_get(name=name))})


class ModelRenameApi(MlflowApi):
    endpoint = "registered-models/rename"

    def post(self, request: Request) -> Response:
        params = self.params(request)
        name, new_name = self.required(params, "name", "new_name")
        selectors.mlflow_model_row(name=name)
        raise errors.MlflowError(
            "PERMISSION_DENIED",
            f"model {name!r} cannot be renamed: its lineage node ids (model:{name}#<version>), audit "
            f"entries and release approvals name it. Register {new_name!r} as a new model instead.",
        )


class ModelDeleteApi(MlflowApi):
    endpoint = "registered-models/delete"

    def delete(self, request: Request) -> Response:
        (name,) = self.required(self.params(request), "name")
        model = selectors.mlflow_model_row(name=name)
        for row in model.aliases.all():
            alias_check(
                request, self.endpoint, model=model, alias=row.alias, version=row.version, deleting=True
            )
        catalog.model_archive(actor=actor_from_request(request), model=model)
        return Response({})


class ModelTagSetApi(MlflowApi):
    endpoint = "registered-models/set-tag"

    def post(self, request: Request) -> Response:
        params = self.params(request)
        name, key = self.required(params, "name", "key")
        model = selectors.mlflow_model_row(name=name)
        tags = {**model.tags, key: str(params.get("value") or "")}
        catalog.model_update(actor=actor_from_request(request), model=model, changes={"tags": tags})
        return Response({})


class ModelTagDeleteApi(MlflowApi):
    endpoint = "registered-models/delete-tag"

    def delete(self, request: Request) -> Response:
        name, key = self.required(self.params(request), "name", "key")
        model = selectors.mlflow_model_row(name=name)
        tags = {tag: value for tag, value in model.tags.items() if tag != key}
        catalog.model_update(actor=actor_from_request(request), model=model, changes={"tags": tags})
        return Response({})


class AliasApi(MlflowApi):
    """POST sets, GET reads (the version it names), DELETE removes; governed aliases are refused."""

    endpoint = "registered-models/alias"
    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "POST": WRITERS, "DELETE": WRITERS}

    def get(self, request: Request) -> Response:
        params = self.params(request)
        name, alias = self.required(params, "name", "alias")
        self.read(request, f"model:{name}", params)
        version = selectors.mlflow_version_by_alias(name=name, alias=alias)
        return Response({"model_version": render.version_json(version)})

    def post(self, request: Request) -> Response:
        name, alias, number = self.required(self.params(request), "name", "alias", "version")
        version = selectors.mlflow_version_get(name=name, version=number)
        errors.check_alias_name(alias)
        alias_check(request, self.endpoint, model=version.model, alias=alias, version=version)
        alias_move(actor=actor_from_request(request), model_version=version, alias=alias)
        return Response({})

    def delete(self, request: Request) -> Response:
        name, alias = self.required(self.params(request), "name", "alias")
        model = selectors.mlflow_model_row(name=name)
        current = model.aliases.filter(alias=alias).select_related("version").first()
        if current is not None:
            alias_check(
                request, self.endpoint, model=model, alias=alias, version=current.version, deleting=True
            )
            alias_remove(actor=actor_from_request(request), model=model, alias=alias)
        return Response({})


class LatestVersionsApi(ReadApi):
    endpoint = "registered-models/get-latest-versions"

    def get(self, request: Request) -> Response:
        params = self.params(request)
        (name,) = self.required(params, "name")
        self.read(request, f"model:{name}", params)
        model = selectors.mlflow_model_get(name=name)
        stages = params.get("stages") or None
        latest = render.latest_per_stage(list(getattr(model, "live_versions", [])), stages)
        return Response({"model_versions": [render.version_json(v) for v in latest]} if latest else {})

    def post(self, request: Request) -> Response:
        return self.get(request)


# --- Model versions -------------------------------------------------------------------------------------


class VersionCreateApi(MlflowApi):
    endpoint = "model-versions/create"

    def post(self, request: Request) -> Response:
        params = self.params(request)
        name, source = self.required(params, "name", "source")
        model = selectors.mlflow_model_row(name=name)
        version = services.mlflow_version_create(
            actor=actor_from_request(request),
            model=model,
            source=source,
            run_id=str(params.get("run_id") or ""),
            run_link=str(params.get("run_link") or ""),
            description=str(params.get("description") or ""),
            tags=_tags(params.get("tags")),
        )
        # Rendered from what was just written (its model, run and MLflow row are on it): a new version
        # has no alias yet, so nothing is read back.
        return Response({"model_version": render.version_json(version, aliases=[])})


class VersionGetApi(ReadApi):
    endpoint = "model-versions/get"

    def get(self, request: Request) -> Response:
        params = self.params(request)
        self.read(request, f"model:{params.get('name')}#{params.get('version')}", params)
        name, number = self.required(params, "name", "version")
        version, aliases = version_reads.mlflow_version_with_aliases(name=name, version=number)
        return Response({"model_version": render.version_json(version, aliases=aliases)})


class VersionSearchApi(ReadApi):
    endpoint = "model-versions/search"

    def get(self, request: Request) -> Response:
        params = self.params(request)
        self.read(request, "model-versions", params)
        offset = filters.page_token_decode(params.get("page_token"))
        rows, more = selectors.mlflow_version_search(
            clauses=filters.filter_parse(params.get("filter"), max_length=settings.MAX_FILTER_LENGTH),
            order=filters.order_by_parse(
                params.get("order_by"),
                allowed=("name", "version_number", "creation_timestamp", "last_updated_timestamp"),
            ),
            offset=offset,
            limit=filters.max_results_check(params.get("max_results"), default=10_000, limit=200_000),
        )
        return _page(rows, more, offset, "model_versions", render.version_json)


class VersionDownloadUriApi(ReadApi):
    endpoint = "model-versions/get-download-uri"

    def get(self, request: Request) -> Response:
        params = self.params(request)
        self.read(request, f"model:{params.get('name')}#{params.get('version')}", params)
        return Response({"artifact_uri": self.version(params).artifact_uri})


class VersionUpdateApi(MlflowApi):
    endpoint = "model-versions/update"

    def patch(self, request: Request) -> Response:
        params = self.params(request)
        version = self.version(params)
        if params.get("description") is not None:
            services.mlflow_version_update(
                actor=actor_from_request(request), version=version, description=str(params["description"])
            )
        return Response({"model_version": render.version_json(self.version(params))})


class VersionDeleteApi(MlflowApi):
    endpoint = "model-versions/delete"

    def delete(self, request: Request) -> Response:
        version = self.version(self.params(request))
        version_delete_check(request, self.endpoint, version)
        catalog.model_version_archive(actor=actor_from_request(request), version=version)
        return Response({})


class VersionTagSetApi(MlflowApi):
    endpoint = "model-versions/set-tag"

    def post(self, request: Request) -> Response:
        params = self.params(request)
        version = self.version(params)
        (key,) = self.required(params, "key")
        value = str(params.get("value") or "")
        services.mlflow_version_update(
            actor=actor_from_request(request), version=version, set_tags={key: value}
        )
        return Response({})


class VersionTagDeleteApi(MlflowApi):
    endpoint = "model-versions/delete-tag"

    def delete(self, request: Request) -> Response:
        params = self.params(request)
        version = self.version(params)
        (key,) = self.required(params, "key")
        services.mlflow_version_update(actor=actor_from_request(request), version=version, delete_tags=(key,))
        return Response({})


class VersionStageApi(MlflowApi):
    endpoint = "model-versions/transition-stage"

    def post(self, request: Request) -> Response:
        params = self.params(request)
        version = self.version(params)
        (stage,) = self.required(params, "stage")
        canonical = stage_check(request, self.endpoint, version=version, stage=stage)
        services.mlflow_version_update(actor=actor_from_request(request), version=version, stage=canonical)
        return Response({"model_version": render.version_json(self.version(params))})
