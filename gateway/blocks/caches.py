# SPDX-License-Identifier: Apache-2.0
"""Caches with hit/miss counters: rendered blocks that depend on no visitor data."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from slotwise.gateway.ops.metrics import Metrics


class CountingCache:
    """A bounded LRU with an expiry beside each value and hit/miss counters (label `name`), on
    the C `OrderedDict` (a hit moves its key to the end, the first key is the oldest): each
    operation a C call, where cachetools' LRUCache (the same `OrderedDict` beside two dicts)
    hashed the key three times in Python, four look-ups per full render. Evicting from the front
    stays O(1) under churn, unlike a plain dict's first key (a scan over deleted slots)."""

    def __init__(self, name: str, size: int, ttl: float, metrics: Metrics):
        self.name = name
        self._cache: OrderedDict[Hashable, tuple[float, Any]] | None = OrderedDict() if size and ttl else None
        self._size = size
        self._ttl = ttl
        self._hits = metrics.cache_hits
        self._misses = metrics.cache_misses

    def get(self, key: Hashable) -> Any:
        cache = self._cache
        if cache is None:
            return None
        entry = cache.get(key)
        if entry is not None:
            cache.move_to_end(key)
            if entry[0] > time.monotonic():
                self._hits[self.name] += 1
                return entry[1]
        self._misses[self.name] += 1
        return None

    def put(self, key: Hashable, value: Any) -> None:
        cache = self._cache
        if cache is not None:
            cache[key] = (time.monotonic() + self._ttl, value)
            cache.move_to_end(key)
            while len(cache) > self._size:
                cache.popitem(last=False)
