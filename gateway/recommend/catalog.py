# SPDX-License-Identifier: Apache-2.0
"""The item catalog: look-ups, popularity order, and content overlap for "similar items"."""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cachetools import TTLCache

log = logging.getLogger("slotwise.catalog")
LIST_FIELDS = ("categories", "tags")


def normalize_item(raw: dict[str, Any]) -> dict[str, Any] | None:
    """An item in the items-file shape, or None when it lacks an id or a title."""
    item_id = raw.get("item_id")
    title = raw.get("title")
    if item_id in (None, "") or not isinstance(title, str) or not title.strip():
        return None
    item = dict(raw)
    item["item_id"] = str(item_id)
    for key in LIST_FIELDS:
        value = item.get(key)
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("|", ",").split(",") if v.strip()]
        item[key] = [str(v) for v in value] if isinstance(value, list) else []
    price = item.get("price")
    if price not in (None, ""):
        try:
            item["price"] = float(price)
        except (TypeError, ValueError):
            item["price"] = None
    return item


def read_items(path: Path) -> Iterable[dict[str, Any]]:
    """Items from CSV (with a header) or JSON lines; unusable rows are logged and skipped."""
    with path.open(encoding="utf-8", newline="") as fh:
        if path.suffix.lower() == ".csv":
            rows: Iterable[Any] = csv.DictReader(fh)
        else:
            rows = (_json_line(line, n) for n, line in enumerate(fh, 1) if line.strip())
        for row in rows:
            item = normalize_item(row) if isinstance(row, dict) else None
            if item is None:
                log.warning("skipping catalog row without item_id/title in %s", path)
                continue
            yield item


def _json_line(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        log.warning("skipping malformed JSON on line %d", number)
        return None


class Catalog:
    def __init__(
        self,
        items: Iterable[dict[str, Any]],
        cache_size: int = 10000,
        cache_ttl: float = 300.0,
        hits: Counter[str] | None = None,
        misses: Counter[str] | None = None,
    ):
        self.by_id: dict[str, dict[str, Any]] = {}
        for item in items:
            self.by_id[item["item_id"]] = item
        self.ids = list(self.by_id)
        # Popularity: an explicit `popularity` field, then file order.
        order = {iid: n for n, iid in enumerate(self.ids)}
        self.ranked = sorted(self.ids, key=lambda i: (-float(self.by_id[i].get("popularity") or 0), order[i]))
        self._features: dict[str, frozenset[str]] = {}
        self._index: dict[str, list[str]] = defaultdict(list)
        for iid, item in self.by_id.items():
            feats = frozenset([f"c:{c.lower()}" for c in item["categories"]] + [f"t:{t.lower()}" for t in item["tags"]])
            self._features[iid] = feats
            for f in feats:
                self._index[f].append(iid)
        self._similar: TTLCache[str, list[str]] = TTLCache(max(cache_size, 1), max(cache_ttl, 1.0))
        self.hits = hits if hits is not None else Counter()
        self.misses = misses if misses is not None else Counter()

    @classmethod
    def load(cls, path: Path | None, **kwargs: Any) -> Catalog:
        if path is None or not path.exists():
            return cls([], **kwargs)
        return cls(read_items(path), **kwargs)

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, item_id: str) -> dict[str, Any] | None:
        return self.by_id.get(item_id)

    def popular(self, n: int, exclude: Iterable[str] = (), category: str | None = None) -> list[str]:
        skip = set(exclude)
        cat = category.lower() if category else None
        out: list[str] = []
        for iid in self.ranked:
            if iid in skip or (cat and f"c:{cat}" not in self._features[iid]):
                continue
            out.append(iid)
            if len(out) >= n:
                break
        return out

    def similar(self, item_id: str, n: int) -> list[str]:
        """Items sharing the most categories and tags (Jaccard), popularity breaking ties."""
        cached = self._similar.get(item_id)
        if cached is not None:
            self.hits["catalog"] += 1
            return cached[:n]
        self.misses["catalog"] += 1
        feats = self._features.get(item_id)
        if not feats:
            return []
        overlap: dict[str, int] = defaultdict(int)
        for f in feats:
            postings = self._index[f]
            if len(postings) > 20000:  # a feature nearly every item has tells nothing
                continue
            for other in postings:
                if other != item_id:
                    overlap[other] += 1
        rank = {iid: r for r, iid in enumerate(self.ranked)} if overlap else {}
        scored = sorted(overlap, key=lambda o: (-overlap[o] / len(feats | self._features[o]), rank[o]))
        result = scored[:50]
        self._similar[item_id] = result
        return result[:n]
