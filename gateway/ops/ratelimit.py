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
from collections import OrderedDict
from typing import Any

log = logging.getLogger("slotwise.ratelimit")

# GCRA: each key holds its theoretical arrival time (TAT). KEYS: one key per token taken, in
# order (a key may repeat); ARGV: seconds per token, burst (tokens), cost per key. Returns per
# key "0" when allowed, else the seconds to wait (as text: Lua numbers become integers in
# replies). Redis's own clock, so the replicas' clocks do not matter.
GCRA = """
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tats, out = {}, {}
for i, key in ipairs(KEYS) do
  local tat = tats[key] or tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  local wait = new_tat - burst * interval - now
  if wait > 0 then
    out[i] = tostring(wait)
  else
    out[i] = '0'
    tats[key] = new_tat
    redis.call('SET', key, string.format('%.6f', new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1)
  end
end
return out
"""


class RateLimiter:
    """`rate` tokens per `per` seconds, bursting up to `burst` (default: one period's worth)."""

    def __init__(self, rate: float, per: float = 60.0, burst: float | None = None, max_keys: int = 100_000):
        self.rate = rate / per
        self.burst = burst if burst is not None else rate
        self.max_keys = max_keys
        # [tokens, last time] per key, least recently used first (an OrderedDict: its moves are
        # C calls, cachetools' LRUCache costs several Python calls per lookup).
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def _bucket(self, key: str, now: float) -> list[float]:
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = [self.burst, now]
            if len(buckets) > self.max_keys:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(key)
        return bucket

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Take `cost` tokens; returns 0 when allowed, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        bucket = self._bucket(key, now)
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= cost:
            bucket[0] = tokens - cost
            return 0.0
        bucket[0] = tokens
        return (cost - tokens) / self.rate if self.rate > 0 else float("inf")

    async def atake(self, key: str, cost: float = 1.0) -> float:
        return self.take(key, cost)

    def take_many(self, keys: list[str], now: float | None = None) -> list[float]:
        """One token per key, in order (a key may repeat): the waits, 0 where allowed, as `take`
        key by key at one clock reading (the Redis limiter's batch call, in memory)."""
        now = time.monotonic() if now is None else now
        return [self.take(key, 1.0, now) for key in keys]

    async def atake_many(self, keys: list[str]) -> list[float]:
        """One token per key, in order (a key may repeat); the waits, 0 where allowed."""
        return self.take_many(keys)


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
            waits = await self._script(keys=[self.head + key], args=[repr(self.interval), repr(self.burst), repr(cost)])
        except self._errors as exc:
            log.warning("rate limit not checked, Redis did not answer: %s", exc)
            return 0.0
        return float(waits[0])

    async def atake_many(self, keys: list[str]) -> list[float]:
        """One token per key, in order, in one script call (its keys share a Redis: not Cluster)."""
        if not keys or self.interval == float("inf"):
            return [float("inf")] * len(keys)
        try:
            waits = await self._script(
                keys=[self.head + k for k in keys], args=[repr(self.interval), repr(self.burst), "1"]
            )
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
