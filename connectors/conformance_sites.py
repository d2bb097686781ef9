# SPDX-License-Identifier: Apache-2.0
"""Simulated CMS sites the conformance kit runs the built-in connectors against.

Each site is an httpx handler over a few in-memory records that answers the way the real CMS
does (paging headers or links, modified-since filters, includes), so the kit can sync, change
a record (`touch`) and sync again, with faults injected around it. A third-party connector
ships its own site the same way: a `conformance_site(n)` classmethod returning a `SimSite`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Record:
    id: int
    title: str
    modified: datetime


@dataclass
class SimSite:
    """A fake site: `handler` answers httpx requests; `touch()` changes one record."""

    url: str
    render: Callable[[SimSite, httpx.Request], httpx.Response]
    records: list[Record] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    id_of: Callable[[Record], str] = lambda r: str(r.id)

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self.render(self, request)

    def expected_ids(self) -> set[str]:
        return {self.id_of(r) for r in self.records}

    def touch(self) -> str | None:
        """Change the oldest record (now newest); its id, or None on an empty site."""
        if not self.records:
            return None
        record = min(self.records, key=lambda r: r.modified)
        record.modified = max(r.modified for r in self.records) + timedelta(hours=1)
        record.title += " (updated)"
        return self.id_of(record)


def records(n: int) -> list[Record]:
    return [Record(i + 1, f"Item {i + 1}", START + timedelta(minutes=i)) for i in range(n)]


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def _wp_page(
    site: SimSite, request: httpx.Request, since_param: str, order: Callable[[Record], Any]
) -> tuple[list[Record], int, int]:
    """A WordPress REST list: the records changed after the query's `since_param`, in `order`,
    paged by `per_page` and `page`. This page, the number of pages and the number of records."""
    params = request.url.params
    since = _since(params.get(since_param))
    rows = sorted((r for r in site.records if since is None or r.modified > since), key=order)
    per = int(params.get("per_page", 10))
    page = int(params.get("page", 1))
    return rows[(page - 1) * per : page * per], max(1, -(-len(rows) // per)), len(rows)


Handler = Callable[[SimSite, httpx.Request], httpx.Response]


def wp_route(path: str) -> Callable[[Handler], Handler]:
    """A WordPress REST route at `path`; any other path gets WordPress' own 404 (rest_no_route)."""

    def route(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def serve(site: SimSite, request: httpx.Request) -> httpx.Response:
            if request.url.path != path:
                return httpx.Response(404, json={"code": "rest_no_route"})
            return handler(site, request)

        return serve

    return route


@wp_route("/wp-json/wp/v2/posts")
def wordpress(site: SimSite, request: httpx.Request) -> httpx.Response:
    chunk, total, n = _wp_page(site, request, "modified_after", lambda r: r.modified)
    posts = [
        {
            "id": r.id,
            "type": "post",
            "link": f"{site.url}/?p={r.id}",
            "title": {"rendered": r.title},
            "excerpt": {"rendered": f"<p>About {r.title}</p>"},
            "modified_gmt": _iso(r.modified),
            "_embedded": {"wp:term": [[{"taxonomy": "category", "name": "News"}]]},
        }
        for r in chunk
    ]
    return httpx.Response(200, json=posts, headers={"X-WP-TotalPages": str(total), "X-WP-Total": str(n)})


@wp_route("/wp-json/wc/store/v1/products")
def woocommerce(site: SimSite, request: httpx.Request) -> httpx.Response:
    chunk, total, _ = _wp_page(site, request, "after", lambda r: r.id)
    products = [
        {
            "id": r.id,
            "name": r.title,
            "permalink": f"{site.url}/product/{r.id}",
            "prices": {"price": str(1000 + r.id), "currency_code": "EUR", "currency_minor_unit": 2},
            "categories": [{"name": "Shoes"}],
            "images": [{"src": f"{site.url}/img/{r.id}.jpg"}],
        }
        for r in chunk
    ]
    # Products carry no date: the connector's cursor is the server clock, just after the last change.
    now = max((r.modified for r in site.records), default=START) + timedelta(minutes=1)
    return httpx.Response(
        200, json=products, headers={"X-WP-TotalPages": str(total), "Date": now.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    )


def drupal(site: SimSite, request: httpx.Request) -> httpx.Response:
    if request.url.path != "/jsonapi/node/article":
        return httpx.Response(
            404,
            json={"errors": [{"status": "404", "title": "Not Found"}]},
            headers={"Content-Type": "application/vnd.api+json"},
        )
    params = request.url.params
    since = _since(params.get("filter[since][condition][value]"))
    rows = sorted((r for r in site.records if since is None or r.modified >= since), key=lambda r: r.modified)
    limit = int(params.get("page[limit]", 50))
    offset = int(params.get("page[offset]", 0))
    chunk = rows[offset : offset + limit]
    data = [
        {
            "type": "node--article",
            "id": f"uuid-{r.id}",
            "attributes": {
                "drupal_internal__nid": r.id,
                "title": r.title,
                "status": True,
                "changed": r.modified.isoformat(),
                "path": {"alias": f"/articles/{r.id}"},
                "body": {"value": f"<p>About {r.title}</p>", "summary": ""},
            },
            "relationships": {
                "field_tags": {"data": [{"type": "taxonomy_term--tags", "id": "t1"}]},
                "field_image": {"data": None},
            },
        }
        for r in chunk
    ]
    doc: dict[str, Any] = {
        "jsonapi": {"version": "1.0"},
        "data": data,
        "included": [{"type": "taxonomy_term--tags", "id": "t1", "attributes": {"name": "Wool"}}],
        "links": {"self": {"href": str(request.url)}},
    }
    if offset + limit < len(rows):
        query = {k: v for k, v in params.items() if k != "page[offset]"}
        query["page[offset]"] = str(offset + limit)
        doc["links"]["next"] = {"href": f"{site.url}/jsonapi/node/article?{urlencode(query)}"}
    return httpx.Response(200, content=json.dumps(doc), headers={"Content-Type": "application/vnd.api+json"})


def files(site: SimSite, request: httpx.Request) -> httpx.Response:
    if request.url.path != "/export/items.jsonl":
        return httpx.Response(404, text="not found")
    body = "".join(
        json.dumps(
            {
                "item_id": f"sku-{r.id}",
                "title": r.title,
                "url": f"{site.url}/p/{r.id}",
                "categories": ["Shoes"],
                "updated_at": r.modified.isoformat(),
            }
        )
        + "\n"
        for r in site.records
    )
    etag = f'"{abs(hash(body))}"'
    if request.headers.get("If-None-Match") == etag:
        return httpx.Response(304)
    return httpx.Response(200, text=body, headers={"ETag": etag, "Content-Type": "application/x-ndjson"})


def site_for(name: str, n: int) -> SimSite | None:
    """The simulated site of a built-in connector (None for one the kit does not know)."""
    rows = records(n)
    if name == "wordpress":
        return SimSite("https://blog.example", wordpress, rows, {"types": "posts"})
    if name == "woocommerce":
        return SimSite("https://shop.example", woocommerce, rows)
    if name == "drupal":
        return SimSite("https://drupal.example", drupal, rows, {"types": "article"})
    if name == "files":
        return SimSite("https://cms.example/export/items.jsonl", files, rows, id_of=lambda r: f"sku-{r.id}")
    return None
