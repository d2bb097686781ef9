# SPDX-License-Identifier: Apache-2.0
"""WordPress REST connector: posts, pages and custom post types, with terms and featured images.

Reads `/wp-json/wp/v2/<rest_base>` with `_embed` so featured images and terms arrive in the same
response (one request per page of 100, not one per post). Incremental runs send
`modified_after` (WordPress 5.7+) an hour before the cursor: WordPress compares it with the
site-local `post_modified` column, so the overlap absorbs any time-zone offset, and re-fetched
items merge by id. Deleted or unpublished posts are only noticed by a full sync (`--full`).

Sites with plain permalinks have no `/wp-json/` route: when the first page there is not JSON
(or a 404), the connector switches to `/?rest_route=/wp/v2/...`, which every site answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from slotwise.connectors.base import Connector, ConnectorError, Cursor, Item, MalformedResponse, NotJSON, shift
from slotwise.gateway.common.text import item_text, plain_text

# Post types that are not content a visitor would be recommended.
SKIP_TYPES = frozenset(
    {"attachment", "wp_block", "wp_template", "wp_template_part", "wp_navigation", "nav_menu_item", "wp_global_styles"}
)
OVERLAP_SECONDS = 3600.0


def map_post(post: Any, post_type: str) -> Item | None:
    """A WordPress REST post object as a catalog item (None for something that is not a post)."""
    if not isinstance(post, dict) or "id" not in post:
        return None
    embedded = given if isinstance(given := post.get("_embedded"), dict) else {}
    image = None
    media = embedded.get("wp:featuredmedia")
    if isinstance(media, list) and media and isinstance(media[0], dict):
        image = media[0].get("source_url") or None
    categories: list[str] = []
    tags: list[str] = []
    for group in embedded.get("wp:term") or []:
        for term in group if isinstance(group, list) else []:
            if not isinstance(term, dict) or not term.get("name"):
                continue
            name = plain_text(term["name"])
            (categories if term.get("taxonomy") in ("category", "product_cat") else tags).append(name)
    return {
        "item_id": str(post["id"]),
        "title": plain_text(post.get("title")),
        "url": post.get("link"),
        "image": image,
        "price": None,
        "currency": None,
        "categories": categories,
        "tags": tags,
        "text": item_text(post.get("excerpt"), post.get("content")),
        "updated_at": post.get("modified_gmt") or post.get("modified"),
        "type": post.get("type") or post_type,
        "published_at": post.get("date_gmt") or post.get("date"),
    }


def no_rest_route(exc: ConnectorError) -> bool:
    """What a site without /wp-json/ routing answers: its home page (HTML), a redirect to it
    (when redirects are not followed) or a 404."""
    return isinstance(exc, NotJSON) or re.search(r": HTTP (30[1278]|404)\b", str(exc)) is not None


class RestConnector(Connector):
    """Shared by WordPress-hosted APIs: `/wp-json/<route>`, or `?rest_route=` on plain permalinks."""

    plain_permalinks: bool | None = None  # None until the first request tells

    def rest(self, route: str) -> tuple[str, dict[str, Any]]:
        if self.plain_permalinks or self.options.get("rest_route") in (True, "1", "true", "yes"):
            return "/", {"rest_route": "/" + route.lstrip("/")}
        prefix = str(self.options.get("rest_prefix", "/wp-json")).rstrip("/")
        return f"{prefix}/{route.lstrip('/')}", {}

    def rest_pages(self, route: str, params: dict[str, Any], etag_key: str) -> Iterator[list[Any]]:
        path, extra = self.rest(route)
        read_any = False
        try:
            for page in self.paginate(path, {**params, **extra}, etag_key=etag_key):
                read_any = True
                yield page
        except ConnectorError as exc:
            first_try = not read_any and not self.plain_permalinks and "rest_route" not in extra
            if not first_try or not no_rest_route(exc):
                raise
            self.plain_permalinks = True
            self.stats.warnings.append(f"{path} is not a REST route here; using ?rest_route= instead")
            path, extra = self.rest(route)
            yield from self.paginate(path, {**params, **extra}, etag_key=etag_key)
        else:
            if self.plain_permalinks is None:
                self.plain_permalinks = "rest_route" in extra

    def rest_json(self, route: str) -> tuple[Any, Any]:
        path, extra = self.rest(route)
        try:
            return self.get_json(path, extra or None)
        except ConnectorError as exc:
            if extra or not no_rest_route(exc):
                raise
            self.plain_permalinks = True
            path, extra = self.rest(route)
            return self.get_json(path, extra)


class WordPressConnector(RestConnector):
    name = "wordpress"
    description = "WordPress REST API: posts, pages, custom post types (/wp-json/wp/v2)"

    def rest_bases(self) -> list[str]:
        """The collections to read: option `types` (list or comma string, default posts), or `auto` to read
        every viewable type the site lists in /wp/v2/types (custom post types included)."""
        types = self.options.get("types", ["posts"])
        if isinstance(types, str) and types != "auto":
            types = [t.strip() for t in types.split(",") if t.strip()]
        if types != "auto":
            return list(types)
        data, response = self.rest_json("wp/v2/types")
        if not isinstance(data, dict):
            raise MalformedResponse(f"{response.request.url}: expected a JSON object of post types")
        bases = []
        for slug, info in data.items():
            if slug in SKIP_TYPES or not isinstance(info, dict):
                continue
            base = info.get("rest_base")
            if isinstance(base, str) and base and info.get("rest_namespace", "wp/v2") == "wp/v2":
                bases.append(base)
        return bases

    def fetch(self, cursor: Cursor) -> Iterator[Item]:
        params: dict[str, Any] = {
            "_embed": "wp:featuredmedia,wp:term",
            "status": "publish",
            "orderby": "modified",
            "order": "asc",
        }
        if cursor.modified_after:
            params["modified_after"] = shift(cursor.modified_after, -OVERLAP_SECONDS)
        for base in self.rest_bases():
            for page in self.rest_pages(f"wp/v2/{base}", params, etag_key=f"wp:{base}"):
                for post in page:
                    item = map_post(post, base)
                    if item is None:
                        self.stats.skipped += 1
                        continue
                    yield item
