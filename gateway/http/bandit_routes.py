# SPDX-License-Identifier: Apache-2.0
"""Bandit admin routes (secret key): the configured bandits, and what each one has learned."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.decisions.bandit_report import UnknownBandit, bandit_results, bandits_of, summary
from slotwise.gateway.http.errors import ApiError
from slotwise.gateway.http.measure_routes import admin_context, json_response


async def bandit_list(request: Request) -> Response:
    _, site = admin_context(request)
    config = request.app.state.runtime.config
    return json_response({"site": site, "bandits": [summary(*found) for found in bandits_of(config)]})


async def bandit_detail(request: Request) -> Response:
    store, site = admin_context(request)
    runtime = request.app.state.runtime
    key = request.path_params["key"]
    events = (await store.counters(site, ["exp|" + key])).get("exp|" + key, {})
    try:
        payload = await bandit_results(store, runtime.config, runtime.bandits, site, key, events)
    except UnknownBandit as exc:
        raise ApiError(404, "unknown_bandit", str(exc)) from None
    return json_response(payload)


ROUTES = [
    Route("/v1/admin/bandits", bandit_list, methods=["GET"]),
    Route("/v1/admin/bandits/{key}", bandit_detail, methods=["GET"]),
]


def bandit_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI paths of these routes, passed to the document by the app factory."""
    from slotwise.gateway.http.openapi import ADMIN, error_responses

    site = {"name": "site", "in": "query", "required": True, "schema": {"type": "string"},
            "description": "the site (its secret key authenticates)"}  # fmt: skip
    number = {"type": "number"}
    arm = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "probability": {**number, "description": "the share of views this arm gets now"},
            "pulls": {"type": "integer", "description": "viewable impressions counted"},
            "weight": {**number, "description": "pulls after discounting (half_life_days)"},
            "reward_sum": number,
            "mean_reward": {"type": ["number", "null"]},
            "impressions": {"type": "integer"},
            "clicks": {"type": "integer"},
            "served": {"type": "integer"},
        },
    }
    listed_properties: dict[str, Any] = {
        "key": {"type": "string"},
        "slot": {"type": "string"},
        "variant": {"type": "string"},
        "policy": {"type": "string"},
        "reward": {"type": "string"},
        "status": {"type": "string"},
        "arms": {"type": "array", "items": {"type": "string"}},
    }
    listed = {"type": "object", "properties": listed_properties}

    def ok(schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": "OK", "content": {"application/json": {"schema": schema}}}

    return {
        "/v1/admin/bandits": {
            "get": {
                "summary": "The configured bandits (key, slot, policy, reward, arms)",
                "security": ADMIN,
                "parameters": [site],
                "responses": {
                    "200": ok({"type": "object", "properties": {"bandits": {"type": "array", "items": listed}}}),
                    **error_responses(400, 401, 403, 503),
                },
            }
        },
        "/v1/admin/bandits/{key}": {
            "get": {
                "summary": "A bandit's arm probabilities, pulls and rewards, from the store's counters now",
                "security": ADMIN,
                "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}, site],
                "responses": {
                    "200": ok(
                        {
                            "type": "object",
                            "properties": {
                                **listed_properties,
                                "arms": {"type": "array", "items": arm},
                                "pulls": {"type": "integer"},
                                "ignored": {"type": "object", "properties": {"unknown_arm": {"type": "integer"}}},
                                "buckets": {"type": "object", "description": "contextual policy: arms per bucket"},
                            },
                        }
                    ),
                    **error_responses(400, 401, 403, 404, 503),
                },
            }
        },
    }
