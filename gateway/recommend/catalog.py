# SPDX-License-Identifier: Apache-2.0
"""The item catalog: look-ups, popularity order, and content overlap for "similar items"."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cachetools import TTLCache

from slotwise.gateway.common.items import read_item_rows

log = logging.getLogger("slotwise.catalog")


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
        """The items file's items under the shared rules; rows that are not items are logged."""
        if path is None or not path.exists():
            return cls([], **kwargs)
        found = read_item_rows(path)
        if found.rejected:
            log.warning("%s", found.describe_rejected(str(path)))
        return cls(found.items, **kwargs)

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
