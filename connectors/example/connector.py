# SPDX-License-Identifier: Apache-2.0
"""Example connector: Strapi v4 REST collections (`/api/<collection>`), as a template.

Copy this package, rename the class and `name`, change `map_entry` and `fetch`, adapt the
simulated site in site.py, and run `slotwise conformance --connector yourpkg:YourConnector`
until every check passes. Everything HTTP (retries, backoff, Retry-After, timeouts, errors
naming the URL) comes from `Connector.get_json`; never call httpx directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slotwise.connectors.base import Connector, Cursor, Item, MalformedResponse, shift
from slotwise.connectors.example.site import strapi_site

OVERLAP_SECONDS = 1.0


def map_entry(entry: Any, base: str) -> Item | None:
    """One Strapi entry -> the catalog's item shape; None for anything that is not an entry.

    Keep this pure (no HTTP): it is where most bugs hide, and a pure function is easy to test."""
    if not isinstance(entry, dict) or "id" not in entry or not isinstance(entry.get("attributes"), dict):
        return None
    a = entry["attributes"]
    image = (((a.get("cover") or {}).get("data") or {}).get("attributes") or {}).get("url")
    categories = [
        c["attributes"]["name"]
        for c in ((a.get("categories") or {}).get("data") or [])
        if isinstance(c, dict) and isinstance(c.get("attributes"), dict) and c["attributes"].get("name")
    ]
    return {
        "item_id": str(entry["id"]),
        "title": a.get("title"),
        "url": f"{base}/articles/{a['slug']}" if a.get("slug") else None,
        "image": (base + image) if isinstance(image, str) and image.startswith("/") else image,
        "price": a.get("price"),
        "currency": a.get("currency"),
        "categories": categories,
        "tags": [],
        "text": a.get("description") or "",
        "updated_at": a.get("updatedAt"),  # the base class turns it into RFC 3339 UTC
    }


class ExampleConnector(Connector):
    name = "example"
    description = "Example: Strapi v4 REST collection (/api/<collection>); copy it to add a CMS"

    def fetch(self, cursor: Cursor) -> Iterator[Item]:
        collection = str(self.options.get("collection", "articles"))
        params: dict[str, Any] = {"populate": "*", "sort": "updatedAt:asc", "pagination[pageSize]": self.page_size}
        if cursor.modified_after:
            # A small overlap: items changed in the same second are read again, and merge by id.
            params["filters[updatedAt][$gte]"] = shift(cursor.modified_after, -OVERLAP_SECONDS)
        page = 1
        while page <= self.max_pages:
            data, response = self.get_json(f"/api/{collection}", {**params, "pagination[page]": page})
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise MalformedResponse(f"{response.request.url}: expected {{'data': [...]}}")
            for entry in data["data"]:
                item = map_entry(entry, self.url)
                if item is None:
                    self.stats.skipped += 1
                    continue
                yield item
            pagination = (data.get("meta") or {}).get("pagination") or {}
            if not data["data"] or page >= int(pagination.get("pageCount") or 1):
                return
            page += 1

    @classmethod
    def conformance_site(cls, n: int) -> Any:
        """The simulated site the conformance kit syncs, changes and breaks (site.py)."""
        return strapi_site(n)
