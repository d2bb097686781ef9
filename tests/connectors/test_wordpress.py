# SPDX-License-Identifier: Apache-2.0
"""WordPress REST connector against respx-mocked endpoints, plus catalog merge and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from slotwise.connectors import catalogfile, cli, registry
from slotwise.connectors.base import AuthError, ConnectorError, Cursor, MalformedResponse
from slotwise.connectors.wordpress import WordPressConnector, map_post
from slotwise.gateway.common.text import plain_text

SITE = "https://blog.example"
POSTS = f"{SITE}/wp-json/wp/v2/posts"
PAGES = f"{SITE}/wp-json/wp/v2/pages"


def post(pid: int, title: str = "Hello", modified: str = "2026-05-01T10:00:00", **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "type": "post",
        "link": f"{SITE}/?p={pid}",
        "title": {"rendered": title},
        "excerpt": {"rendered": "<p>Short &amp; sweet</p>\n"},
        "content": {"rendered": "<p>Body</p>"},
        "modified_gmt": modified,
        "date_gmt": "2026-04-01T00:00:00",
        "_embedded": {
            "wp:featuredmedia": [{"source_url": f"{SITE}/img/{pid}.jpg"}],
            "wp:term": [
                [{"taxonomy": "category", "name": "News"}],
                [{"taxonomy": "post_tag", "name": "Hiking &amp; Camping"}],
            ],
        },
        **extra,
    }


def page_response(items: list[Any], total_pages: int | None = None, **headers: str) -> httpx.Response:
    if total_pages is not None:
        headers["X-WP-TotalPages"] = str(total_pages)
    return httpx.Response(200, json=items, headers=headers)


def conn(**kw: Any) -> WordPressConnector:
    kw.setdefault("options", {"types": "posts"})
    return WordPressConnector(SITE, sleep=lambda s: None, **kw)


def test_mapping_of_a_post() -> None:
    item = map_post(post(7, "Caf&eacute; <em>guide</em>"), "posts")
    assert item is not None
    assert item["item_id"] == "7" and item["title"] == "Café guide"
    assert item["url"] == f"{SITE}/?p=7" and item["image"] == f"{SITE}/img/7.jpg"
    assert item["categories"] == ["News"] and item["tags"] == ["Hiking & Camping"]
    assert item["text"] == "Short & sweet" and item["type"] == "post"
    assert map_post("not a post", "posts") is None
    assert plain_text({"rendered": "<b>a</b>\n\n b"}) == "a b"


@respx.mock
def test_pages_through_total_pages_header() -> None:
    route = respx.get(POSTS).mock(side_effect=[page_response([post(1), post(2)], 2), page_response([post(3)], 2)])
    c = conn(page_size=2)
    items = list(c.sync())
    assert [i["item_id"] for i in items] == ["1", "2", "3"]
    assert route.call_count == 2
    q = route.calls.last.request.url.params
    assert q["page"] == "2" and q["per_page"] == "2" and q["_embed"] == "wp:featuredmedia,wp:term"
    assert c.cursor.modified_after == "2026-05-01T10:00:00Z"


@respx.mock
def test_exact_multiple_of_page_size_with_total_header_stops() -> None:
    route = respx.get(POSTS).mock(side_effect=[page_response([post(1), post(2)], 1)])
    assert len(list(conn(page_size=2).sync())) == 2
    assert route.call_count == 1


@respx.mock
def test_exact_multiple_without_header_reads_one_empty_page() -> None:
    route = respx.get(POSTS).mock(side_effect=[page_response([post(1), post(2)]), page_response([])])
    assert len(list(conn(page_size=2).sync())) == 2
    assert route.call_count == 2


@respx.mock
def test_page_past_the_end_400_ends_listing() -> None:
    respx.get(POSTS).mock(
        side_effect=[
            page_response([post(1), post(2)]),
            httpx.Response(400, json={"code": "rest_post_invalid_page_number", "message": "out of range"}),
        ]
    )
    assert len(list(conn(page_size=2).sync())) == 2


@respx.mock
def test_empty_site() -> None:
    respx.get(POSTS).mock(return_value=page_response([], 0))
    c = conn()
    assert list(c.sync()) == [] and c.cursor.modified_after is None


@respx.mock
def test_incremental_sends_modified_after_with_overlap() -> None:
    route = respx.get(POSTS).mock(return_value=page_response([post(9, modified="2026-06-01T00:00:00")], 1))
    c = conn()
    list(c.sync(Cursor(modified_after="2026-05-01T10:00:00Z")))
    assert route.calls.last.request.url.params["modified_after"] == "2026-05-01T09:00:00Z"
    assert c.cursor.modified_after == "2026-06-01T00:00:00Z"


@respx.mock
def test_posts_and_pages_and_duplicates() -> None:
    respx.get(POSTS).mock(return_value=page_response([post(1), post(1), {"id": 5, "title": {"rendered": ""}}], 1))
    respx.get(PAGES).mock(return_value=page_response([post(2, type="page")], 1))
    c = conn(options={"types": "posts,pages"})
    assert [i["item_id"] for i in c.sync()] == ["1", "2"]
    assert c.stats.skipped == 1


@respx.mock
def test_auto_discovers_custom_post_types() -> None:
    respx.get(f"{SITE}/wp-json/wp/v2/types").mock(
        return_value=httpx.Response(
            200,
            json={
                "post": {"rest_base": "posts"},
                "attachment": {"rest_base": "media"},
                "recipe": {"rest_base": "recipes", "rest_namespace": "wp/v2"},
                "wp_block": {"rest_base": "blocks"},
            },
        )
    )
    respx.get(POSTS).mock(return_value=page_response([post(1)], 1))
    recipes = respx.get(f"{SITE}/wp-json/wp/v2/recipes").mock(return_value=page_response([post(2, type="recipe")], 1))
    items = list(conn(options={"types": "auto"}).sync())
    assert [i["type"] for i in items] == ["post", "recipe"] and recipes.called


@respx.mock
def test_malformed_json_page() -> None:
    respx.get(POSTS).mock(return_value=httpx.Response(200, text='[{"id": 1,'))
    plain = respx.get(f"{SITE}/").mock(return_value=httpx.Response(200, text='[{"id": 1,'))
    with pytest.raises(MalformedResponse, match="not JSON"):
        list(conn().sync())
    assert plain.called  # tried ?rest_route= once before giving up


@respx.mock
def test_malformed_json_after_first_page_does_not_switch_routes() -> None:
    respx.get(POSTS).mock(side_effect=[page_response([post(1), post(2)], 3), httpx.Response(200, text="<html>")])
    plain = respx.get(f"{SITE}/").mock(return_value=page_response([], 0))
    with pytest.raises(MalformedResponse):
        list(conn(page_size=2).sync())
    assert not plain.called


@respx.mock
def test_redirect_to_home_page_also_means_plain_permalinks() -> None:
    respx.get(POSTS).mock(return_value=httpx.Response(301, headers={"Location": f"{SITE}/"}))
    respx.get(f"{SITE}/", params={"rest_route": "/wp/v2/posts"}).mock(return_value=page_response([post(1)], 1))
    client = httpx.Client(follow_redirects=False)
    c = WordPressConnector(SITE, client=client, sleep=lambda s: None, options={"types": "posts"})
    assert [i["item_id"] for i in c.sync()] == ["1"]
    client.close()


@respx.mock
def test_plain_permalinks_fall_back_to_rest_route() -> None:
    respx.get(POSTS).mock(return_value=httpx.Response(200, text="<!DOCTYPE html><html>home</html>"))
    plain = respx.get(f"{SITE}/", params={"rest_route": "/wp/v2/posts"}).mock(return_value=page_response([post(1)], 1))
    c = conn()
    assert [i["item_id"] for i in c.sync()] == ["1"]
    assert plain.calls.last.request.url.params["page"] == "1"
    assert c.plain_permalinks is True and "rest_route" in c.stats.warnings[0]


@respx.mock
def test_401_and_5xx_and_timeout_and_429() -> None:
    respx.get(POSTS).mock(return_value=httpx.Response(401, json={"code": "rest_forbidden"}))
    with pytest.raises(AuthError):
        list(conn().sync())
    respx.get(POSTS).mock(return_value=httpx.Response(502))
    with pytest.raises(ConnectorError, match="HTTP 502"):
        list(conn(retries=1).sync())
    respx.get(POSTS).mock(side_effect=httpx.ConnectTimeout("x"))
    with pytest.raises(ConnectorError, match="timed out"):
        list(conn(retries=0).sync())
    waits: list[float] = []
    respx.get(POSTS).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), page_response([post(1)], 1)])
    c = WordPressConnector(SITE, sleep=waits.append, options={"types": "posts"})
    assert len(list(c.sync())) == 1 and waits == [3.0]


def test_registry_knows_wordpress() -> None:
    assert registry.get("wordpress") is WordPressConnector
    assert {"wordpress", "woocommerce"} <= set(registry.names())


def test_catalog_merge_is_by_id_and_full_removes_only_own_source(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"item_id": "x", "title": "Other", "source": "files"}) + "\nnot json\n")
    a = {"item_id": "1", "title": "A"}
    b = {"item_id": "2", "title": "B"}
    r = catalogfile.merge(path, [a, b], source="wp s")
    assert (r.added, r.total, r.bad_lines) == (2, 3, [2])
    r = catalogfile.merge(path, [{**a, "title": "A2"}], source="wp s")
    assert (r.updated, r.added, r.total) == (1, 0, 3)
    r = catalogfile.merge(path, [{**a, "title": "A2"}], source="wp s", full=True)
    assert (r.unchanged, r.removed, r.total) == (1, 1, 2)
    ids = [json.loads(line)["item_id"] for line in path.read_text().splitlines()]
    assert ids == ["x", "1"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


@respx.mock
def test_cli_sync_then_incremental(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "items.jsonl"
    route = respx.get(POSTS).mock(return_value=page_response([post(1), post(2)], 1))
    respx.get(PAGES).mock(return_value=page_response([], 0))
    assert cli.main(["sync", "--connector", "wordpress", "--url", SITE, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 item(s) fetched (first sync)" in text and "2 added" in text
    assert cli.main(["sync", "--connector", "wordpress", "--url", SITE, "--out", str(out)]) == 0
    assert "incremental sync" in capsys.readouterr().out
    assert route.calls.last.request.url.params["modified_after"] == "2026-05-01T09:00:00Z"


@respx.mock
def test_cli_failure_is_clear_and_leaves_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "items.jsonl"
    out.write_text('{"item_id": "k", "title": "Keep"}\n')
    respx.get(POSTS).mock(return_value=httpx.Response(401))
    assert cli.main(["sync", "--connector", "wordpress", "--url", SITE, "--out", str(out), "--retries", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "401" in err
    assert out.read_text() == '{"item_id": "k", "title": "Keep"}\n'
    assert cli.main(["sync", "--connector", "nope", "--url", SITE, "--out", str(out)]) == 1
    assert "unknown connector 'nope'" in capsys.readouterr().err
    assert cli.main(["sync", "--connector", "wordpress", "--url", SITE]) == 1
    assert "--out" in capsys.readouterr().err


@respx.mock
def test_cli_writes_to_the_catalog_path_of_a_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "slotwise.yaml"
    config.write_text(
        "sites:\n  s: {publishable_key: pk_s, secret_key: sk_s}\ncatalog: {path: data/items.jsonl}\n"
        'slots:\n  hero: {default: {type: html, html: "<p>x</p>"}}\n'
    )
    respx.get(POSTS).mock(return_value=page_response([post(1)], 1))
    assert cli.main(["sync", "--connector", "wordpress", "--url", SITE, "--config", str(config)]) == 0
    assert json.loads((tmp_path / "data" / "items.jsonl").read_text())["item_id"] == "1"
    assert (tmp_path / "data" / "items.jsonl.cursors.json").exists()
    config.write_text("sites:\n  s: {publishable_key: pk_s, secret_key: sk_s}\n")
    assert cli.main(["sync", "--connector", "wordpress", "--url", SITE, "--config", str(config)]) == 1
    assert "catalog.path is not set" in capsys.readouterr().err
