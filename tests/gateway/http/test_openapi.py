# SPDX-License-Identifier: Apache-2.0
"""/openapi.json documents exactly the routes the app serves."""

from __future__ import annotations

import re

from starlette.routing import Route
from starlette.testclient import TestClient


def served_operations(client: TestClient) -> set[tuple[str, str]]:
    ops = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path != "/demo":
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
