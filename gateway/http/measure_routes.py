# SPDX-License-Identifier: Apache-2.0
"""Measurement admin routes (secret key): experiment results and daily KPIs from the live counters."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.http.admin_routes import admin_site
from slotwise.gateway.http.errors import ApiError
from slotwise.gateway.measure.attribution import EXPERIMENT_METRICS
from slotwise.gateway.measure.results import ResultsError, experiment_results, kpi_results
from slotwise.gateway.serving.runtime import Runtime

NO_STORE = {"Cache-Control": "private, no-store"}


def admin_context(request: Request) -> tuple[Any, str]:
    site = admin_site(request)
    wanted = request.query_params.get("site")
    if not wanted:
        raise ApiError(400, "invalid_request", "the 'site' query parameter is required")
    if wanted != site.name:
        raise ApiError(403, "invalid_key", f"the key is not the secret key of site '{wanted[:100]}'")
    store = getattr(request.app.state.services, "store", None)
    if store is None:
        raise ApiError(503, "store_disabled", "measurement needs a store (no 'store' configured)")
    return store, site.name


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    # allow_nan=False: a NaN would be a bug, and it must fail loudly rather than reach a client.
    body = json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json", headers=NO_STORE)


def _refusal(exc: ResultsError) -> Response:
    return json_response({"error": {"code": exc.code, "message": str(exc), **exc.details}}, exc.status)


async def results(request: Request) -> Response:
    store, site = admin_context(request)
    runtime: Runtime = request.app.state.runtime
    try:
        payload = await experiment_results(
            store, runtime.config, site, request.path_params["key"], dict(request.query_params)
        )
    except ResultsError as exc:
        return _refusal(exc)
    return json_response(payload)


async def kpis(request: Request) -> Response:
    store, site = admin_context(request)
    try:
        payload = await kpi_results(store, site, dict(request.query_params))
    except ResultsError as exc:
        return _refusal(exc)
    return json_response(payload)


ROUTES = [
    Route("/v1/admin/experiments/{key}/results", results, methods=["GET"]),
    Route("/v1/admin/kpis", kpis, methods=["GET"]),
]


def _spec() -> dict[str, dict[str, Any]]:
    from slotwise.gateway.http.openapi import ADMIN, op

    def query(name: str, description: str, required: bool = False, **schema: Any) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": required,
            "description": description,
            "schema": schema or {"type": "string"},
        }

    refused = {
        "description": "Not enough data: an arm has no assigned visitors (the arms' counts are listed)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    nullable = {"type": ["number", "null"]}
    arm = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "n": {"type": "integer"},
            "mean": nullable,
            "relative_lift": nullable,
            "ci": {"type": ["array", "null"], "items": {"type": "number"}},
            "p_value": nullable,
            "chance_to_win": nullable,
            "risk": nullable,
            "note": {"type": ["string", "null"]},
        },
    }
    metric = {
        "type": "object",
        "properties": {"srm_p_value": nullable, "arms": {"type": "array", "items": arm}, "verdict": {"type": "object"}},
    }
    site = query("site", "the site (its secret key authenticates)", True)
    results = op(
        "An experiment's results per metric and arm from the live counters, SRM check, verdict",
        ok={
            "type": "object",
            "properties": {
                "experiment": {"type": "string"},
                "status": {"type": "string"},
                "arms": {"type": "array"},
                "holdout": {"type": "object"},
                "srm_p_value": nullable,
                "srm_alert": {"type": "boolean"},
                "verdict": {"type": "object"},
                "metrics": {"type": "object", "additionalProperties": metric},
            },
        },
        errors=(400, 401, 403, 404, 422, 503),
        security=ADMIN,
        parameters=[
            {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
            site,
            query("metric", "the primary metric of the verdict", enum=list(EXPERIMENT_METRICS)),
            query("engine", "statistics engine (default frequentist)", enum=["frequentist", "bayesian"]),
            query("alpha", "significance level (default 0.05)", type="number"),
            query("sequential", "confidence sequences, safe to peek at any time", type="boolean"),
            query("correction", "multiple-testing correction across arms", enum=["holm", "bh"]),
            query("min_sample", "visitors per arm before any verdict (default 100)", type="integer"),
            query("control", "compare with the first arm (default) or with the holdout", enum=["first", "holdout"]),
        ],
    )
    results["responses"]["409"] = refused
    kpis = op(
        "Daily KPIs per slot, variant and segment (counters and rates), with totals and CLV",
        ok={
            "type": "object",
            "properties": {
                "days": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array"},
                "totals": {"type": "array"},
            },
        },
        errors=(400, 401, 403, 503),
        security=ADMIN,
        parameters=[
            site,
            query("from", "first day, YYYY-MM-DD (default 29 days before 'to')", format="date", type="string"),
            query("to", "last day, YYYY-MM-DD (default today, UTC)", format="date", type="string"),
            query("slot", "only this slot (and the site row)"),
        ],
    )
    return {"/v1/admin/experiments/{key}/results": {"get": results}, "/v1/admin/kpis": {"get": kpis}}


def measure_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI paths of these routes, passed to the document by the app factory."""
    return _spec()
