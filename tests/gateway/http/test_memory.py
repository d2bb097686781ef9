# SPDX-License-Identifier: Apache-2.0
"""Memory stays bounded under requests whose every cached field is new (issue 11, defect 6).

200,000 requests through the ASGI app in process (render, fragment and event batches), each with
a fresh time zone, user agent, item, UTM source, visitor id and slot name: every cache keyed by
request data must be bounded, so RSS grows less than 50 MB after the warm-up.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.visitors.events import format_ts
from tests.gateway.conftest import DESKTOP_UA

TOTAL = 200_000
WARM_UP = 20_000  # fills the bounded caches (user agents 4,096, zones 2,048, blocks 5,000, ...)


def rss_mb() -> float:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def request(i: int) -> tuple[str, str, bytes, list[tuple[bytes, bytes]]]:
    """Request number i: every field that reaches a cache is new."""
    ua = f"{DESKTOP_UA} Build/{i}".encode()
    headers = [(b"x-slotwise-key", b"pk_demo"), (b"user-agent", ua), (b"content-type", b"application/json")]
    context = {
        "timezone": f"Bogus/Zone{i}" if i % 2 else "Europe/Berlin",
        "item_id": f"item-{i}",
        "url": f"https://shop.example/p/{i}?utm_source=src{i}&utm_campaign=c{i}",
        "language": f"x{i % 1000}-y{i}",
        "user_agent": f"Mozilla/5.0 (X11; Linux x86_64; rv:{i}) Gecko/20100101 Firefox/{i}",
    }
    kind = i % 10
    if kind == 9:
        events = [
            {
                "event_id": f"e{i}-{k}",
                "visitor_id": f"v{i}-{k}",
                "type": "item_view",
                "item_id": f"item-{i}-{k}",
                "ts": format_ts(time.time() - 5),
                "context": {"timezone": f"Bogus/Ev{i}-{k}", "user_agent": f"Mozilla/5.0 Ev/{i}-{k}"},
            }
            for k in range(5)
        ]
        body = {"site": "demo", "events": events, "context": context}
        return "POST", "/v1/events", json.dumps(body).encode(), headers
    if kind == 8:
        query = f"site=demo&visitor_id=f{i}&tz=Bogus/F{i}&item_id=it{i}&url=https://x.example/?utm_source=f{i}"
        return "GET", f"/v1/slots/offer/fragment?{query}", b"", headers
    body = {"site": "demo", "slots": ["offer", "welcome", f"slot-{i}"], "visitor_id": f"visitor-{i}", "context": context}
    return "POST", "/v1/render", json.dumps(body).encode(), headers


async def run(app: Any, start: int, count: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    for i in range(start, start + count):
        method, target, body, headers = request(i)
        path, _, query = target.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("10.0.0.1", 40000),
            "server": ("gateway", 80),
            "state": {},
            "app": app,
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)
    return statuses


@pytest.fixture
def client(demo_dir: Path, make_client: Callable[..., TestClient]) -> TestClient:
    data = yaml.safe_load((demo_dir / "slotwise.yaml").read_text())
    data["store"] = {
        "backend": "sqlite",
        "path": str(demo_dir / "events.db"),
        "rate_limit": {"visitor_per_minute": 1_000_000, "client_per_minute": 100_000_000},
    }
    return make_client(data)


def test_rss_stays_bounded_over_200k_requests_with_fresh_values(client: TestClient) -> None:
    app = client.app
    portal = client.portal
    assert portal is not None
    statuses = portal.call(run, app, 0, WARM_UP)
    before = rss_mb()
    statuses2 = portal.call(run, app, WARM_UP, TOTAL - WARM_UP)
    grown = rss_mb() - before
    for key, value in statuses2.items():
        statuses[key] = statuses.get(key, 0) + value
    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) == TOTAL
    assert grown < 50, f"RSS grew {grown:.1f} MB over {TOTAL - WARM_UP} requests"
