# SPDX-License-Identifier: Apache-2.0
"""WooCommerce Store API connector: products from `/wp-json/wc/store/v1/products`.

The Store API is public (no keys) and read-only. Prices come in minor units
(`prices.price = "1999"`, `currency_minor_unit = 2`). Products carry no modified date, so the
cursor's high-water mark is the server's `Date` at the start of the run; incremental runs ask
for `after=<cursor - 1h>&date_column=modified_gmt` and merge by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slotwise.connectors.base import Cursor, Item, http_date_to_rfc3339, shift
from slotwise.connectors.wordpress import OVERLAP_SECONDS, RestConnector
from slotwise.gateway.common.text import item_text, plain_text


def product_price(prices: Any) -> tuple[float | None, str | None]:
    """(price in major units, ISO currency) from a Store API `prices` object."""
    if not isinstance(prices, dict):
        return None, None
    currency = prices.get("currency_code") or None
    raw = prices.get("price")
    try:
        minor = int(prices.get("currency_minor_unit", 2))
        return (int(str(raw)) / (10**minor) if raw not in (None, "") else None), currency
    except (TypeError, ValueError):
        return None, currency


def _names(terms: Any) -> list[str]:
    return [plain_text(t["name"]) for t in terms or [] if isinstance(t, dict) and t.get("name")]


def map_product(product: Any) -> Item | None:
    if not isinstance(product, dict) or "id" not in product:
        return None
    images = product.get("images")
    image = images[0].get("src") if isinstance(images, list) and images and isinstance(images[0], dict) else None
    price, currency = product_price(product.get("prices"))
    return {
        "item_id": str(product["id"]),
        "title": plain_text(product.get("name")),
        "url": product.get("permalink"),
        "image": image,
        "price": price,
        "currency": currency,
        "categories": _names(product.get("categories")),
        "tags": _names(product.get("tags")),
        "text": item_text(product.get("short_description"), product.get("description")),
        "updated_at": None,
        "type": "product",
        "sku": product.get("sku") or None,
        "in_stock": product.get("is_in_stock"),
    }


class WooCommerceConnector(RestConnector):
    name = "woocommerce"
    description = "WooCommerce Store API products (/wp-json/wc/store/v1/products)"

    def fetch(self, cursor: Cursor) -> Iterator[Item]:
        params: dict[str, Any] = {}
        if cursor.modified_after:
            params = {"after": shift(cursor.modified_after, -OVERLAP_SECONDS), "date_column": "modified_gmt"}
        first = True
        for page in self.rest_pages("wc/store/v1/products", params, etag_key="wc:products"):
            if first and self.last_response is not None:
                self.high_water = http_date_to_rfc3339(self.last_response.headers.get("Date"))
                first = False
            for product in page:
                item = map_product(product)
                if item is None:
                    self.stats.skipped += 1
                    continue
                yield item
