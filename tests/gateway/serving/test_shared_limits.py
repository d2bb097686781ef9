# SPDX-License-Identifier: Apache-2.0
"""The Redis rate limiter: one limit for every gateway on one Redis, open when Redis is down."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from slotwise.gateway.ops.ratelimit import RateLimiter, RedisRateLimiter, limiter_for
from tests.gateway.serving.test_replicas import redis_client


def test_two_limiters_on_one_redis_enforce_one_limit() -> None:
    redis_client()
    from redis import asyncio as aioredis

    prefix = f"swtest-rl-{uuid.uuid4().hex[:8]}:"

    async def run() -> tuple[list[float], float]:
        clients = [aioredis.Redis.from_url("redis://127.0.0.1:6379/0") for _ in range(2)]
        try:
            limiters = [RedisRateLimiter(c, prefix, "client", rate=10, per=60) for c in clients]
            waits = [await limiters[i % 2].atake("shop|1.2.3.4") for i in range(16)]
            heavy = await limiters[0].atake("shop|5.6.7.8", cost=11)  # more than the burst
            return waits, heavy
        finally:
            keys = [k async for k in clients[0].scan_iter(match=prefix + "*")]
            if keys:
                await clients[0].delete(*keys)
            for c in clients:
                await c.aclose()

    waits, heavy = asyncio.run(run())
    assert waits[:10] == [0.0] * 10
    assert all(5.0 < w <= 6.0 * 6 for w in waits[10:])  # 6 s per token at 10 per minute
    assert heavy > 0


def test_a_redis_that_does_not_answer_lets_requests_through() -> None:
    redis = pytest.importorskip("redis")
    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)

    async def run() -> float:
        try:
            return await RedisRateLimiter(client, "x:", "client", rate=1).atake("k")
        finally:
            await client.aclose()

    assert asyncio.run(run()) == 0.0


def test_limiter_for_picks_memory_without_a_redis_store() -> None:
    assert isinstance(limiter_for(None, "client", 10), RateLimiter)


def test_a_batch_takes_one_token_per_key_in_order_in_one_call() -> None:
    redis_client()
    from redis import asyncio as aioredis

    prefix = f"swtest-rl-{uuid.uuid4().hex[:8]}:"

    async def run() -> tuple[list[float], list[float]]:
        client = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
        try:
            shared = RedisRateLimiter(client, prefix, "visitor", rate=3, per=60)
            memory = RateLimiter(3, 60)
            keys = ["a", "b", "a", "a", "a", "b"]
            return await shared.atake_many(keys), await memory.atake_many(keys)
        finally:
            keys = [k async for k in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

    shared, memory = asyncio.run(run())
    assert [w > 0 for w in shared] == [False, False, False, False, True, False]
    assert [w > 0 for w in shared] == [w > 0 for w in memory]
