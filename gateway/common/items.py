# SPDX-License-Identifier: Apache-2.0
"""The catalog item: one schema and one reader for the gateway, the models and the connectors.

Training and serving read the same items file, so they must agree on what an item is. The
rules (also in docs/configuration.md, "Items file"):

- a row is a JSON object (JSON lines) or a CSV row under a header; MovieLens spellings
  (`movieId`, `itemId`, `genres`) are renamed to `item_id` and `categories`;
- `item_id` is non-empty text or a whole number (kept as text, surrounding spaces dropped);
- `title` is non-empty text (surrounding spaces dropped);
- `categories` and `tags` are lists of text; a text value is split on `|` or `,`; empty
  entries and MovieLens's "(no genres listed)" are dropped; anything else becomes `[]`;
- `price` is a number or numeric text; anything else (or nothing) becomes `None`;
- other fields are kept as they are.

A row that breaks the `item_id` or `title` rule is skipped and reported with its line and
the reason; when two rows share an `item_id` the later one wins, in the earlier one's place.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slotwise.gateway.common.jsoncodec import json_lines
from slotwise.gateway.common.types import Item

ITEM_FIELDS = ("item_id", "title", "url", "image", "price", "currency", "categories", "tags", "text", "updated_at")
LIST_FIELDS = ("categories", "tags")
ALIASES = {"movieId": "item_id", "itemId": "item_id", "genres": "categories"}
PLACEHOLDERS = frozenset({"(no genres listed)"})


class BadItem(ValueError):
    """Why a row is not an item."""


def _id(raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    raise BadItem("'item_id' must be non-empty text or a whole number")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.replace("|", ",").split(",")
    if not isinstance(value, list):
        return []
    out = []
    for v in value:
        if v is None or isinstance(v, (dict, list)):
            continue
        text = str(v).strip()
        if text and text not in PLACEHOLDERS:
            out.append(text)
    return out


def _price(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) else None


def parse_item(raw: Any) -> Item:
    """The item of one row, or `BadItem` with the reason."""
    if not isinstance(raw, Mapping):
        raise BadItem("not an object")
    row = {ALIASES.get(k, k): v for k, v in raw.items()}
    title = row.get("title")
    item_id = _id(row.get("item_id"))
    if not isinstance(title, str) or not title.strip():
        raise BadItem("'title' must be non-empty text")
    item: Item = {str(k): v for k, v in row.items()}
    item["item_id"] = item_id
    item["title"] = title.strip()
    for key in LIST_FIELDS:
        item[key] = _strings(row.get(key))
    if "price" in item:
        item["price"] = _price(item["price"])
    return item


def normalize_item(raw: Any) -> Item | None:
    """The item of one row, or None when the row is not an item."""
    try:
        return parse_item(raw)
    except BadItem:
        return None


@dataclass
class ItemRows:
    """What a read found: items by id (file order) and the rejected rows as (line, reason)."""

    by_id: dict[str, Item] = field(default_factory=dict)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return list(self.by_id.values())

    def describe_rejected(self, source: str, limit: int = 5) -> str:
        shown = "; ".join(f"line {n}: {why}" for n, why in self.rejected[:limit])
        more = f" (and {len(self.rejected) - limit} more)" if len(self.rejected) > limit else ""
        return f"{source}: skipped {len(self.rejected)} row(s) that are not items: {shown}{more}"


def _csv_rows(fh: Iterable[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(fh)
    for row in reader:
        yield reader.line_num, row


def collect_items(rows: Iterable[tuple[int, Any]]) -> ItemRows:
    """Apply the rules to numbered rows (from `json_lines` or a CSV reader)."""
    found = ItemRows()
    for number, raw in rows:
        try:
            item = parse_item(raw)
        except BadItem as exc:
            found.rejected.append((number, "not JSON" if raw is None else str(exc)))
            continue
        found.by_id[item["item_id"]] = item
    return found


def read_item_rows(path: Path) -> ItemRows:
    """Items of a CSV file (by its `.csv` suffix) or a JSON-lines file, with the rejected rows."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = _csv_rows(fh) if path.suffix.lower() == ".csv" else json_lines(fh)
        return collect_items(rows)
