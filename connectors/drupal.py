# SPDX-License-Identifier: Apache-2.0
"""Drupal JSON:API connector: nodes with their images and taxonomy terms.

Reads `/jsonapi/node/{bundle}` with `include` so images and terms arrive in the same document
(`included`), follows `links.next` (same origin only), and syncs incrementally: runs after the
first ask for `changed >= cursor` (a Unix timestamp, as Drupal's entity query compares it),
sorted by `changed`. Unpublished nodes are skipped (a token that can see them still gets
them); like deletions they leave the catalog on a full sync (`--full`).

Item ids are node ids (`drupal_internal__nid`), which is what the Drupal module sends with
events and as the page's item, so recommendations and events meet on the same ids.

Options: `types` (bundles, comma list, default `article`, or `auto` to read every node bundle
the /jsonapi index lists), `include` (relationship fields, default `field_image,field_tags`;
a bundle without one of them is retried without `include`), `price_field`, `prefix`
(JSON:API path prefix, default `/jsonapi`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from slotwise.connectors.base import Connector, ConnectorError, Cursor, Item, MalformedResponse
from slotwise.gateway.common.text import item_text, plain_text

# Vocabularies whose terms are tags; other vocabularies' terms become categories.
TAG_VOCABULARIES = frozenset({"tags", "keywords", "labels"})


def _identifiers(relationship: Any) -> list[tuple[str, str]]:
    """(type, id) pairs of a relationship object; none for a missing or empty one."""
    if not isinstance(relationship, dict):
        return []
    data = relationship.get("data")
    refs = data if isinstance(data, list) else [data]
    return [
        (r["type"], r["id"])
        for r in refs
        if isinstance(r, dict) and isinstance(r.get("type"), str) and isinstance(r.get("id"), str)
    ]


def _image_url(resource: Mapping[str, Any], index: Mapping[tuple[str, str], Any], depth: int = 0) -> str | None:
    """URL of a file--file resource, or of the image inside a media--* resource."""
    attrs = given if isinstance(given := resource.get("attributes"), dict) else {}
    if str(resource.get("type", "")).startswith("file--"):
        uri = attrs.get("uri")
        url = uri.get("url") if isinstance(uri, dict) else None
        return url if isinstance(url, str) and url else None
    if depth < 2:  # media--image -> field_media_image -> file--file
        for rel in (resource.get("relationships") or {}).values():
            for ref in _identifiers(rel):
                target = index.get(ref)
                if isinstance(target, dict):
                    url = _image_url(target, index, depth + 1)
                    if url:
                        return url
    return None


def _price(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):  # commerce_price: {"number": "19.90", "currency_code": "EUR"}
        number, currency = value.get("number"), value.get("currency_code")
    else:
        number, currency = value, None
    try:
        return (float(number) if number not in (None, "") else None), (currency or None)
    except (TypeError, ValueError):
        return None, None


def map_node(
    node: Any,
    index: Mapping[tuple[str, str], Any],
    base: str,
    price_field: str | None = None,
    origin: str | None = None,
) -> Item | None:
    """A JSON:API node resource as a catalog item; None when it is not one or is unpublished.

    `base` is the site's URL (path aliases are relative to it), `origin` its scheme and host
    (file URLs are root-relative)."""
    if not isinstance(node, dict) or not isinstance(node.get("attributes"), dict):
        return None
    attrs = node["attributes"]
    if attrs.get("status") is False:
        return None
    nid = attrs.get("drupal_internal__nid")
    item_id = str(nid) if nid not in (None, "") else node.get("id")
    path = attrs.get("path") if isinstance(attrs.get("path"), dict) else {}
    if path.get("alias"):
        url = base + str(path["alias"])
    elif nid not in (None, ""):
        url = f"{base}/node/{nid}"
    else:
        url = None
    image = None
    categories: list[str] = []
    tags: list[str] = []
    relationships = given if isinstance(given := node.get("relationships"), dict) else {}
    for rel in relationships.values():
        for ref in _identifiers(rel):
            target = index.get(ref)
            if not isinstance(target, dict):
                continue  # not included: no access, deleted, or not asked for
            kind = ref[0]
            if kind.startswith("taxonomy_term--"):
                name = plain_text((target.get("attributes") or {}).get("name"))
                if name:
                    (tags if kind.split("--", 1)[1] in TAG_VOCABULARIES else categories).append(name)
            elif image is None and kind.startswith(("file--", "media--")):
                image = _image_url(target, index)
    if image and image.startswith("/"):
        image = (origin if origin is not None else base) + image
    price, currency = _price(attrs.get(price_field)) if price_field else (None, None)
    return {
        "item_id": item_id,
        "title": plain_text(attrs.get("title")),
        "url": url,
        "image": image,
        "price": price,
        "currency": currency,
        "categories": categories,
        "tags": tags,
        "text": item_text(attrs.get("body")),
        "updated_at": attrs.get("changed"),
        "type": str(node.get("type", "")).removeprefix("node--") or None,
        "uuid": node.get("id"),
        "language": attrs.get("langcode"),
    }


def unix_time(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())


class DrupalConnector(Connector):
    name = "drupal"
    description = "Drupal JSON:API: nodes with images and taxonomy terms (/jsonapi/node/{type})"

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        if self._own_client:
            self.client.headers["Accept"] = "application/vnd.api+json"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def prefix(self) -> str:
        return "/" + str(self.options.get("prefix", "/jsonapi")).strip("/")

    def bundles(self) -> list[str]:
        types = self.options.get("types", "article")
        if isinstance(types, str) and types != "auto":
            types = [t.strip() for t in types.split(",") if t.strip()]
        if types != "auto":
            return list(types)
        data, response = self.get_json(self.prefix())
        links = data.get("links") if isinstance(data, dict) else None
        if not isinstance(links, dict):
            raise MalformedResponse(f"{response.request.url}: expected the JSON:API index with 'links'")
        return sorted(k.split("--", 1)[1] for k in links if k.startswith("node--"))

    def fetch(self, cursor: Cursor) -> Iterator[Item]:
        include = str(self.options.get("include", "field_image,field_tags"))
        price_field = self.options.get("price_field") or None
        params: dict[str, Any] = {"filter[status]": 1, "sort": "changed", "page[limit]": min(self.page_size, 50)}
        if cursor.modified_after:
            params.update(
                {
                    "filter[since][condition][path]": "changed",
                    "filter[since][condition][operator]": ">=",
                    "filter[since][condition][value]": unix_time(cursor.modified_after),
                }
            )
        for bundle in self.bundles():
            for document in self.documents(f"{self.prefix()}/node/{bundle}", params, include):
                index = {
                    (r["type"], r["id"]): r
                    for r in document.get("included") or []
                    if isinstance(r, dict) and isinstance(r.get("type"), str) and isinstance(r.get("id"), str)
                }
                for node in document["data"]:
                    item = map_node(node, index, self.url, price_field, self.origin)
                    if item is None:
                        self.stats.skipped += 1
                        continue
                    yield item

    def documents(self, path: str, params: dict[str, Any], include: str) -> Iterator[dict[str, Any]]:
        """The JSON:API documents of one collection, following links.next."""
        query = {**params, "include": include} if include else dict(params)
        try:
            data, response = self.get_json(path, query)
        except ConnectorError as exc:
            if not include or "HTTP 400" not in str(exc):
                raise
            # A bundle without one of the include fields answers 400; read it without them.
            self.stats.warnings.append(f"{path}: include={include!r} refused, read without images/terms")
            data, response = self.get_json(path, dict(params))
        seen: set[str] = set()
        pages = 0
        while True:
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise MalformedResponse(
                    f"{response.request.url}: expected a JSON:API document with a 'data' list, got {_describe(data)}"
                )
            yield data
            pages += 1
            next_url = _next_href(data)
            if not next_url:
                return
            if urlsplit(next_url).netloc and not next_url.startswith(self.origin + "/"):
                self.stats.warnings.append(f"{path}: links.next leaves {self.origin}, not followed: {next_url}")
                return
            if next_url in seen or pages >= self.max_pages:
                self.stats.warnings.append(f"{path}: stopped paging at {next_url} (loop or max_pages)")
                return
            seen.add(next_url)
            data, response = self.get_json(next_url if urlsplit(next_url).netloc else self.origin + next_url)


def _next_href(document: Mapping[str, Any]) -> str | None:
    links = document.get("links")
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else nxt
    return href if isinstance(href, str) and href else None


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        return "an object with keys " + ", ".join(sorted(map(str, data))[:6]) if data else "an empty object"
    return type(data).__name__
