# SPDX-License-Identifier: Apache-2.0
"""The Redis Streams consumer against a real Redis: stored once, bad messages dead-lettered,
acks only after the store, a crashed consumer's pending entries claimed after `kill -9`."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.serving.runtime import build_runtime
from slotwise.gateway.streams.consumer import Consumer
from slotwise.gateway.streams.source import open_source
from slotwise.gateway.visitors.stores import build_store
from tests.gateway.conftest import GOOGLEBOT_UA
from tests.gateway.streams.conftest import REDIS_URL, consume_command, dumps, event, kill_mid_stream, stored_ids


async def consume(config_path: Path, url: str, **run: Any) -> Any:
    config = load_config(config_path)
    store = await build_store(config)
    assert store is not None
    source = open_source(url, "shop")
    await source.open()
    try:
        consumer = Consumer(source, store, build_runtime(config, Metrics()), config.sites["shop"], batch=7)
        stats = await consumer.run(idle_exit=0.3, **run)
        return stats, store
    finally:
        await source.close()


def test_events_stored_once_bad_ones_dead_lettered(config_path: Path, redis_stream: tuple[Any, str]) -> None:
    client, stream = redis_stream
    messages = [dumps(event(n)) for n in range(20)]
    messages += [
        dumps(event(3)),  # a redelivered duplicate
        "{not json",
        dumps({"event_id": "x1", "visitor_id": "v1", "type": "teleport", "ts": "2026-01-01T00:00:00Z"}),
        dumps(event(100, context={"user_agent": GOOGLEBOT_UA})),
        dumps(event(101, context={"user_agent": "Mozilla/5.0", "consent": "none"})),
        dumps(event(102, type="purchase", value=-5)),  # refused by the measurement, as over HTTP
    ]
    for body in messages:
        client.xadd(stream, {"event": body})
    client.xadd(stream, {"other": "no event field"})

    async def run() -> None:
        stats, store = await consume(config_path, f"{REDIS_URL}/{stream}?consumer=c1")
        try:
            assert (stats.stored, stats.duplicates, stats.ignored, stats.dead) == (20, 1, 2, 4)
            assert [e["event_id"] for e in await store.events("shop", "v0")] == ["e0", "e50"][:1]
            assert await store.profile("shop", "v50") is None  # e100 (a bot) and e101 (no consent) left no trace
            assert await store.profile("shop", "v1") is not None
        finally:
            await store.close()

    asyncio.run(run())
    assert sorted(stored_ids(config_path.parent / "store.db")) == sorted(f"e{n}" for n in range(20))
    assert client.xpending(stream, "slotwise")["pending"] == 0
    dead = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in client.xrange(f"{stream}:dead")]
    reasons = [d["reason"] for d in dead]
    assert reasons[0].startswith("not JSON") and dead[0]["event"] == "{not json"
    assert reasons[1].startswith("invalid event: unknown event type 'teleport'")
    assert reasons[2] == "invalid event: 'value' of a purchase must not be negative (refunds are not measured), got -5"
    assert reasons[3] == "no 'event' field in the message" and "event" not in dead[3]
    assert all(d["source"] == stream for d in dead)


def test_store_failure_acks_nothing_and_retries_the_batch(config_path: Path, redis_stream: tuple[Any, str]) -> None:
    client, stream = redis_stream
    for n in range(10):
        client.xadd(stream, {"event": dumps(event(n))})

    async def run() -> None:
        config = load_config(config_path)
        store = await build_store(config)
        assert store is not None
        real, calls = store.ingest, []

        async def flaky(site: str, events: list[dict[str, Any]]) -> Any:
            calls.append(len(events))
            if len(calls) <= 3:
                raise OSError("disk full")
            assert client.xpending(stream, "slotwise")["pending"] == 10  # nothing acked meanwhile
            return await real(site, events)

        store.ingest = flaky  # type: ignore[method-assign]
        source = open_source(f"{REDIS_URL}/{stream}?consumer=c1", "shop")
        await source.open()
        consumer = Consumer(source, store, build_runtime(config, Metrics()), config.sites["shop"], batch=50)
        try:
            assert await consumer.step(0.5) == 10
            assert calls == [10, 10, 10, 10] and consumer.stats.store_retries == 3
        finally:
            await source.close()
            await store.close()

    asyncio.run(run())
    assert client.xpending(stream, "slotwise")["pending"] == 0
    assert len(stored_ids(config_path.parent / "store.db")) == 10


def _acked_event_ids(client: Any, stream: str) -> set[str]:
    """Events of entries the group has delivered and that are no longer pending: acknowledged."""
    group = client.xinfo_groups(stream)[0]
    last = group["last-delivered-id"]
    pending = {p["message_id"] for p in client.xpending_range(stream, "slotwise", "-", "+", 100_000)}
    return {dumps_id(fields) for entry_id, fields in client.xrange(stream, "-", last) if entry_id not in pending}


def dumps_id(fields: dict[bytes, bytes]) -> str:
    import json

    return str(json.loads(fields[b"event"])["event_id"])


def test_kill_9_mid_stream_loses_and_doubles_nothing(config_path: Path, redis_stream: tuple[Any, str]) -> None:
    client, stream = redis_stream
    total = 20_000
    pipe = client.pipeline(transaction=False)
    for n in range(total):
        pipe.xadd(stream, {"event": dumps(event(n))})
    pipe.execute()
    db = config_path.parent / "store.db"
    cmd = consume_command(config_path)
    stored = kill_mid_stream(config_path, f"{REDIS_URL}/{stream}?consumer=doomed", total)
    acked = _acked_event_ids(client, stream)
    assert acked <= set(stored), "an acknowledged event is missing from the store"

    # Another consumer takes over the dead one's pending entries (XAUTOCLAIM) and the rest.
    done = subprocess.run(
        [*cmd, "--source", f"{REDIS_URL}/{stream}?consumer=heir&claim_idle_ms=200", "--idle-exit", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    stored = stored_ids(db)
    assert len(stored) == total and set(stored) == {f"e{n}" for n in range(total)}
    assert client.xpending(stream, "slotwise")["pending"] == 0
    assert client.xlen(f"{stream}:dead") == 0
