# SPDX-License-Identifier: Apache-2.0
"""File and feed connector: JSON lines, CSV, RSS and Atom, local and over HTTP (respx)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from slotwise.connectors import cli
from slotwise.connectors.base import ConnectorError, Cursor, MalformedResponse
from slotwise.connectors.files import FilesConnector, UnsafeXML, parse_xml

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Shop news</title><link>https://shop.example/</link>
  <item><title>Wool socks &amp; more</title><link>https://shop.example/socks</link>
    <guid isPermaLink="false">post-12</guid><pubDate>Tue, 05 May 2026 10:00:00 +0200</pubDate>
    <description><![CDATA[<p>Warm <b>socks</b></p>]]></description>
    <category>Winter</category><category>Knitwear</category>
    <media:thumbnail url="https://shop.example/socks.jpg"/></item>
  <item><title>Linen shirts</title><link>https://shop.example/linen</link>
    <enclosure url="https://shop.example/linen.jpg" type="image/jpeg" length="1"/></item>
  <item><description>no title, no link</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:blog</id><updated>2026-05-01T00:00:00Z</updated>
  <entry><title type="html">Trail &lt;em&gt;guide&lt;/em&gt;</title><id>urn:uuid:1225c695</id>
    <link rel="alternate" href="https://blog.example/trail"/><link rel="edit" href="https://blog.example/edit/1"/>
    <updated>2026-05-02T08:30:00Z</updated><summary>Where to hike</summary><category term="Outdoors"/></entry>
</feed>"""


def sync(path: Any, **options: Any) -> tuple[list[dict[str, Any]], FilesConnector]:
    c = FilesConnector(str(path), options=options, sleep=lambda s: None)
    with c:
        return list(c.sync()), c


def test_json_lines_with_a_bad_line_in_the_middle(tmp_path: Path) -> None:
    f = tmp_path / "items.jsonl"
    f.write_text(
        '{"item_id": 1, "title": "A", "categories": ["x"], "price": "9.5"}\n'
        'not json\n[1]\n\n{"item_id": "b", "title": "B", "updated_at": "2026-05-01T10:00:00+02:00"}\n'
    )
    items, c = sync(f)
    assert [(i["item_id"], i["price"]) for i in items] == [("1", 9.5), ("b", None)]
    assert items[1]["updated_at"] == "2026-05-01T08:00:00Z"
    assert len(c.stats.warnings) == 2 and "items.jsonl:2" in c.stats.warnings[0]


def test_a_cut_off_last_line_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "items.jsonl"
    f.write_text('{"item_id": 1, "title": "A"}\n{"item_id": 2, "tit')
    with pytest.raises(MalformedResponse, match="truncated"):
        sync(f)


def test_json_array_is_accepted(tmp_path: Path) -> None:
    f = tmp_path / "items.json"
    f.write_text(json.dumps([{"item_id": "a", "title": "A"}, "junk"]))
    assert [i["item_id"] for i in sync(f)[0]] == ["a"]


def test_csv_with_lists_and_renamed_columns(tmp_path: Path) -> None:
    f = tmp_path / "export.csv"
    f.write_text(
        "\ufeffsku,name,price,categories,tags,url\n"
        'S1,"Socks, wool",12.00,Winter|Knitwear,"soft, warm",https://shop.example/s1\n'
        "S2,Shirt,,,,\n,Nameless,1,,,\n"
    )
    items, c = sync(f, columns="item_id=sku,title=name")
    assert [i["item_id"] for i in items] == ["S1", "S2"]
    assert items[0]["title"] == "Socks, wool" and items[0]["price"] == 12.0
    assert items[0]["categories"] == ["Winter", "Knitwear"] and items[0]["tags"] == ["soft", "warm"]
    assert items[1]["price"] is None and items[1]["url"] is None
    assert c.stats.skipped == 1


def test_rss_feed(tmp_path: Path) -> None:
    f = tmp_path / "feed.xml"
    f.write_text(RSS)
    items, c = sync(f)
    assert [i["item_id"] for i in items] == ["post-12", "https://shop.example/linen"]
    socks = items[0]
    assert socks["title"] == "Wool socks & more" and socks["text"] == "Warm socks"
    assert socks["categories"] == ["Winter", "Knitwear"] and socks["image"] == "https://shop.example/socks.jpg"
    assert socks["updated_at"] == "2026-05-05T08:00:00Z"
    assert items[1]["image"] == "https://shop.example/linen.jpg"
    assert c.stats.skipped == 1


def test_atom_feed(tmp_path: Path) -> None:
    f = tmp_path / "feed.atom"
    f.write_text(ATOM)
    [item], _ = sync(f)
    assert item == {
        **item,
        "item_id": "urn:uuid:1225c695",
        "title": "Trail guide",
        "url": "https://blog.example/trail",
        "categories": ["Outdoors"],
        "updated_at": "2026-05-02T08:30:00Z",
        "text": "Where to hike",
    }


@pytest.mark.parametrize(
    "doc",
    [
        # billion laughs
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><rss><channel><item><title>&lol2;</title>'
        "<link>https://x/1</link></item></channel></rss>",
        # external entity (XXE)
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<rss><channel><item><title>&x;</title><link>https://x/1</link></item></channel></rss>",
        # external parameter entity
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]><rss/>',
    ],
)
def test_entity_declarations_are_refused(tmp_path: Path, doc: str) -> None:
    f = tmp_path / "feed.xml"
    f.write_text(doc)
    with pytest.raises(UnsafeXML, match="entit"):
        sync(f)


def test_plain_doctype_without_entities_still_parses() -> None:
    root = parse_xml(
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        b"<item><title>A &amp; B</title></item></channel></rss>"
    )
    assert root.findtext(".//title") == "A & B"


def test_broken_xml_and_wrong_root(tmp_path: Path) -> None:
    f = tmp_path / "feed.xml"
    f.write_text("<rss><channel><item></channel>")
    with pytest.raises(MalformedResponse, match="not well-formed"):
        sync(f)
    f.write_text("<html><body>hi</body></html>")
    with pytest.raises(MalformedResponse, match="HTML page"):
        sync(f)
    f.write_text("<catalog/>")
    with pytest.raises(MalformedResponse, match="RSS or Atom"):
        sync(f)


def test_unchanged_local_file_is_not_read_again(tmp_path: Path) -> None:
    f = tmp_path / "items.jsonl"
    f.write_text('{"item_id": 1, "title": "A"}\n')
    c = FilesConnector(str(f))
    assert len(list(c.sync())) == 1
    cursor = Cursor.from_dict(json.loads(json.dumps(c.cursor.to_dict())))
    assert list(c.sync(cursor)) == [] and c.stats.not_modified == 1
    f.write_text('{"item_id": 1, "title": "A"}\n{"item_id": 2, "title": "B"}\n')
    os.utime(f, ns=(1, 1))
    assert len(list(c.sync(cursor))) == 2


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="No such file"):
        sync(tmp_path / "nope.csv")
    f = tmp_path / "x.csv"
    f.write_text("item_id,title\n1,A\n")
    with pytest.raises(ConnectorError, match="format"):
        sync(f, format="yaml")
    with pytest.raises(ConnectorError, match="columns"):
        sync(f, columns="item_id")
    assert sync(f"file://{f}")[0][0]["item_id"] == "1"


@respx.mock
def test_feed_over_http_with_etag_and_retries() -> None:
    url = "https://shop.example/feed"
    route = respx.get(url).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, text=RSS, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"}),
            httpx.Response(304),
        ]
    )
    c = FilesConnector(url, sleep=lambda s: None)
    assert len(list(c.sync())) == 2 and c.stats.retries == 1
    assert list(c.sync(c.cursor)) == [] and c.stats.not_modified == 1
    assert route.calls[-1].request.headers["If-None-Match"] == '"v1"'


@respx.mock
def test_format_from_content_type_or_first_byte() -> None:
    respx.get("https://cms.example/export").mock(
        return_value=httpx.Response(200, text="item_id,title\n1,A\n", headers={"Content-Type": "text/csv"})
    )
    respx.get("https://cms.example/data").mock(return_value=httpx.Response(200, text='{"item_id":1,"title":"A"}\n'))
    assert sync("https://cms.example/export")[0][0]["title"] == "A"
    assert sync("https://cms.example/data")[0][0]["title"] == "A"


def test_sync_cli_with_a_local_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "export.csv"
    src.write_text("sku,name\nS1,Socks\nS2,Shirt\n")
    out = tmp_path / "catalog.jsonl"
    args = [
        "sync",
        "--connector",
        "files",
        "--url",
        str(src),
        "--out",
        str(out),
        "--option",
        "columns=item_id=sku,title=name",
    ]
    assert cli.main(args) == 0
    assert "files: 2 item(s) fetched" in capsys.readouterr().out
    assert [json.loads(line)["item_id"] for line in out.read_text().splitlines()] == ["S1", "S2"]
    assert cli.main(args) == 0
    assert "1 not modified" in capsys.readouterr().out
