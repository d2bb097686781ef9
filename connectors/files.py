# SPDX-License-Identifier: Apache-2.0
"""File and feed connector: JSON lines, CSV, RSS 2.0 and Atom, from a local path or a URL.

Connects any CMS without code: export items (or point at the site's feed) and sync. The
format comes from option `format` (jsonl, csv, rss, atom, feed, auto), else from the file
extension or Content-Type, else from the first byte. CSV columns are the catalog's own
(`item_id,title,url,image,price,currency,categories,tags,text,updated_at`, lists split on
`|` or `,`), renamed with option `columns=item_id=sku,title=name`.

Feeds are parsed with the standard library's expat under rules that refuse entity
declarations (the "billion laughs" and external-entity attacks) and never fetch anything
a document refers to. An unchanged file (same ETag, or same size and mtime) is not re-read.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit
from xml.parsers import expat

from slotwise.connectors.base import (
    Connector,
    ConnectorError,
    Cursor,
    Item,
    MalformedResponse,
    http_date_to_rfc3339,
)
from slotwise.gateway.common.text import item_text, plain_text

MAX_BYTES = 50 * 1024 * 1024
ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".rss": "feed",
    ".atom": "feed",
    ".xml": "feed",
}


class UnsafeXML(MalformedResponse):
    """The feed declares entities (or is otherwise refused before it is expanded)."""


def parse_xml(data: bytes, where: str = "feed") -> ET.Element:
    """Parse XML with expat, refusing entity declarations and external references."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")

    def refuse(*_: Any) -> NoReturn:
        raise UnsafeXML(f"{where}: refused, the document declares entities (entity expansion attack?)")

    def start(name: str, attrs: dict[str, str]) -> None:
        builder.start(_qname(name), {_qname(k): v for k, v in attrs.items()})

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: builder.end(_qname(name))
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = lambda *a: refuse()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise MalformedResponse(
            f"{where}: not well-formed XML ({expat.errors.messages[exc.code]}, line {exc.lineno})"
        ) from None
    return builder.close()


def _qname(name: str) -> str:
    uri, sep, local = name.rpartition("}")
    return f"{{{uri}}}{local}" if sep else name


def _date(value: str | None) -> str | None:
    """RFC 822 (RSS) or ISO 8601 (Atom) as given; the base class normalizes ISO dates."""
    value = (value or "").strip()
    if not value:
        return None
    if value[:4].isdigit():
        return value
    return http_date_to_rfc3339(value)


def _media_image(el: ET.Element) -> str | None:
    for tag in (f"{MEDIA}thumbnail", f"{MEDIA}content", f".//{MEDIA}thumbnail", f".//{MEDIA}content"):
        for media in el.findall(tag):
            if media.get("url") and (media.get("medium", "image") == "image" or tag.endswith("thumbnail")):
                return media.get("url")
    for enc in el.findall("enclosure"):
        if enc.get("url") and enc.get("type", "").startswith("image/"):
            return enc.get("url")
    return None


def feed_items(root: ET.Element) -> Iterator[Item]:
    """Items of an RSS 2.0 (or 0.9x) or Atom document."""
    if root.tag == f"{ATOM}feed":
        for entry in root.iter(f"{ATOM}entry"):
            link = next(
                (
                    a.get("href")
                    for a in entry.findall(f"{ATOM}link")
                    if a.get("rel", "alternate") == "alternate" and a.get("href")
                ),
                None,
            )
            yield {
                "item_id": (entry.findtext(f"{ATOM}id") or link or "").strip(),
                "title": plain_text(entry.findtext(f"{ATOM}title")),
                "url": link,
                "image": _media_image(entry),
                "categories": [c.get("term") or "" for c in entry.findall(f"{ATOM}category")],
                "tags": [],
                "text": item_text(entry.findtext(f"{ATOM}summary"), entry.findtext(f"{ATOM}content")),
                "updated_at": _date(entry.findtext(f"{ATOM}updated") or entry.findtext(f"{ATOM}published")),
            }
        return
    if root.tag not in ("rss", "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"):
        raise MalformedResponse(f"expected an RSS or Atom document, got <{root.tag}>")
    for it in root.iter("item"):
        link = (it.findtext("link") or "").strip() or None
        yield {
            "item_id": (it.findtext("guid") or link or "").strip(),
            "title": plain_text(it.findtext("title")),
            "url": link,
            "image": _media_image(it),
            "categories": [plain_text(c.text) for c in it.findall("category")],
            "tags": [],
            "text": item_text(it.findtext("description"), it.findtext(f"{CONTENT}encoded")),
            "updated_at": _date(it.findtext("pubDate")),
        }


def csv_items(text: str, columns: dict[str, str]) -> Iterator[Item]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return
    for row in reader:
        item: Item = {}
        for key, value in row.items():
            if key is None:
                continue
            name = columns.get(key.strip(), key.strip())
            item[name] = value.strip() if isinstance(value, str) else value
        for key in ("categories", "tags"):
            value = item.get(key) or ""
            item[key] = [v.strip() for v in str(value).replace("|", ",").split(",") if v.strip()]
        for key in ("url", "image", "price", "currency", "text", "updated_at"):
            if item.get(key) == "":
                item[key] = None
        yield item


def jsonl_items(text: str, where: str, warnings: list[str]) -> Iterator[Item]:
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array is accepted too
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise MalformedResponse(f"{where}: not JSON ({exc.msg}, line {exc.lineno})") from None
        yield from (d for d in data if isinstance(d, dict))
        return
    lines = text.splitlines()
    good = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines) and not text.endswith("\n"):
                raise MalformedResponse(
                    f"{where}:{number}: last line is cut off ({exc.msg}); truncated download?"
                ) from None
            warnings.append(f"{where}:{number}: not JSON ({exc.msg}), line skipped")
            continue
        if isinstance(data, dict):
            good += 1
            yield data
        else:
            warnings.append(f"{where}:{number}: not a JSON object, line skipped")
    if not good and warnings:
        raise MalformedResponse(f"{where}: no line is a JSON object ({warnings[0]})")


class FilesConnector(Connector):
    name = "files"
    description = "JSON lines, CSV, RSS or Atom, from a file path or URL"

    def __init__(self, url: str, **kwargs: Any) -> None:
        local = _local_path(url)
        # The base class insists on an HTTP URL; a local file never uses its client.
        super().__init__(url if local is None else "http://localhost.invalid", **kwargs)
        self.path = local
        self.location = str(local) if local is not None else url

    def read(self) -> tuple[bytes, str | None] | None:
        """The document and its Content-Type; None when it has not changed since the cursor."""
        if self.path is not None:
            try:
                stat = self.path.stat()
            except OSError as exc:
                raise ConnectorError(f"{self.path}: {exc.strerror or exc}") from None
            signature = f"{stat.st_size}:{stat.st_mtime_ns}"
            self.cursor.etags["file"] = signature
            if getattr(self, "_previous_etags", {}).get("file") == signature:
                self.stats.not_modified += 1
                return None
            if stat.st_size > MAX_BYTES:
                raise ConnectorError(f"{self.path}: {stat.st_size} bytes is over the {MAX_BYTES} limit")
            self.stats.pages += 1
            return self.path.read_bytes(), None
        previous = getattr(self, "_previous_etags", {}).get("file")
        response = self.request("GET", self.url, headers={"If-None-Match": previous} if previous else None)
        if response.status_code == 304 and previous:
            self.cursor.etags["file"] = previous
            self.stats.not_modified += 1
            return None
        if len(response.content) > MAX_BYTES:
            raise ConnectorError(f"{self.url}: {len(response.content)} bytes is over the {MAX_BYTES} limit")
        if response.headers.get("ETag"):
            self.cursor.etags["file"] = response.headers["ETag"]
        self.stats.pages += 1
        return response.content, response.headers.get("Content-Type")

    def detect(self, data: bytes, content_type: str | None) -> str:
        fmt = str(self.options.get("format", "auto")).lower()
        if fmt in ("rss", "atom", "feed", "xml"):
            return "feed"
        if fmt in ("jsonl", "json", "ndjson", "csv"):
            return "csv" if fmt == "csv" else "jsonl"
        if fmt != "auto":
            raise ConnectorError(f"option format={fmt!r}: use jsonl, csv, rss, atom or auto")
        suffix = Path(urlsplit(self.location).path if self.path is None else self.location).suffix.lower()
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]
        ctype = (content_type or "").lower()
        if "xml" in ctype:
            return "feed"
        if "csv" in ctype:
            return "csv"
        if "json" in ctype:
            return "jsonl"
        head = data.lstrip()[:1]
        return "feed" if head == b"<" else "jsonl" if head in (b"{", b"[") else "csv"

    def fetch(self, cursor: Cursor) -> Iterator[Item]:
        got = self.read()
        if got is None:
            return
        data, content_type = got
        if data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
            raise MalformedResponse(f"{self.location}: got an HTML page, not a feed or data file")
        fmt = self.detect(data, content_type)
        if fmt == "feed":
            yield from feed_items(parse_xml(data, self.location))
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedResponse(f"{self.location}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        if fmt == "csv":
            yield from csv_items(text, _columns(self.options.get("columns")))
        else:
            yield from jsonl_items(text, self.location, self.stats.warnings)


def _local_path(url: str) -> Path | None:
    if url.startswith(("http://", "https://")):
        return None
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    return Path(url).expanduser().resolve()


def _columns(value: Any) -> dict[str, str]:
    """`columns` option: 'item_id=sku,title=name' (catalog field = file column) or a dict."""
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = value.items()
    else:
        pairs = (p.partition("=")[::2] for p in str(value or "").split(",") if p.strip())
    mapping = {}
    for field, column in pairs:
        if not field.strip() or not column.strip():
            raise ConnectorError(f"option columns: expected FIELD=COLUMN pairs, got {value!r}")
        mapping[column.strip()] = field.strip()
    return mapping
