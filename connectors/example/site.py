# SPDX-License-Identifier: Apache-2.0
"""A simulated Strapi site for the conformance kit: answers like the real API, from memory."""

from __future__ import annotations

import httpx

from slotwise.connectors.conformance_sites import SimSite, _since, records


def render(site: SimSite, request: httpx.Request) -> httpx.Response:
    if request.url.path != "/api/articles":
        return httpx.Response(404, json={"data": None, "error": {"status": 404, "name": "NotFoundError"}})
    params = request.url.params
    since = _since(params.get("filters[updatedAt][$gte]"))
    rows = sorted((r for r in site.records if since is None or r.modified >= since), key=lambda r: r.modified)
    size = int(params.get("pagination[pageSize]", 25))
    page = int(params.get("pagination[page]", 1))
    chunk = rows[(page - 1) * size : page * size]
    data = [
        {
            "id": r.id,
            "attributes": {
                "title": r.title,
                "slug": f"item-{r.id}",
                "description": f"About {r.title}",
                "updatedAt": r.modified.isoformat().replace("+00:00", ".000Z"),
                "cover": {"data": {"id": 9, "attributes": {"url": f"/uploads/{r.id}.jpg"}}},
                "categories": {"data": [{"id": 1, "attributes": {"name": "Guides"}}]},
            },
        }
        for r in chunk
    ]
    meta = {
        "pagination": {"page": page, "pageSize": size, "pageCount": max(1, -(-len(rows) // size)), "total": len(rows)}
    }
    return httpx.Response(200, json={"data": data, "meta": meta})


def strapi_site(n: int) -> SimSite:
    return SimSite("https://strapi.example", render, records(n))
