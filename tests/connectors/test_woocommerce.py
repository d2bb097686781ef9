# SPDX-License-Identifier: Apache-2.0
"""WooCommerce Store API connector against respx-mocked endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from slotwise.connectors.base import AuthError, ConnectorError, Cursor, MalformedResponse
from slotwise.connectors.woocommerce import WooCommerceConnector, map_product, product_price

SHOP = "https://shop.example"
PRODUCTS = f"{SHOP}/wp-json/wc/store/v1/products"
DATE = "Thu, 26 Nov 2026 12:00:00 GMT"


def product(pid: int, price: str = "1999", **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": f"Boot &#8211; {pid}",
        "permalink": f"{SHOP}/?product={pid}",
        "images": [{"src": f"{SHOP}/img/{pid}.jpg"}],
        "prices": {"price": price, "currency_code": "EUR", "currency_minor_unit": 2},
        "categories": [{"id": 1, "name": "Shoes"}],
        "tags": [{"id": 2, "name": "Winter"}],
        "short_description": "<p>Warm</p>",
        "description": "",
        "is_in_stock": True,
        "sku": f"B{pid}",
        **extra,
    }


def page(items: list[Any], total: int | None = None) -> httpx.Response:
    headers = {"Date": DATE}
    if total is not None:
        headers["X-WP-TotalPages"] = str(total)
    return httpx.Response(200, json=items, headers=headers)


def conn(**kw: Any) -> WooCommerceConnector:
    return WooCommerceConnector(SHOP, sleep=lambda s: None, **kw)


def test_mapping_and_prices() -> None:
    item = map_product(product(3))
    assert item is not None
    assert item["title"] == "Boot – 3" and item["price"] == 19.99 and item["currency"] == "EUR"
    assert item["categories"] == ["Shoes"] and item["tags"] == ["Winter"] and item["text"] == "Warm"
    assert item["image"] == f"{SHOP}/img/3.jpg" and item["sku"] == "B3"
    assert product_price({"price": "500", "currency_code": "JPY", "currency_minor_unit": 0}) == (500.0, "JPY")
    assert product_price({"price": "abc", "currency_code": "EUR"}) == (None, "EUR")
    assert product_price(None) == (None, None)
    assert map_product({"name": "no id"}) is None


@respx.mock
def test_pagination_and_high_water_from_date_header() -> None:
    route = respx.get(PRODUCTS).mock(
        side_effect=[page([product(1), product(2)], 3), page([product(3), product(4)], 3), page([product(5)], 3)]
    )
    c = conn(page_size=2)
    assert [i["item_id"] for i in c.sync()] == ["1", "2", "3", "4", "5"]
    assert route.call_count == 3
    assert c.cursor.modified_after == "2026-11-26T12:00:00Z"


@respx.mock
def test_incremental_uses_after_and_modified_column() -> None:
    route = respx.get(PRODUCTS).mock(return_value=page([], 0))
    list(conn().sync(Cursor(modified_after="2026-11-26T12:00:00Z")))
    params = route.calls.last.request.url.params
    assert params["after"] == "2026-11-26T11:00:00Z" and params["date_column"] == "modified_gmt"


@respx.mock
def test_etag_not_modified() -> None:
    route = respx.get(PRODUCTS).mock(return_value=httpx.Response(304))
    c = conn()
    assert list(c.sync(Cursor(etags={"wc:products": 'W/"abc"'}))) == []
    assert route.calls.last.request.headers["If-None-Match"] == 'W/"abc"'
    assert c.stats.not_modified == 1


@respx.mock
def test_errors() -> None:
    respx.get(PRODUCTS).mock(return_value=httpx.Response(200, text="<!doctype html>"))
    respx.get(f"{SHOP}/").mock(return_value=httpx.Response(404, json={"code": "rest_no_route"}))
    with pytest.raises(ConnectorError, match="rest_no_route"):
        list(conn().sync())
    respx.get(PRODUCTS).mock(return_value=httpx.Response(200, json={"code": "x"}))
    with pytest.raises(MalformedResponse, match="JSON list"):
        list(conn().sync())
    respx.get(PRODUCTS).mock(return_value=httpx.Response(403))
    with pytest.raises(AuthError):
        list(conn().sync())
    respx.get(PRODUCTS).mock(return_value=httpx.Response(404, json={"code": "rest_no_route"}))
    with pytest.raises(ConnectorError, match="rest_no_route"):
        list(conn().sync())
    respx.get(PRODUCTS).mock(side_effect=[httpx.Response(503), httpx.ReadTimeout("t"), page([product(1)], 1)])
    c = conn(retries=2)
    assert len(list(c.sync())) == 1 and c.stats.retries == 2
    respx.get(PRODUCTS).mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(ConnectorError, match=r"HTTP 429.*gave up"):
        list(conn(retries=1).sync())
