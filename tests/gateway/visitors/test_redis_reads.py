# SPDX-License-Identifier: Apache-2.0
"""The Redis store's render reads of one event-loop turn go as one MGET (`redis_reads`), on a
real Redis: a caller that gives up costs the others nothing, and a failed read reaches them all."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from slotwise.gateway.visitors.stores.redis import RedisStore
from tests.conftest import need
from tests.gateway.store_backends import Backend, redis_available
from tests.gateway.visitors.test_stores import ev


class CountedMget:
    """The real client's MGET, counted."""

    def __init__(self, store: RedisStore):
        self.calls: list[int] = []
        self._mget = store.r.mget
        store.r.mget = self  # type: ignore[method-assign]

    async def __call__(self, keys: list[str]) -> Any:
        self.calls.append(len(keys))
        return await self._mget(keys)


def run_on_redis(tmp_path: Any, body: Any) -> None:
    need(redis_available(), "a Redis server at 127.0.0.1:6379")
    backend = Backend("redis", tmp_path)
    try:
        backend.run(body)
    finally:
        backend.cleanup()


def test_the_loads_of_one_turn_are_one_mget(tmp_path: Any) -> None:
    async def body(s: RedisStore) -> None:
        await s.ingest("shop", [ev(i, visitor=f"v{i}", item_id=f"sku{i}") for i in range(5)])
        counted = CountedMget(s)
        loaded = await asyncio.gather(*(s.load_for_render("shop", f"v{i}") for i in range(12)))
        assert counted.calls == [24]  # two keys each: profile and attributes
        assert [p.recent_items if p else None for p, _ in loaded] == [[f"sku{i}"] for i in range(5)] + [None] * 7
        await s.load_for_render("shop", "v1")  # alone in its turn: a batch of one
        assert counted.calls == [24, 2]

    run_on_redis(tmp_path, body)


def test_a_caller_that_gives_up_leaves_the_others_their_answer(tmp_path: Any) -> None:
    async def body(s: RedisStore) -> None:
        await s.ingest("shop", [ev(i, visitor=f"v{i}", item_id=f"sku{i}") for i in range(3)])
        tasks = [asyncio.ensure_future(s.load_for_render("shop", f"v{i}")) for i in range(3)]
        await asyncio.sleep(0)  # all three have joined the turn's batch
        tasks[1].cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(done[1], asyncio.CancelledError)
        assert [done[i][0].recent_items for i in (0, 2)] == [["sku0"], ["sku2"]]  # type: ignore[index]

    run_on_redis(tmp_path, body)


def test_a_failed_read_reaches_every_caller_of_the_turn() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def body() -> None:
        store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="nobody:")
        try:
            loaded = await asyncio.gather(*(store.load_for_render("shop", f"v{i}") for i in range(4)))
            assert loaded == [(None, {})] * 4  # context-only renders, nobody left waiting
            assert store.outage.failures == 4
            # The turn's callers all get Redis's own error, none waits out its budget for it.
            raised = await asyncio.gather(*(store._reads.mget(f"k{i}") for i in range(4)), return_exceptions=True)
            assert [type(exc) for exc in raised] == [RedisConnectionError] * 4
        finally:
            await store.close()

    asyncio.run(body())
