"""What the OpenAPI document says beyond each view's own ``@extend_schema``: cursor pages, the error
answers every operation can give, one tag per app, and links a stateful client follows.

drf-spectacular calls :func:`postprocess` (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) once per
document; :func:`paged` is used in the views' decorators. Both only describe what the code already does
(``governance.core.exceptions`` and ``governance.core.api.paginated``), so a change there is a change here.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from rest_framework import serializers

from governance.core import schema_examples

# The statuses ``governance.core.exceptions.exception_handler`` and the JSON error middleware answer with,
# each with the body every one of them has: {"error": "<stable code>", "detail": "<what is wrong>"}.
ERROR_DESCRIPTIONS: dict[str, str] = {
    "400": "The request is not valid: a field, a query parameter, a cursor or the body itself.",
    "401": "No valid API token (missing, expired, revoked or unknown).",
    "403": "The token's user holds no role this operation admits, or a rule refuses the action.",
    "404": "A row named in the path, the query or the body does not exist.",
    "409": "The action conflicts with the current state (already done, superseded, archived).",
    "413": "The body or an uploaded file is over a configured limit (the limit is named in `detail`).",
    "415": "The body's Content-Type is not one this operation reads.",
    "422": "The deployment's model cannot predict rows that match its own input schema.",
    "423": "Signing is locked for you after repeated wrong passwords; `detail` says until when.",
    "429": "Too many requests for this user or address; `Retry-After` says when to try again.",
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error the API answers with; `error` is a stable code, `detail` says how to fix it.",
    "properties": {
        "error": {"type": "string", "example": "validation_error"},
        "detail": {"type": "string", "example": "name: This field is required."},
        "fields": {"type": "object", "additionalProperties": True, "description": "Per field (400 only)."},
    },
    "required": ["error", "detail"],
    "additionalProperties": True,
}

# Statuses only one operation answers with (its own ApplicationError), by method and path.
_OWN_STATUSES: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/api/v1/releases/{release_id}/signatures"): ("423",),  # approvals.errors.SigningLocked
    ("post", "/api/v1/deployments/{environment}/{model}/predict"): ("422",),  # jobs.serving
    ("post", "/api/v1/deployments"): ("404",),
    # consent.eligibility: a version referenced by uri (or erased) has no rows here to filter
    ("get", "/api/v1/datasets/{name}/versions/{version}/eligibility"): (
        "409",
    ),  # the body's release or model version does not exist
}

_UNSAFE = {"post", "put", "patch", "delete"}
_METHODS = {"get", "head", *_UNSAFE}


@cache
def paged(serializer_class: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The serializer of one cursor page of ``serializer_class`` rows, as ``paginated()`` answers it:
    ``{"next": url|null, "previous": url|null, "results": [...]}``. For ``@extend_schema(responses=...)``.
    """
    base = _base_name(serializer_class)
    fields: dict[str, Any] = {
        "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last one."),
        "previous": serializers.URLField(
            allow_null=True, help_text="The previous page, or null on the first."
        ),
        "results": serializer_class(many=True),
    }
    return type(f"Paginated{base}ListSerializer", (serializers.Serializer,), fields)


@cache
def listed(serializer_class: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The serializer of a whole, unpaged list answered as ``{"results": [...]}`` (short lists: policies,
    a user's tokens, a release's signatures), so a client reads every list the same way."""
    base = _base_name(serializer_class)
    fields: dict[str, Any] = {"results": serializer_class(many=True)}
    return type(f"{base}ListSerializer", (serializers.Serializer,), fields)


def _base_name(serializer_class: type[serializers.Serializer[Any]]) -> str:
    base = serializer_class.__name__.removesuffix("Serializer")
    if base in {"Output", "Input"}:  # nested OutputSerializer classes: name the page after the view
        base = serializer_class.__qualname__.split(".")[0].removesuffix("Api") + base
    return base


def app_tag(module: str) -> str:
    """The app a view's module belongs to: ``governance.approvals.release_apis`` -> ``approvals``,
    ``registry.apis.models`` -> ``registry``, ``audit.apis`` -> ``audit``."""
    parts = module.split(".")
    if parts[0] == "governance" and len(parts) > 2:
        return parts[1]
    return parts[0]


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    has_path = any(p.get("in") == "path" for p in parameters)
    has_query = any(p.get("in") == "query" for p in parameters)
    has_body = "requestBody" in operation
    anonymous = {} in operation.get("security", [{}])
    statuses = ["401", "429", *_OWN_STATUSES.get((method, path), ())]
    if has_query or has_body or method in _UNSAFE:
        statuses.append("400")
    if not anonymous:
        statuses.append("403")
    if has_path or has_query:
        statuses.append("404")
    if method in _UNSAFE:
        statuses.append("409")
    if has_body:
        statuses += ["413", "415"]
    return sorted(statuses)


_PAGE_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The `next` or `previous` link's cursor; an unreadable cursor is a 400.",
        "schema": {"type": "string"},
    },
    {
        "name": "page_size",
        "in": "query",
        "required": False,
        "description": "Rows per page (1 to 1,000).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    },
]


def _add_page_parameters(operation: dict[str, Any]) -> None:
    """``paged()`` responses take the cursor pagination's query parameters."""
    schema = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
    if not schema.get("schema", {}).get("$ref", "").startswith("#/components/schemas/Paginated"):
        return
    parameters = operation.setdefault("parameters", [])
    named = {(p.get("in"), p.get("name")) for p in parameters}
    parameters.extend(p for p in _PAGE_PARAMETERS if ("query", p["name"]) not in named)


def _add_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status in _error_statuses(path, method, operation):
        responses.setdefault(
            status,
            {
                "description": ERROR_DESCRIPTIONS[status],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        )


_PARAM = re.compile(r"{([^}]+)}")


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for status in ("201", "200"):
        schema = (
            operation.get("responses", {}).get(status, {}).get("content", {}).get("application/json", {})
        ).get("schema")
        if schema:
            return status, schema
    return None


def _properties(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return set(schema.get("properties", {}))


def _add_links(paths: dict[str, Any], components: dict[str, Any]) -> None:
    """Link each operation that creates or reads a row to the operations addressed by that row's key:
    ``POST /models`` answers ``{"name": ...}``, so it links to every ``/models/{name}...`` operation.

    A link is added where the response has a property named like the target's path parameter and the
    target path starts with the source path (``/releases`` -> ``/releases/{release_id}/signatures``), or
    the parameter is the response's ``id`` and the target is the collection's own item path.
    """
    for source_path, item in paths.items():
        for method, operation in item.items():
            # Sources: what creates a row (POST) and what reads one (GET on an item path); a list is a
            # page whose rows a link cannot address one by one.
            if not (method == "post" or (method == "get" and _PARAM.search(source_path))):
                continue
            found = _success(operation)
            if found is None:
                continue
            status, schema = found
            names = _properties(schema, components)
            links: dict[str, Any] = {}
            for target_path, target_item in paths.items():
                if target_path == source_path or not target_path.startswith(source_path.rstrip("/") + "/"):
                    continue
                wanted = _PARAM.findall(target_path)
                source_params = set(_PARAM.findall(source_path))
                new = [name for name in wanted if name not in source_params]
                if len(new) != 1:
                    continue
                value = _link_value(new[0], names, source_path)
                if value is None:
                    continue
                parameters = {name: f"$request.path.{name}" for name in source_params}
                parameters[new[0]] = f"$response.body#/{value}"
                for target_method, target in target_item.items():
                    if target_method in _METHODS and "operationId" in target:
                        links[target["operationId"]] = {
                            "operationId": target["operationId"],
                            "parameters": parameters,
                        }
            if links:
                operation["responses"][status].setdefault("links", {}).update(links)


def _link_value(parameter: str, names: set[str], source_path: str) -> str | None:
    """The response property that fills ``parameter``: its namesake, or ``id`` for ``<thing>_id`` when
    the source path's last segment names the thing (``/releases`` for ``release_id``)."""
    if parameter in names:
        return parameter
    stem = parameter.removesuffix("_id")
    last = source_path.rstrip("/").rsplit("/", 1)[-1]
    if parameter.endswith("_id") and "id" in names and stem in last:
        return "id"
    return None


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular's postprocessing hook: errors, tags and links on every operation."""
    modules = {
        (path, method.lower()): callback.cls.__module__
        for path, _regex, method, callback in (getattr(generator, "endpoints", None) or [])
    }
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    paths: dict[str, Any] = result.get("paths", {})
    tags: set[str] = set()
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            module = modules.get((path, method))
            if module is not None:
                operation["tags"] = [app_tag(module)]
            tags.update(operation.get("tags", []))
            _add_page_parameters(operation)
            _add_errors(path, method, operation)
    _add_links(paths, components)
    _add_examples(paths)
    result["tags"] = [{"name": tag} for tag in sorted(tags)]
    return result


def _add_examples(paths: dict[str, Any]) -> None:
    """The request bodies, query parameters and links of :mod:`governance.core.schema_examples`."""
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            operation_id = operation.get("operationId", "")
            given = dict(schema_examples.QUERY_EXAMPLES.get(operation_id, {}))
            if path.startswith("/api/v1/datasets/{name}"):
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("in") == "query" and p["name"] == "namespace" for p in parameters):
                    parameters.append(dict(schema_examples.NAMESPACE_PARAMETER))
                given["namespace"] = schema_examples.NAMESPACE_PARAMETER["example"]
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter["name"] in given:
                    parameter["example"] = given[parameter["name"]]
            if operation_id in schema_examples.REQUEST_EXAMPLES:
                media, body = schema_examples.REQUEST_EXAMPLES[operation_id]
                content = operation.get("requestBody", {}).get("content", {})
                if media in content:
                    content[media]["examples"] = {"valid": {"value": body}}
            if operation_id in schema_examples.EXTRA_LINKS:
                status, targets = schema_examples.EXTRA_LINKS[operation_id]
                links = operation["responses"][status].setdefault("links", {})
                for target, parameters in targets.items():
                    links[target] = {"operationId": target, "parameters": parameters}
