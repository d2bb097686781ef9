# SPDX-License-Identifier: Apache-2.0
"""Redis Streams: a consumer group, the event JSON in the field `event`, XACK after the store.

    redis://127.0.0.1:6379/events?db=0&group=slotwise&consumer=worker-1&dead=events:dead&claim_idle_ms=30000

On start the consumer first reads its own pending entries (it crashed before acking them),
then takes over entries other consumers left pending for `claim_idle_ms` (XAUTOCLAIM, again
every `claim_idle_ms`), then reads new ones. A new group starts at the stream's first entry
(`start=0`, default) or at its end (`start=$`).
"""

from __future__ import annotations

import socket
import time
from typing import Any

from slotwise.gateway.streams.source import Message, parse_source_url


class RedisStreamSource:
    def __init__(
        self,
        url: str,
        stream: str,
        *,
        group: str = "slotwise",
        consumer: str | None = None,
        dead: str | None = None,
        claim_idle_ms: int = 30_000,
        start: str = "0",
    ) -> None:
        self.url, self.stream, self.group = url, stream, group
        self.consumer = consumer or socket.gethostname()
        self.dead = dead or f"{stream}:dead"
        self.claim_idle_ms, self.start = claim_idle_ms, start
        self.name = f"redis stream {stream!r} (group {group!r}, consumer {self.consumer!r})"
        self._redis: Any = None
        self._own_pending = True
        self._claim_cursor: str | None = "0-0"
        self._next_claim = 0.0

    @classmethod
    def from_url(cls, url: str, site: str) -> RedisStreamSource:
        parsed = parse_source_url(url, "redis", "redis://HOST:PORT/STREAM", 6379)
        query = parsed.query
        try:
            db, claim = int(query.get("db", "0")), int(query.get("claim_idle_ms", "30000"))
        except ValueError:
            raise ValueError(f"redis source {url!r}: 'db' and 'claim_idle_ms' must be integers") from None
        return cls(
            f"{parsed.server}/{db}",
            parsed.name,
            group=query.get("group", "slotwise"),
            consumer=query.get("consumer") or None,
            dead=query.get("dead") or None,
            claim_idle_ms=claim,
            start=query.get("start", "0"),
        )

    async def open(self) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import ResponseError

        self._redis = aioredis.from_url(self.url)
        try:
            await self._redis.xgroup_create(self.stream, self.group, id=self.start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def fetch(self, max_count: int, timeout: float) -> list[Message]:
        if self._own_pending:
            entries = await self._read("0", max_count, None)
            if entries:
                return entries
            self._own_pending = False
        if time.monotonic() >= self._next_claim:
            entries = await self._claim(max_count)
            if entries:
                return entries
        return await self._read(">", max_count, max(1, int(timeout * 1000)))

    async def _read(self, position: str, count: int, block_ms: int | None) -> list[Message]:
        reply = await self._redis.xreadgroup(
            self.group, self.consumer, {self.stream: position}, count=count, block=block_ms
        )
        out = []
        for _, entries in reply or []:
            for entry_id, fields in entries:
                out.append(Message(_text(entry_id), (fields or {}).get(b"event")))
        return out

    async def _claim(self, count: int) -> list[Message]:
        reply = await self._redis.xautoclaim(
            self.stream, self.group, self.consumer, self.claim_idle_ms, self._claim_cursor or "0-0", count=count
        )
        cursor, entries = _text(reply[0]), reply[1]
        if cursor == "0-0":  # a full pass over the pending list: next one after the idle time
            self._next_claim = time.monotonic() + self.claim_idle_ms / 1000
        self._claim_cursor = cursor
        out = []
        for entry_id, fields in entries:
            if fields is not None:  # deleted entries come back as nil and are dropped by Redis
                out.append(Message(_text(entry_id), (fields or {}).get(b"event")))
        return out

    async def ack(self, ids: list[str]) -> None:
        if ids:
            await self._redis.xack(self.stream, self.group, *ids)

    async def dead_letter(self, message: Message, reason: str) -> None:
        fields = {"reason": reason, "source": self.stream, "id": message.id}
        if message.data is not None:
            fields["event"] = message.data  # type: ignore[assignment]
        await self._redis.xadd(self.dead, fields)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
