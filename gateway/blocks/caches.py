# SPDX-License-Identifier: Apache-2.0
"""Caches with hit/miss counters: rendered blocks that depend on no visitor data."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

from cachetools import LRUCache

from slotwise.gateway.ops.metrics import Metrics


class CountingCache:
    def __init__(self, name: str, size: int, ttl: float, metrics: Metrics):
        self.name = name
        # An LRU with the expiry stored beside each value: a quarter of TTLCache's cost per look-up.
        self._cache: LRUCache[Hashable, tuple[float, Any]] | None = LRUCache(size) if size and ttl else None
        self._ttl = ttl
        self._hits = metrics.cache_hits
        self._misses = metrics.cache_misses

    def get(self, key: Hashable) -> Any:
        if self._cache is None:
            return None
        entry = self._cache.get(key)
        if entry is not None and entry[0] > time.monotonic():
            self._hits[self.name] += 1
            return entry[1]
        self._misses[self.name] += 1
        return None

    def put(self, key: Hashable, value: Any) -> None:
        if self._cache is not None:
            self._cache[key] = (time.monotonic() + self._ttl, value)
