# SPDX-License-Identifier: Apache-2.0
"""Token-bucket rate limits per key (visitor, client), in memory.

Each gateway replica limits on its own: with N replicas behind a balancer a client gets at
most N times the rate, which is what this protection is for (floods, runaway clients).
"""

from __future__ import annotations

import time

from cachetools import LRUCache


class RateLimiter:
    """`rate` tokens per `per` seconds, bursting up to `burst` (default: one period's worth)."""

    def __init__(self, rate: float, per: float = 60.0, burst: float | None = None, max_keys: int = 100_000):
        self.rate = rate / per
        self.burst = burst if burst is not None else rate
        self._buckets: LRUCache[str, list[float]] = LRUCache(maxsize=max_keys)

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Take `cost` tokens; returns 0 when allowed, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = [self.burst, now]
            self._buckets[key] = bucket
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= cost:
            bucket[0] = tokens - cost
            return 0.0
        bucket[0] = tokens
        return (cost - tokens) / self.rate if self.rate > 0 else float("inf")
