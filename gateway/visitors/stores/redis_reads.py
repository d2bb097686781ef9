# SPDX-License-Identifier: Apache-2.0
"""The render path's reads of one event-loop turn, sent to Redis as one MGET.

redis-py spends about 70 µs of CPU on every command, in Python, whatever its size, and a busy
gateway has several renders waiting for their profiles in the same turn of the loop. The first
of them schedules a fetch for the end of the turn, the others join it, and one MGET answers
them all (ioredis calls this auto-pipelining). The fetch runs in a task of its own, so a caller
that gives up (its render budget spent) does not cancel the others' answer.
"""

from __future__ import annotations

import asyncio
from typing import Any


class TurnReads:
    def __init__(self, redis: Any, budget: float):
        self._redis = redis
        self._budget = budget  # seconds a fetch may take: the render's profile budget
        self._waiting: list[tuple[tuple[str, ...], asyncio.Future[list[Any]]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fetches: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def mget(self, *keys: str) -> list[Any]:
        """The values of `keys` (None where missing), read with the turn's other calls."""
        loop = asyncio.get_running_loop()
        if not self._waiting or self._loop is not loop:  # (a batch of a loop that ended is dropped)
            self._waiting, self._loop = [], loop
            loop.call_soon(self._send)
        fut: asyncio.Future[list[Any]] = loop.create_future()
        self._waiting.append((keys, fut))
        return await fut

    def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._fetch(batch))
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)

    async def _fetch(self, batch: list[tuple[tuple[str, ...], asyncio.Future[list[Any]]]]) -> None:
        try:
            async with asyncio.timeout(self._budget):
                values = await self._redis.mget([key for keys, _ in batch for key in keys])
        except Exception as exc:  # Redis down or slow: every caller of the turn hears it
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        except asyncio.CancelledError:  # the loop is shutting down
            for _, fut in batch:
                fut.cancel()
            raise
        start = 0
        for keys, fut in batch:
            if not fut.done():  # a caller that gave up has cancelled its future
                fut.set_result(values[start : start + len(keys)])
            start += len(keys)
