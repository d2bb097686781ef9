# SPDX-License-Identifier: Apache-2.0
"""The connector base class: retries, backoff, Retry-After, timeouts, ETags, paging, cursors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from slotwise.connectors import registry
from slotwise.connectors.base import (
    AuthError,
    Connector,
    ConnectorError,
    Cursor,
    MalformedResponse,
    NotModified,
    normalize,
    parse_retry_after,
    to_rfc3339,
)

BASE = "https://cms.example"


class ListConnector(Connector):
    name = "list-test"

    def fetch(self, cursor: Cursor) -> Iterator[dict[str, Any]]:
        params = {"after": cursor.modified_after} if cursor.modified_after else {}
        for page in self.paginate("/items", params, etag_key="items"):
            yield from page


def make(**kw: Any) -> tuple[ListConnector, list[float]]:
    sleeps: list[float] = []
    kw.setdefault("page_size", 2)
    return ListConnector(BASE, sleep=sleeps.append, **kw), sleeps


@respx.mock
def test_retries_5xx_then_succeeds_with_growing_backoff() -> None:
    route = respx.get(f"{BASE}/items").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=[{"item_id": 1, "title": "A"}])]
    )
    conn, sleeps = make(backoff=1.0)
    items = list(conn.sync())
    assert [i["item_id"] for i in items] == ["1"]
    assert route.call_count == 3 and conn.stats.retries == 2
    assert 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.5


@respx.mock
def test_429_honours_retry_after_capped_by_max_backoff() -> None:
    respx.get(f"{BASE}/items").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(429, headers={"Retry-After": "999"}),
            httpx.Response(200, json=[]),
        ]
    )
    conn, sleeps = make(max_backoff=60)
    assert list(conn.sync()) == []
    assert sleeps == [7.0, 60]


@respx.mock
def test_gives_up_after_retries_naming_url_and_status() -> None:
    respx.get(f"{BASE}/items").mock(return_value=httpx.Response(500))
    conn, sleeps = make(retries=2)
    with pytest.raises(ConnectorError, match=r"cms.example/items.*HTTP 500.*3 attempts"):
        list(conn.sync())
    assert len(sleeps) == 2


@respx.mock
def test_timeout_is_retried_then_reported() -> None:
    route = respx.get(f"{BASE}/items").mock(side_effect=httpx.ReadTimeout("slow"))
    conn, _ = make(retries=1, timeout=2.5)
    with pytest.raises(ConnectorError, match=r"timed out after 2\.5s"):
        list(conn.sync())
    assert route.call_count == 2


@respx.mock
def test_401_is_not_retried() -> None:
    route = respx.get(f"{BASE}/items").mock(return_value=httpx.Response(401, json={"code": "x"}))
    conn, sleeps = make()
    with pytest.raises(AuthError, match="401"):
        list(conn.sync())
    assert route.call_count == 1 and sleeps == []


@respx.mock
def test_404_is_an_error_without_retry() -> None:
    respx.get(f"{BASE}/items").mock(return_value=httpx.Response(404, text="no route"))
    conn, sleeps = make()
    with pytest.raises(ConnectorError, match=r"HTTP 404.*no route"):
        list(conn.sync())
    assert sleeps == []


@respx.mock
def test_malformed_json_and_wrong_shape() -> None:
    respx.get(f"{BASE}/items").mock(return_value=httpx.Response(200, text="<html>oops"))
    with pytest.raises(MalformedResponse, match="not JSON"):
        list(make()[0].sync())
    respx.get(f"{BASE}/items").mock(return_value=httpx.Response(200, json={"a": 1}))
    with pytest.raises(MalformedResponse, match="expected a JSON list"):
        list(make()[0].sync())


@respx.mock
def test_pagination_stops_at_short_page_without_total_header() -> None:
    route = respx.get(f"{BASE}/items").mock(
        side_effect=[
            httpx.Response(200, json=[{"item_id": 1, "title": "A"}, {"item_id": 2, "title": "B"}]),
            httpx.Response(200, json=[{"item_id": 3, "title": "C"}]),
        ]
    )
    conn, _ = make()
    assert [i["item_id"] for i in conn.sync()] == ["1", "2", "3"]
    assert route.call_count == 2 and conn.stats.pages == 2


@respx.mock
def test_etag_round_trip_gives_not_modified() -> None:
    respx.get(f"{BASE}/items").mock(
        return_value=httpx.Response(
            200, json=[{"item_id": 1, "title": "A", "updated_at": "2026-01-02T03:04:05"}], headers={"ETag": '"v1"'}
        )
    )
    conn, _ = make()
    list(conn.sync())
    saved = Cursor.from_dict(conn.cursor.to_dict())
    assert saved.etags == {"items": '"v1"'} and saved.modified_after == "2026-01-02T03:04:05Z"

    route = respx.get(f"{BASE}/items").mock(return_value=httpx.Response(304))
    conn2, _ = make()
    assert list(conn2.sync(saved)) == []
    assert route.calls.last.request.headers["If-None-Match"] == '"v1"'
    assert conn2.stats.not_modified == 1
    assert conn2.cursor.etags == {"items": '"v1"'}  # kept for the run after


def test_get_json_raises_not_modified_signal() -> None:
    with respx.mock:
        respx.get(f"{BASE}/x").mock(return_value=httpx.Response(304))
        conn, _ = make()
        conn._previous_etags = {"k": '"e"'}
        with pytest.raises(NotModified):
            conn.get_json("/x", etag_key="k")


def test_normalize_and_dates() -> None:
    assert normalize({"item_id": 5, "title": " "}) is None
    item = normalize({"item_id": 5, "title": " T ", "price": "9.50", "tags": ["a", None, ""], "extra": 1})
    assert item is not None
    assert item["item_id"] == "5" and item["title"] == "T" and item["price"] == 9.5
    assert item["tags"] == ["a"] and item["categories"] == [] and item["extra"] == 1
    assert to_rfc3339("2026-03-01T10:00:00+02:00") == "2026-03-01T08:00:00Z"
    assert to_rfc3339("garbage") is None
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=1767225600.0) == 10.0
    assert parse_retry_after("soon") is None


def test_bad_url_is_refused() -> None:
    with pytest.raises(ConnectorError, match="http"):
        ListConnector("cms.example")


def test_registry_register_get_names() -> None:
    registry.register("list-test", ListConnector)
    assert registry.get("list-test") is ListConnector
    assert "list-test" in registry.names()
    with pytest.raises(registry.UnknownConnector, match=r"available: .*list-test"):
        registry.get("nope")
    with pytest.raises(TypeError):
        registry.register("bad", dict)  # type: ignore[arg-type]
