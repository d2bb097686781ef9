# SPDX-License-Identifier: Apache-2.0
"""The NATS JetStream consumer against a real nats-server: a durable pull consumer, acks after
the store, dead letters with the reason in a header, redelivery after `kill -9`."""

from __future__ import annotations

import asyncio
import json
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
from tests.gateway.streams.conftest import (
    NATS_URL,
    consume_command,
    dumps,
    event,
    kill_mid_stream,
    publish,
    stored_ids,
    stream_of,
)


async def _consumer_info(subject: str, durable: str) -> Any:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        return await nc.jetstream().consumer_info(stream_of(subject), durable)
    finally:
        await nc.close()


async def _dead_letters(subject: str) -> list[tuple[bytes, dict[str, str]]]:
    import nats

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    out = []
    try:
        info = await js.stream_info(stream_of(subject + ".dead"))
        for seq in range(1, info.state.messages + 1):
            msg = await js.get_msg(stream_of(subject + ".dead"), seq)
            out.append((msg.data or b"", dict(msg.headers or {})))
    finally:
        await nc.close()
    return out


def test_events_stored_once_bad_ones_dead_lettered(config_path: Path, nats_subject: str) -> None:
    bodies = [dumps(event(n)).encode() for n in range(20)]
    bodies += [
        dumps(event(3)).encode(),
        b"{not json",
        dumps({"event_id": "x1", "visitor_id": "v1", "type": "teleport", "ts": "2026-01-01T00:00:00Z"}).encode(),
        dumps(event(100, context={"user_agent": GOOGLEBOT_UA})).encode(),
        dumps(event(101, context={"consent": "anonymous"})).encode(),
    ]
    publish(nats_subject, bodies)

    async def run() -> None:
        config = load_config(config_path)
        store = await build_store(config)
        assert store is not None
        source = open_source(f"{NATS_URL}/{nats_subject}?durable=t1", "shop")
        await source.open()
        try:
            consumer = Consumer(source, store, build_runtime(config, Metrics()), config.sites["shop"], batch=6)
            stats = await consumer.run(idle_exit=0.5)
            assert (stats.stored, stats.duplicates, stats.ignored, stats.dead) == (20, 1, 2, 2)
            assert await store.profile("shop", "v1") is not None
        finally:
            await source.close()
            await store.close()

    asyncio.run(run())
    assert sorted(stored_ids(config_path.parent / "store.db")) == sorted(f"e{n}" for n in range(20))
    info = asyncio.run(_consumer_info(nats_subject, "t1"))
    assert info.num_ack_pending == 0 and info.num_pending == 0
    dead = asyncio.run(_dead_letters(nats_subject))
    assert dead[0][0] == b"{not json" and dead[0][1]["Slotwise-Reason"].startswith("not JSON")
    assert dead[1][1]["Slotwise-Reason"].startswith("invalid event: unknown event type 'teleport'")
    assert json.loads(dead[1][0])["event_id"] == "x1"
    assert all(headers["Slotwise-Source"] == nats_subject for _, headers in dead)


def test_kill_9_mid_stream_loses_and_doubles_nothing(config_path: Path, nats_subject: str) -> None:
    total = 20_000
    publish(nats_subject, [dumps(event(n)).encode() for n in range(total)])
    db = config_path.parent / "store.db"
    url = f"{NATS_URL}/{nats_subject}?durable=crashy&ack_wait=1"
    cmd = consume_command(config_path)
    stored = kill_mid_stream(config_path, url, total)
    floor = asyncio.run(_consumer_info(nats_subject, "crashy")).ack_floor.stream_seq
    acked = {f"e{seq - 1}" for seq in range(1, floor + 1)}  # published in order: sequence n+1 is e<n>
    assert floor > 0 and acked <= set(stored), "an acknowledged event is missing from the store"

    done = subprocess.run([*cmd, "--source", url, "--idle-exit", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stored = stored_ids(db)
    assert len(stored) == total and set(stored) == {f"e{n}" for n in range(total)}
    info = asyncio.run(_consumer_info(nats_subject, "crashy"))
    assert info.num_ack_pending == 0 and info.num_pending == 0
