# SPDX-License-Identifier: Apache-2.0
"""Drupal JSON:API connector against respx-mocked documents shaped like Drupal 10's output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from slotwise.connectors import cli
from slotwise.connectors.base import AuthError, ConnectorError, Cursor, MalformedResponse
from slotwise.connectors.drupal import DrupalConnector, map_node, unix_time

SITE = "https://www.example.org"
ARTICLES = f"{SITE}/jsonapi/node/article"
JSONAPI = {"Content-Type": "application/vnd.api+json"}


def node(
    nid: int,
    title: str = "Wool socks",
    changed: str = "2026-05-01T10:00:00+00:00",
    *,
    status: bool = True,
    image: str | None = "file-1",
    tags: list[str] | None = None,
    alias: str | None = None,
    **attrs: Any,
) -> dict[str, Any]:
    rel: dict[str, Any] = {
        "node_type": {"data": {"type": "node_type--node_type", "id": "nt-article"}},
        "uid": {"data": {"type": "user--user", "id": "u-1"}},
        "field_image": {
            "data": ({"type": "file--file", "id": image, "meta": {"alt": "A sock"}} if image else None),
            "links": {"related": {"href": f"{ARTICLES}/uuid-{nid}/field_image"}},
        },
        "field_tags": {"data": [{"type": "taxonomy_term--tags", "id": t} for t in (tags or [])]},
    }
    return {
        "type": "node--article",
        "id": f"uuid-{nid}",
        "links": {"self": {"href": f"{ARTICLES}/uuid-{nid}?resourceVersion=id%3A{nid}"}},
        "attributes": {
            "drupal_internal__nid": nid,
            "drupal_internal__vid": nid * 10,
            "langcode": "en",
            "status": status,
            "title": title,
            "created": "2026-01-01T00:00:00+00:00",
            "changed": changed,
            "promote": True,
            "sticky": False,
            "path": {"alias": alias, "pid": None, "langcode": "en"},
            "body": {
                "value": "<p>Warm &amp; soft.</p>",
                "format": "basic_html",
                "processed": "<p>Warm &amp; soft.</p>",
                "summary": "",
            },
            **attrs,
        },
        "relationships": rel,
    }


INCLUDED = [
    {
        "type": "file--file",
        "id": "file-1",
        "attributes": {
            "drupal_internal__fid": 1,
            "filename": "sock.jpg",
            "filemime": "image/jpeg",
            "uri": {"value": "public://2026-05/sock.jpg", "url": "/sites/default/files/2026-05/sock.jpg"},
        },
    },
    {"type": "taxonomy_term--tags", "id": "t-wool", "attributes": {"name": "Wool", "drupal_internal__tid": 3}},
    {"type": "taxonomy_term--category", "id": "c-winter", "attributes": {"name": "Winter &amp; cold"}},
]


def doc(data: list[Any], next_href: str | None = None, included: list[Any] | None = None) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": ARTICLES}}
    if next_href:
        links["next"] = {"href": next_href}
    return {
        "jsonapi": {"version": "1.0", "meta": {"links": {"self": {"href": "http://jsonapi.org/format/1.0/"}}}},
        "data": data,
        "included": INCLUDED if included is None else included,
        "links": links,
    }


def reply(document: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(document), headers=JSONAPI)


def conn(**kw: Any) -> DrupalConnector:
    return DrupalConnector(SITE, sleep=lambda s: None, **kw)


def test_maps_a_node_with_included_image_and_terms() -> None:
    n = node(7, alias="/blog/wool-socks", tags=["t-wool", "c-winter"])
    n["relationships"]["field_tags"]["data"][1]["type"] = "taxonomy_term--category"
    index = {(r["type"], r["id"]): r for r in INCLUDED}
    item = map_node(n, index, SITE, origin=SITE)
    assert item is not None
    assert item["item_id"] == "7" and item["uuid"] == "uuid-7"
    assert item["url"] == f"{SITE}/blog/wool-socks"
    assert item["image"] == f"{SITE}/sites/default/files/2026-05/sock.jpg"
    assert item["tags"] == ["Wool"] and item["categories"] == ["Winter & cold"]
    assert item["text"] == "Warm & soft." and item["type"] == "article" and item["language"] == "en"


def test_missing_relationships_and_unincluded_resources_are_tolerated() -> None:
    n = node(8, image=None, tags=["t-gone"])  # no image; a term the visitor may not see
    del n["relationships"]["field_tags"]
    n["relationships"]["field_other"] = {"data": {"type": "taxonomy_term--tags", "id": "not-included"}}
    n["relationships"]["broken"] = "nonsense"
    item = map_node(n, {}, SITE)
    assert item is not None and item["image"] is None and item["tags"] == [] and item["url"] == f"{SITE}/node/8"


def test_media_image_is_followed_to_its_file() -> None:
    n = node(9, image=None)
    n["relationships"]["field_media"] = {"data": {"type": "media--image", "id": "m-1"}}
    media = {
        "type": "media--image",
        "id": "m-1",
        "attributes": {"name": "Sock"},
        "relationships": {"field_media_image": {"data": {"type": "file--file", "id": "file-1"}}},
    }
    index = {(r["type"], r["id"]): r for r in [*INCLUDED, media]}
    assert map_node(n, index, SITE)["image"] == f"{SITE}/sites/default/files/2026-05/sock.jpg"


@respx.mock
def test_sync_follows_links_next_and_skips_unpublished() -> None:
    page2 = f"{ARTICLES}?page%5Boffset%5D=2&page%5Blimit%5D=2"
    first = respx.get(ARTICLES, params={"page[offset]": "2"}).mock(
        return_value=reply(doc([node(3, changed="2026-05-03T08:00:00+00:00")]))
    )
    start = respx.get(ARTICLES).mock(
        return_value=reply(doc([node(1, tags=["t-wool"]), node(2, "Draft", status=False)], next_href=page2))
    )
    c = conn()
    items = list(c.sync())
    assert [i["item_id"] for i in items] == ["1", "3"]
    assert items[0]["tags"] == ["Wool"] and items[0]["image"].endswith("/sock.jpg")
    assert c.stats.skipped == 1 and c.stats.pages == 2
    assert c.cursor.modified_after == "2026-05-03T08:00:00Z"
    params = start.calls[0].request.url.params
    assert params["include"] == "field_image,field_tags" and params["filter[status]"] == "1"
    assert params["sort"] == "changed" and params["page[limit]"] == "50"
    assert first.call_count == 1
    assert start.calls[0].request.headers["Accept"] == "application/vnd.api+json"


@respx.mock
def test_incremental_sync_filters_on_changed_as_a_timestamp() -> None:
    route = respx.get(ARTICLES).mock(return_value=reply(doc([node(4, changed="2026-05-05T00:00:00+00:00")])))
    c = conn()
    items = list(c.sync(Cursor("2026-05-01T10:00:00Z")))
    assert [i["item_id"] for i in items] == ["4"]
    params = route.calls[0].request.url.params
    assert params["filter[since][condition][path]"] == "changed"
    assert params["filter[since][condition][operator]"] == ">="
    assert params["filter[since][condition][value]"] == str(unix_time("2026-05-01T10:00:00Z")) == "1777629600"


@respx.mock
def test_retries_429_and_5xx() -> None:
    respx.get(ARTICLES).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(502), reply(doc([node(1)]))]
    )
    c = conn()
    assert [i["item_id"] for i in c.sync()] == ["1"]
    assert c.stats.retries == 2


@respx.mock
def test_bundle_without_the_include_fields_is_read_without_them() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "include" in request.url.params:
            return reply(
                {
                    "errors": [
                        {
                            "status": "400",
                            "title": "Bad Request",
                            "detail": "`field_image` is not a valid relationship field name.",
                        }
                    ]
                },
                400,
            )
        return reply(doc([node(5, image=None)], included=[]))

    respx.get(f"{SITE}/jsonapi/node/page").mock(side_effect=answer)
    c = conn(options={"types": "page"})
    assert [i["item_id"] for i in c.sync()] == ["5"]
    assert "include" in c.stats.warnings[0]


@respx.mock
def test_auto_types_from_the_jsonapi_index() -> None:
    respx.get(f"{SITE}/jsonapi").mock(
        return_value=reply(
            {
                "data": [],
                "links": {
                    "self": {"href": f"{SITE}/jsonapi"},
                    "node--article": {"href": ARTICLES},
                    "node--recipe": {"href": f"{SITE}/jsonapi/node/recipe"},
                    "taxonomy_term--tags": {"href": "x"},
                },
            }
        )
    )
    respx.get(ARTICLES).mock(return_value=reply(doc([node(1)])))
    respx.get(f"{SITE}/jsonapi/node/recipe").mock(return_value=reply(doc([{**node(2), "type": "node--recipe"}])))
    items = list(conn(options={"types": "auto"}).sync())
    assert [(i["item_id"], i["type"]) for i in items] == [("1", "article"), ("2", "recipe")]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<!DOCTYPE html><html>Site under maintenance</html>"),
        reply({"data": {"type": "node--article", "id": "x"}}),
        reply(["not", "a", "document"]),
        httpx.Response(200, content=b'{"data": [{"type": "node--art'),
    ],
)
@respx.mock
def test_malformed_responses_raise_a_clear_error(response: httpx.Response) -> None:
    respx.get(ARTICLES).mock(return_value=response)
    with pytest.raises(MalformedResponse, match="jsonapi/node/article"):
        list(conn().sync())


@respx.mock
def test_malformed_resources_are_skipped_not_fatal() -> None:
    respx.get(ARTICLES).mock(
        return_value=reply(doc([node(1), "junk", {"type": "node--article"}, node(2, title="   ")]))
    )
    c = conn()
    assert [i["item_id"] for i in c.sync()] == ["1"]
    assert c.stats.skipped == 3


@respx.mock
def test_next_link_to_another_host_or_a_loop_is_not_followed() -> None:
    respx.get(ARTICLES, params={"page[offset]": "2"}).mock(
        return_value=reply(doc([node(2)], next_href=f"{ARTICLES}?page%5Boffset%5D=2"))
    )
    respx.get(ARTICLES).mock(return_value=reply(doc([node(1)], next_href=f"{ARTICLES}?page%5Boffset%5D=2")))
    c = conn()
    assert [i["item_id"] for i in c.sync()] == ["1", "2"]
    assert "loop" in c.stats.warnings[0]
    respx.get(ARTICLES).mock(return_value=reply(doc([node(1)], next_href="https://evil.example/steal")))
    c = conn()
    assert [i["item_id"] for i in c.sync()] == ["1"]
    assert "not followed" in c.stats.warnings[0]


@respx.mock
def test_403_is_an_auth_error() -> None:
    respx.get(ARTICLES).mock(return_value=reply({"errors": [{"status": "403"}]}, 403))
    with pytest.raises(AuthError):
        list(conn().sync())


@respx.mock
def test_sync_cli_reports_counts_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    respx.get(ARTICLES).mock(return_value=reply(doc([node(1), node(2, status=False)])))
    out = tmp_path / "items.jsonl"
    assert cli.main(["sync", "--connector", "drupal", "--url", SITE, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "drupal: 1 item(s) fetched (first sync), 1 skipped" in printed
    assert json.loads(out.read_text())["item_id"] == "1"
    respx.get(ARTICLES).mock(return_value=httpx.Response(500, text="boom"))
    assert cli.main(["sync", "--connector", "drupal", "--url", SITE, "--out", str(out), "--retries", "0"]) == 1
    assert "HTTP 500" in capsys.readouterr().err
    assert json.loads(out.read_text())["item_id"] == "1", "a failed run leaves the catalog alone"


def test_bad_url_is_refused() -> None:
    with pytest.raises(ConnectorError, match="http"):
        DrupalConnector("ftp://example.org")
