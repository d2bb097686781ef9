# SPDX-License-Identifier: Apache-2.0
"""schemathesis against the gateway's own /openapi.json, in process (issue 11).

The document is fetched with the secret key, so it names the configured site and slots as
enums and generated requests reach the handlers. Every operation gets a bounded number of
generated requests: 0 server errors, 0 responses outside the documented statuses, media types
and schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from tests.conftest import need

try:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )
except ImportError:  # pragma: no cover - the dev extra installs it
    schemathesis = None  # type: ignore[assignment]

AUTH = {"X-Slotwise-Key": "sk_demo", "Authorization": "Bearer sk_demo"}
EXAMPLES = 25
SKIP = {"POST /v1/admin/reload", "POST /v1/admin/models/reload"}  # reload the files: covered elsewhere


@pytest.fixture
def client(demo_dir: Path, make_client: Callable[..., TestClient]) -> TestClient:
    data = yaml.safe_load((demo_dir / "slotwise.yaml").read_text())
    data["store"] = {"backend": "sqlite", "path": str(demo_dir / "events.db")}
    return make_client(data, raise_server_exceptions=False)


def exercise(
    client: TestClient, label: str, strategy: Any, checks: list[Any], seen: set[int], failures: list[str]
) -> None:
    """A bounded number of generated requests for one operation; failures are collected."""

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=strategy)
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=AUTH)
        kwargs.pop("cookies", None)
        if isinstance(kwargs.get("data"), (bytes, str)):
            kwargs["content"] = kwargs.pop("data")
        response = client.request(**kwargs)
        seen.add(response.status_code)
        try:
            case.validate_response(response, checks=checks)
        except Exception as exc:  # collect them all, then fail once with every message
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:500]}")

    run()


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_generated_requests_get_no_server_error_and_match_the_spec(client: TestClient, mode: str) -> None:
    need(schemathesis is not None, "schemathesis (the dev extra)")
    doc = client.get("/openapi.json", headers={"Authorization": "Bearer sk_demo"}).json()
    assert doc["components"]["schemas"]["RenderRequest"]["properties"]["site"]["enum"] == ["demo"]
    schema = schemathesis.openapi.from_dict(doc)
    if mode == "positive":
        checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    else:  # invalid requests: no 500, and every answer is JSON or the documented media type
        checks = [not_a_server_error, content_type_conformance]
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIP:
            continue
        strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
        try:
            exercise(client, operation.label, strategy, checks, statuses.setdefault(operation.label, set()), failures)
        except Unsatisfiable:  # negative mode: an operation without inputs has no invalid request
            assert mode == "negative", operation.label
    assert not failures, "\n".join(failures[:20])
    assert len(statuses) >= 10
    if mode == "positive":
        for label in ("POST /v1/render", "POST /v1/events", "GET /v1/slots/{slot}/fragment", "GET /v1/slots"):
            assert 200 in statuses[label], (label, statuses[label])  # generated requests reach the handlers
