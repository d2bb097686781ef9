# SPDX-License-Identifier: Apache-2.0
"""The OpenAPI document of every public route; a test keeps it equal to the routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ERROR = {"$ref": "#/components/schemas/Error"}
KEY: list[dict[str, list[str]]] = [{"publishableKey": []}]
ADMIN: list[dict[str, list[str]]] = [{"secretKey": []}]


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed JSON or wrong types",
        401: "Missing key",
        403: "Wrong key or origin",
        404: "Unknown site or slot",
        413: "Body over the configured limit",
        422: "Semantic error",
        429: "Rate limited",
        503: "Not ready",
    }
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}} for c in codes}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


BLOCK = {
    "type": "object",
    "required": ["html", "variant", "segments", "experiment", "ttl"],
    "properties": {
        "html": {"type": "string"},
        "variant": {"type": "string"},
        "segments": {"type": "array", "items": {"type": "string"}},
        "experiment": {
            "type": ["object", "null"],
            "properties": {"key": {"type": "string"}, "arm": {"type": "string"}, "holdout": {"type": "boolean"}},
        },
        "ttl": {"type": "integer", "minimum": 0, "description": "seconds the block stays valid"},
        "fallback": {"type": "string", "description": "present when the default block replaced a failed one"},
    },
}

CONTEXT = {
    "type": "object",
    "properties": {
        "url": {"type": "string"},
        "referrer": {"type": "string"},
        "timezone": {"type": "string"},
        "language": {"type": "string"},
        "user_agent": {"type": "string"},
        "item_id": {"type": "string"},
        "consent": {"type": "string", "enum": ["none", "anonymous", "full"]},
        "gpc": {"type": "boolean"},
        "simulate": {
            "type": "object",
            "description": "demo sites or secret key only",
            "properties": {
                "device": {"type": "string"},
                "country": {"type": "string"},
                "hour": {"type": "integer"},
                "weekday": {"type": "string"},
                "timezone": {"type": "string"},
            },
        },
    },
}

PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {"get": {"summary": "Alive", "responses": _json({"type": "object"})}},
    "/readyz": {
        "get": {
            "summary": "Configuration, models and stores loaded",
            "responses": {**_json({"type": "object"}), **_errors(503)},
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics",
            "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }
    },
    "/openapi.json": {"get": {"summary": "This document", "responses": _json({"type": "object"})}},
    "/v1/render": {
        "post": {
            "summary": "Render all slots of one page",
            "security": KEY,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["site", "slots"],
                            "properties": {
                                "site": {"type": "string"},
                                "visitor_id": {"type": ["string", "null"]},
                                "slots": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                                "context": CONTEXT,
                                "debug": {"type": "boolean"},
                            },
                        }
                    }
                },
            },
            "responses": {
                **_json(
                    {
                        "type": "object",
                        "required": ["visitor_id", "blocks"],
                        "properties": {
                            "visitor_id": {"type": ["string", "null"]},
                            "blocks": {"type": "object", "additionalProperties": BLOCK},
                            "errors": {
                                "type": "object",
                                "description": "slots asked for but not configured (404 if none is)",
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                                },
                            },
                        },
                    }
                ),
                **_errors(400, 401, 403, 404, 413, 422),
            },
        }
    },
    "/v1/slots": {
        "get": {
            "summary": "Slots of a site, for editors' pickers",
            "security": KEY,
            "parameters": [{"name": "site", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {
                **_json(
                    {
                        "type": "object",
                        "properties": {
                            "slots": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "name": {"type": "string"},
                                        "description": {"type": "string"},
                                        "type": {"type": "string"},
                                    },
                                },
                            }
                        },
                    }
                ),
                **_errors(400, 401, 403, 404),
            },
        }
    },
    "/v1/slots/{slot}/fragment": {
        "get": {
            "summary": "One slot as an HTML fragment (for fetches and ESI)",
            "security": KEY,
            "parameters": [
                {"name": n, "in": "query", "required": n == "site", "schema": {"type": "string"}}
                for n in ("site", "visitor_id", "key", "tz", "url", "ref", "item_id", "consent", "lang")
            ]
            + [{"name": "slot", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}},
                **_errors(400, 401, 403, 404),
            },
        }
    },
    "/v1/client.js": {
        "get": {
            "summary": "The browser client",
            "responses": {
                "200": {"description": "OK", "content": {"application/javascript": {"schema": {"type": "string"}}}}
            },
        }
    },
    "/admin": {
        "get": {
            "summary": "Admin dashboard (HTTP Basic, password = secret key)",
            "security": ADMIN,
            "responses": {
                "200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}},
                **_errors(401, 403),
            },
        }
    },
    "/v1/admin/debug/context": {
        "get": {
            "summary": "How the gateway resolved this request's context",
            "security": ADMIN,
            "responses": {**_json({"type": "object"}), **_errors(401, 403)},
        }
    },
    "/v1/admin/config": {
        "get": {
            "summary": "Slots, segments and expression names",
            "security": ADMIN,
            "responses": {**_json({"type": "object"}), **_errors(401, 403)},
        }
    },
    "/v1/admin/reload": {
        "post": {
            "summary": "Reload configuration and catalog; a bad file keeps the old one",
            "security": ADMIN,
            "responses": {**_json({"type": "object"}), **_errors(401, 403, 422)},
        }
    },
    "/v1/admin/models/reload": {
        "post": {
            "summary": "Load new model bundle versions; refused ones are listed and the old version keeps serving",
            "security": ADMIN,
            "responses": {
                **_json(
                    {
                        "type": "object",
                        "properties": {
                            "loaded": {"type": "array"},
                            "unchanged": {"type": "array"},
                            "refused": {"type": "array"},
                            "bundles": {"type": "array"},
                        },
                    }
                ),
                **_errors(401, 403, 404),
            },
        }
    },
}


def register_paths(paths: dict[str, dict[str, Any]]) -> None:
    """Other parts (events, models) add their routes' documentation here."""
    for path, ops in paths.items():
        PATHS.setdefault(path, {}).update(ops)


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Slotwise gateway", "version": "1"},
        "paths": PATHS,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        }
                    },
                }
            },
            "securitySchemes": {
                "publishableKey": {"type": "apiKey", "in": "header", "name": "X-Slotwise-Key"},
                "secretKey": {"type": "http", "scheme": "bearer"},
            },
        },
    }


async def _openapi(request: Request) -> JSONResponse:
    return JSONResponse(document())


def openapi_route() -> Route:
    return Route("/openapi.json", _openapi, methods=["GET"])
