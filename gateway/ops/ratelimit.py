# SPDX-License-Identifier: Apache-2.0
"""Rate limits per key (visitor, client): in memory for one gateway, in Redis for replicas.

`RateLimiter` is a token bucket in this process. `RedisRateLimiter` is the same limit (rate,
burst) as GCRA in one Lua script on the store's Redis, so N replicas behind a balancer enforce
one limit together instead of N. Both answer `atake`; `limiter_for` picks by the store.
A Redis that fails to answer lets the request through: the limit protects against floods,
it must not turn a Redis hiccup into refused events.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from cachetools import LRUCache

log = logging.getLogger("slotwise.ratelimit")

# GCRA: the key holds the theoretical arrival time (TAT). KEYS[1]: key; ARGV: seconds per
# token, burst (tokens), cost. Returns "0" when allowed, else the seconds to wait (as text:
# Lua numbers become integers in replies). Redis's own clock, so replicas' clocks do not matter.
GCRA = """
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + cost * interval
local wait = new_tat - burst * interval - now
if wait > 0 then return tostring(wait) end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1)
return '0'
"""


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

    async def atake(self, key: str, cost: float = 1.0) -> float:
        return self.take(key, cost)

    async def atake_many(self, keys: list[str]) -> list[float]:
        """One token per key, in order (a key may repeat); the waits, 0 where allowed."""
        return [self.take(key) for key in keys]


class RedisRateLimiter:
    """The same limit as `RateLimiter`, shared by every gateway on one Redis (`{prefix}rl:{name}:{key}`)."""

    def __init__(self, redis: Any, prefix: str, name: str, rate: float, per: float = 60.0, burst: float | None = None):
        from redis.exceptions import RedisError

        self.r = redis
        self.head = f"{prefix}rl:{name}:"
        self.interval = per / rate if rate > 0 else float("inf")
        self.burst = burst if burst is not None else rate
        self._script = redis.register_script(GCRA)
        self._errors = (RedisError, OSError)

    async def atake(self, key: str, cost: float = 1.0) -> float:
        if self.interval == float("inf"):
            return float("inf")
        try:
            wait = await self._script(keys=[self.head + key], args=[repr(self.interval), repr(self.burst), repr(cost)])
        except self._errors as exc:
            log.warning("rate limit not checked, Redis did not answer: %s", exc)
            return 0.0
        return float(wait)

    async def atake_many(self, keys: list[str]) -> list[float]:
        """One token per key, in order, in one round trip (a pipeline of the script)."""
        if not keys or self.interval == float("inf"):
            return [float("inf")] * len(keys) if keys else []
        args = [repr(self.interval), repr(self.burst), "1"]
        try:
            async with self.r.pipeline(transaction=False) as pipe:
                for key in keys:
                    await self._script(keys=[self.head + key], args=args, client=pipe)
                waits = await pipe.execute()
        except self._errors as exc:
            log.warning("rate limit not checked, Redis did not answer: %s", exc)
            return [0.0] * len(keys)
        return [float(w) for w in waits]


def limiter_for(store: Any, name: str, rate: float, per: float = 60.0) -> RateLimiter | RedisRateLimiter:
    """Shared in Redis when the store is Redis (its client and key prefix), else in memory."""
    settings = getattr(store, "settings", None)
    if settings is not None and settings.backend == "redis" and hasattr(store, "r"):
        return RedisRateLimiter(store.r, settings.prefix, name, rate, per)
    return RateLimiter(rate, per)
