# SPDX-License-Identifier: Apache-2.0
"""The consumer loop over the `Source` protocol alone (a broker kept in memory, as a Kafka source
would sit behind it): a failing ack is retried, redelivered messages are stored once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.serving.runtime import build_runtime
from slotwise.gateway.streams.consumer import Consumer
from slotwise.gateway.streams.source import Message
from slotwise.gateway.visitors.stores import build_store
from tests.gateway.streams.conftest import dumps, event, stored_ids


class MemorySource:
    """Delivers unacked messages again on every fetch, like a broker after a redelivery timeout."""

    name = "memory"

    def __init__(self, bodies: list[bytes], failing_acks: int) -> None:
        self.log = [Message(str(n), body) for n, body in enumerate(bodies)]
        self.acked: set[str] = set()
        self.dead: list[tuple[str, str]] = []
        self.failing_acks = failing_acks

    async def open(self) -> None: ...

    async def fetch(self, max_count: int, timeout: float) -> list[Message]:
        return [m for m in self.log if m.id not in self.acked][:max_count]

    async def ack(self, ids: list[str]) -> None:
        if self.failing_acks:
            self.failing_acks -= 1
            raise ConnectionError("broker went away")
        self.acked.update(ids)

    async def dead_letter(self, message: Message, reason: str) -> None:
        self.dead.append((message.id, reason))

    async def close(self) -> None: ...


def test_failed_acks_are_retried_and_redeliveries_stored_once(config_path: Path) -> None:
    bodies = [dumps(event(n)).encode() for n in range(25)] + [b"[1, 2]"]
    source = MemorySource(bodies, failing_acks=2)

    async def run() -> None:
        config = load_config(config_path)
        store = await build_store(config)
        assert store is not None
        try:
            consumer = Consumer(source, store, build_runtime(config, Metrics()), config.sites["shop"], batch=10)
            stats = await consumer.run(idle_exit=0.2)
            assert stats.source_errors == 2 and stats.stored == 25 and stats.duplicates == 20
        finally:
            await store.close()

    asyncio.run(run())
    assert source.acked == {m.id for m in source.log}
    assert sorted(stored_ids(config_path.parent / "store.db")) == sorted(f"e{n}" for n in range(25))
    assert {reason for _, reason in source.dead} == {"invalid event: an event must be a JSON object"}
