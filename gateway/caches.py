"""Caches with hit/miss counters: rendered blocks that depend on no visitor data."""
from __future__ import annotations

from typing import Any, Hashable

from cachetools import TTLCache

from .metrics import Metrics


class CountingCache:
    def __init__(self, name: str, size: int, ttl: float, metrics: Metrics):
        self.name = name
        self._cache: TTLCache[Hashable, Any] | None = TTLCache(size, ttl) if size and ttl else None
        self._hits = metrics.cache_hits
        self._misses = metrics.cache_misses

    def get(self, key: Hashable) -> Any:
        if self._cache is None:
            return None
        value = self._cache.get(key)
        (self._hits if value is not None else self._misses)[self.name] += 1
        return value

    def put(self, key: Hashable, value: Any) -> None:
        if self._cache is not None:
            self._cache[key] = value
