# SPDX-License-Identifier: Apache-2.0
"""The OpenAPI document of every public route, generated from the models in `schemas`.

Each route module's operations are listed here in explicit path sets; the app factory passes
the sets it serves to `openapi_route`, and a test keeps the document equal to the routes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.routing import Route

from slotwise.gateway.http import schemas as s
from slotwise.gateway.http.errors import JSONResponse
from slotwise.gateway.http.keys import same_secret

Paths = dict[str, dict[str, Any]]
KEY: list[dict[str, list[str]]] = [{"publishableKey": []}]
ADMIN: list[dict[str, list[str]]] = [{"secretKey": []}]
_REF = "#/components/schemas/{model}"
_ERRORS = {
    400: "Malformed JSON or wrong types",
    401: "Missing key",
    403: "Wrong key or origin (an unknown site answers as a wrong key does)",
    404: "Unknown slot or route",
    409: "Conflict with the configuration file (a slot it defines, or no file to write)",
    413: "Body over the configured limit",
    422: "Semantic error",
    429: "Rate limited",
    503: "Not ready",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _content(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": schema}}}


def op(
    summary: str,
    *,
    ok: type[BaseModel] | dict[str, Any] | None = None,
    media: str = "application/json",
    body: type[BaseModel] | None = None,
    errors: Iterable[int] = (),
    security: list[dict[str, list[str]]] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One operation: its 200 response (a model, or a plain schema), body and error codes."""
    schema = _ref(ok) if isinstance(ok, type) else (ok or {"type": "object"})
    out: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK", **_content(schema, media)}}}
    for code in errors:
        out["responses"][str(code)] = {"description": _ERRORS[code], **_content(_ref(s.Error))}
    if security:
        out["security"] = security
    if parameters:
        out["parameters"] = parameters
    if body is not None:
        out["requestBody"] = {"required": True, **_content(_ref(body))}
    return out


def error_responses(*codes: int) -> dict[str, Any]:
    """Documented error responses (the one error shape) for routes that write their own operations."""
    return {str(code): {"description": _ERRORS[code], **_content(_ref(s.Error))} for code in codes}


def _query(name: str, required: bool = False, description: str = "") -> dict[str, Any]:
    extra = {"description": description} if description else {}
    return {"name": name, "in": "query", "required": required, "schema": {"type": "string"}, **extra}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


TEXT = {"type": "string"}
FRAGMENT_QUERY = ("site", "visitor_id", "key", "tz", "url", "ref", "item_id", "consent", "lang")

CORE_PATHS: Paths = {
    "/healthz": {"get": op("Alive")},
    "/readyz": {"get": op("Configuration, models and stores loaded", errors=[503])},
    "/metrics": {"get": op("Prometheus metrics", ok=TEXT, media="text/plain")},
    "/openapi.json": {"get": op("This document")},
    "/v1/render": {
        "post": op(
            "Render all slots of one page",
            ok=s.RenderResponse,
            body=s.RenderRequest,
            errors=[400, 401, 403, 404, 413, 422],
            security=KEY,
        )
    },
    "/v1/slots": {
        "get": op(
            "Slots of a site, for editors' pickers",
            ok=s.SlotsResponse,
            errors=[400, 401, 403, 404],
            security=KEY,
            parameters=[_query("site", True)],
        )
    },
    "/v1/slots/{slot}/fragment": {
        "get": op(
            "One slot as an HTML fragment (for fetches and ESI)",
            ok=TEXT,
            media="text/html",
            errors=[400, 401, 403, 404],
            security=KEY,
            parameters=[*(_query(n, n == "site") for n in FRAGMENT_QUERY), _path("slot")],
        )
    },
    "/v1/client.js": {"get": op("The browser client", ok=TEXT, media="application/javascript")},
}

_VISITOR = [
    _path("visitor_id"),
    _query("site", True),
    _query("token", description="signed visitor token, instead of the secret key"),
]
EVENT_PATHS: Paths = {
    "/v1/events": {
        "post": op(
            "Ingest a batch of events (idempotent by event_id)",
            ok=s.EventsResponse,
            body=s.EventsRequest,
            errors=[400, 401, 403, 404, 413, 429, 503],
            security=KEY,
        )
    },
    "/v1/visitors/{visitor_id}": {
        "get": op(
            "The visitor's own data: profile, events, attributes, consent",
            errors=[400, 401, 403, 404, 503],
            security=ADMIN,
            parameters=_VISITOR,
        ),
        "delete": op(
            "Erase the visitor's profile, events, attributes and consent",
            errors=[400, 401, 403, 404, 503],
            security=ADMIN,
            parameters=_VISITOR,
        ),
    },
    "/v1/visitors/{visitor_id}/consent": {
        "put": op(
            "Set consent (none, anonymous, full); below full erases the profile",
            body=s.ConsentRequest,
            errors=[400, 401, 403, 404, 503],
            security=KEY,
            parameters=_VISITOR,
        )
    },
}

ADMIN_PATHS: Paths = {
    "/admin": {
        "get": op(
            "Admin dashboard (HTTP Basic, password = secret key)",
            ok=TEXT,
            media="text/html",
            errors=[401, 403],
            security=ADMIN,
        )
    },
    "/v1/admin/debug/context": {
        "get": op("How the gateway resolved this request's context", errors=[401, 403], security=ADMIN)
    },
    "/v1/admin/config": {"get": op("Slots, segments and expression names", errors=[401, 403], security=ADMIN)},
    "/v1/admin/reload": {
        "post": op(
            "Reload configuration and catalog, reopening store and models when their sections changed;"
            " a bad file keeps the old one",
            ok=s.ReloadResponse,
            errors=[401, 403, 422],
            security=ADMIN,
        )
    },
    "/v1/admin/slots/{slot}": {
        "put": op(
            "Publish a slot authored in a CMS: validated by the configuration schema, saved as a new"
            " configuration version and reloaded on every replica; 422 lists each problem with its variant"
            " and column",
            ok=s.AuthoredResult,
            body=s.AuthoredSlot,
            errors=[400, 401, 403, 409, 413, 422],
            security=ADMIN,
            parameters=[_path("slot")],
        ),
        "delete": op(
            "Retire an authored slot (unpublished or deleted in the CMS)",
            ok=s.AuthoredResult,
            errors=[400, 401, 403, 404, 409],
            security=ADMIN,
            parameters=[_path("slot")],
        ),
    },
    "/v1/admin/names": {
        "get": op(
            "Segments and context names for a CMS's condition picker",
            ok=s.AuthoringNames,
            errors=[401, 403],
            security=ADMIN,
        )
    },
    "/v1/admin/models/reload": {
        "post": op(
            "Load new model bundle versions; refused ones are listed and the old version keeps serving",
            ok=s.ModelsReloadResponse,
            errors=[401, 403, 404],
            security=ADMIN,
        )
    },
}


def components(models: Iterable[type[BaseModel]] = s.MODELS) -> dict[str, Any]:
    """JSON Schemas of the models (and the models they use), as OpenAPI components."""
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    return {name: _link(schema) for name, schema in sorted(defs.get("$defs", {}).items())}


def _link(node: Any) -> Any:
    """{"x-model": NAME} (a field documented by another model than the one validating it) -> $ref."""
    if isinstance(node, dict):
        if "x-model" in node:
            return {"$ref": _REF.format(model=node["x-model"]), **{k: v for k, v in node.items() if k != "x-model"}}
        return {k: _link(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_link(v) for v in node]
    return node


def document(path_sets: Iterable[Paths]) -> dict[str, Any]:
    paths: Paths = {}
    for path_set in path_sets:
        for path, ops in path_set.items():
            paths.setdefault(path, {}).update(ops)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Slotwise gateway", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {
                "publishableKey": {"type": "apiKey", "in": "header", "name": "X-Slotwise-Key"},
                "secretKey": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def with_names(doc: dict[str, Any], site: str, slots: Iterable[str]) -> dict[str, Any]:
    """The document naming `site` and the configured slots as enums, so that generated requests
    (schemathesis) reach the handlers instead of stopping at "invalid key"."""
    out = copy.deepcopy(doc)
    slot_enum = sorted(slots)
    schemas = out["components"]["schemas"]
    for model in ("RenderRequest", "EventsRequest"):
        schemas[model]["properties"]["site"]["enum"] = [site]
    if slot_enum:
        schemas["RenderRequest"]["properties"]["slots"]["items"]["enum"] = slot_enum
    for ops in out["paths"].values():
        for operation in ops.values():
            for param in operation.get("parameters", []):
                if param["name"] == "site":
                    param["schema"] = {"type": "string", "enum": [site]}
                elif param["name"] == "slot" and slot_enum:
                    param["schema"] = {"type": "string", "enum": slot_enum}
    return out


def openapi_route(path_sets: Iterable[Paths]) -> Route:
    """GET /openapi.json for the given path sets (built once, when the app is created). With a
    site's secret key (Bearer) the document names that site and the slots; without, it names
    none, since an unknown site must not be told from a wrong key."""
    doc = document(path_sets)

    async def openapi(request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        config = request.app.state.runtime.config
        for site in config.sites.values():
            if bearer and same_secret(bearer, site.secret_key):
                return JSONResponse(with_names(doc, site.name, config.slots))
        return JSONResponse(doc)

    return Route("/openapi.json", openapi, methods=["GET"])
