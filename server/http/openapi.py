"""The OpenAPI 3.1 document, generated from the same route declarations and models that serve requests."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from server.http.api import Api, Route
from server.http.schemas import ErrorOut, HealthOut

_STATUS_TEXT = {
    400: "Bad request (malformed JSON)",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid field",
    429: "Too many requests",
    503: "An outside service is unavailable",
}


_REF = "#/components/schemas/"


def _free_name(name: str, schema: dict[str, Any], components: dict[str, Any]) -> str:
    """`name`, or `name2`, `name3`… when another model of the same name (routes_kb.SearchOut and
    routes_supervisor.SearchOut) holds it already: one must not overwrite the other's schema."""
    candidate, n = name, 1
    while candidate in components and components[candidate] != schema:
        n += 1
        candidate = f"{name}{n}"
    return candidate


# A model's JSON schema, generated once per process (as JSON text: each use gets its own copy). Building
# the document generated ~2,300 of them, a third of a second, for every app the tests create.
_GENERATED: dict[type[BaseModel], str] = {}


def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    text = _GENERATED.get(model)
    if text is None:
        text = _GENERATED[model] = json.dumps(model.model_json_schema(ref_template=_REF + "{model}"))
    schema: dict[str, Any] = json.loads(text)
    return schema


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = _model_schema(model)
    defs: dict[str, Any] = schema.pop("$defs", {})
    names = {name: _free_name(name, sub, components) for name, sub in defs.items()}
    names[model.__name__] = _free_name(model.__name__, schema, components)
    renamed = {old: new for old, new in names.items() if old != new}
    if renamed:
        text = json.dumps({"schema": schema, "defs": defs})
        for old, new in renamed.items():
            text = text.replace(f'"{_REF}{old}"', f'"{_REF}{new}"')
        loaded = json.loads(text)
        schema, defs = loaded["schema"], loaded["defs"]
    for name, sub in defs.items():
        components[names[name]] = sub
    components[names[model.__name__]] = schema
    return {"$ref": f"{_REF}{names[model.__name__]}"}


def _schema(obj: type[BaseModel] | dict[str, Any] | None, components: dict[str, Any]) -> dict[str, Any] | None:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj
    return _ref(obj, components)


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": route.summary, "operationId": route.handler.__name__, "tags": route.tags}
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in re.findall(r"{(\w+)}", route.path)
    ]
    for name, spec in route.query.items():
        params.append(
            {
                "name": name,
                "in": "query",
                "required": bool(spec.get("required")),
                "schema": {k: v for k, v in spec.items() if k != "required"},
            }
        )
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.body, components)}},
        }
    elif route.request_content is not None:
        op["requestBody"] = {"required": True, "content": route.request_content}
    responses: dict[str, Any] = {}
    body = _schema(route.response, components)
    ok: dict[str, Any] = {"description": "Success"}
    if body is not None:
        ok["content"] = {route.content_type: {"schema": body}}
    for other in route.other_content_types:
        ok.setdefault("content", {})[other] = {"schema": {"type": "string", "format": "binary"}}
    responses[str(route.status)] = ok
    for other_status in route.other_statuses:
        responses[str(other_status)] = ok
    err_ref = _ref(ErrorOut, components)
    codes = set(route.errors) | {400, 413}
    if route.auth is not None:
        codes |= {401, 403}
    if route.body is not None:
        codes.add(422)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _STATUS_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": err_ref}},
        }
    op["responses"] = responses
    if route.auth is not None:
        op["security"] = [{"bearer": []}, {"cookie": []}]
    return op


def build_openapi(apis: list[Api], version: str) -> dict[str, Any]:
    """The whole document: every route of every Api, plus /healthz."""
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for api in apis:
        for route in api.routes:
            path = api.prefix + route.path
            paths.setdefault(path, {})[route.method.lower()] = _operation(route, components)
    paths["/healthz"] = {
        "get": {
            "summary": "200 when the server and its database answer",
            "operationId": "healthz",
            "responses": {
                "200": {"description": "up", "content": {"application/json": {"schema": _ref(HealthOut, components)}}},
                "503": {
                    "description": "database down",
                    "content": {"application/json": {"schema": _ref(HealthOut, components)}},
                },
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PST Konsultasi API",
            "version": version,
            "description": "Statistical consultation service of BPS: accounts, offices, consultations, "
            "knowledge base, walk-in queue and reports. Errors are "
            '{"error": {"code", "message"}}.',
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "pst_session"},
            },
        },
    }
