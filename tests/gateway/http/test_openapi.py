# SPDX-License-Identifier: Apache-2.0
"""/openapi.json documents exactly the routes the app serves."""

from __future__ import annotations

import json
import re

from starlette.routing import Route
from starlette.testclient import TestClient

from slotwise.gateway.http.schemas import (
    ConsentRequest,
    Error,
    EventsRequest,
    RenderRequest,
    RenderResponse,
    SlotsResponse,
)
from slotwise.gateway.visitors.events import EVENT_TYPES


def served_operations(client: TestClient) -> set[tuple[str, str]]:
    ops = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path not in ("/demo", "/admin"):  # pages for people
            for method in route.methods or ():
                if method != "HEAD":
                    ops.add((route.path, method.lower()))
    return ops


def test_spec_matches_routes(demo_client: TestClient) -> None:
    spec = demo_client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert documented == served_operations(demo_client)


def test_every_operation_documents_its_responses_and_path_parameters(demo_client: TestClient) -> None:
    spec = demo_client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (path, method)
            assert "200" in op["responses"] or "204" in op["responses"] or "202" in op["responses"], (path, method)
            names = set(re.findall(r"{(\w+)}", path))
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == declared, (path, method)
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_schemas_come_from_the_validating_models(demo_client: TestClient) -> None:
    spec = demo_client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, method, model in (
        ("/v1/render", "post", RenderRequest),
        ("/v1/events", "post", EventsRequest),
        ("/v1/visitors/{visitor_id}/consent", "put", ConsentRequest),
    ):
        body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert set(schemas[model.__name__]["properties"]) == set(model.model_fields)
    assert schemas["RenderRequest"]["required"] == ["site", "slots"]
    assert schemas["Event"]["properties"]["type"]["enum"] == sorted(EVENT_TYPES)
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(spec)))
    assert refs <= set(schemas), refs - set(schemas)


def test_real_responses_match_their_documented_models(demo_client: TestClient) -> None:
    key = {"X-Slotwise-Key": "pk_demo"}
    site = next(iter(demo_client.app.state.runtime.config.sites))  # type: ignore[attr-defined]
    slots = demo_client.get("/v1/slots", params={"site": site}, headers=key)
    SlotsResponse.model_validate(slots.json())
    names = [s["name"] for s in slots.json()["slots"]] + ["no-such-slot"]
    render = demo_client.post("/v1/render", json={"site": site, "slots": names}, headers=key)
    page = RenderResponse.model_validate(render.json())
    assert page.errors is not None and set(page.blocks) == set(names[:-1])
    bad = demo_client.post("/v1/render", json={"site": site, "slots": "hero"}, headers=key)
    assert bad.status_code == 400 and Error.model_validate(bad.json()).error.code == "invalid_request"


def test_body_errors_keep_their_codes_and_order(demo_client: TestClient) -> None:
    key = {"X-Slotwise-Key": "pk_demo"}
    site = next(iter(demo_client.app.state.runtime.config.sites))  # type: ignore[attr-defined]
    cases = [
        (b"{not json", key, 400, "invalid_json"),
        (b"[1, 2]", key, 400, "invalid_request"),
        (json.dumps({"site": "nope", "slots": 5}).encode(), key, 403, "invalid_key"),
        (json.dumps({"site": site, "slots": 5}).encode(), {}, 401, "missing_key"),
        (
            json.dumps({"site": site, "slots": ["a"], "visitor_id": "no spaces"}).encode(),
            key,
            400,
            "invalid_visitor_id",
        ),
        (json.dumps({"site": site, "slots": ["home-hero"], "context": []}).encode(), key, 400, "invalid_request"),
    ]
    for body, headers, status, code in cases:
        r = demo_client.post("/v1/render", content=body, headers={**headers, "Content-Type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
