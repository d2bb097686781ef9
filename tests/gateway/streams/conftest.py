# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slotwise.gateway.visitors.events import format_ts
from tests.conftest import need
from tests.gateway.conftest import DESKTOP_UA, write_config

REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path, store={"backend": "sqlite", "path": "store.db"})


def event(n: int, **extra: Any) -> dict[str, Any]:
    body = {
        "event_id": f"e{n}",
        "visitor_id": f"v{n % 50}",
        "type": "item_view",
        "item_id": f"item-{n % 30}",
        "ts": format_ts(time.time() - 60),
        "context": {"user_agent": DESKTOP_UA, "consent": "full"},
    }
    body.update(extra)
    return body


def stored_ids(db: Path) -> list[str]:
    """Every logged event_id, one row per log entry (a double would show twice)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    try:
        return [row[0] for row in conn.execute("SELECT event_id FROM events WHERE site = 'shop'")]
    except sqlite3.OperationalError:  # the consumer has not created the schema yet
        return []
    finally:
        conn.close()


@pytest.fixture
def redis_stream() -> Iterator[tuple[Any, str]]:
    """A sync Redis client and a fresh stream name (removed afterwards with its dead letters)."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        need(False, "Redis at 127.0.0.1:6379")
    name = f"slotwise-test-streams:{uuid.uuid4().hex[:8]}"
    yield client, name
    client.delete(name, f"{name}:dead")
    client.close()


def consume_command(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "slotwise.gateway.cli", "consume", "--config", str(config_path), "--site", "shop"]


def kill_mid_stream(config_path: Path, source: str, total: int) -> list[str]:
    """Start a consumer on `source`, `kill -9` it once 1,000 events are stored; the ids stored by then."""
    db = config_path.parent / "store.db"
    log = config_path.parent / "first.log"
    with log.open("wb") as err:
        first = subprocess.Popen(
            [*consume_command(config_path), "--source", source, "--batch", "20"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 60
    while len(stored_ids(db)) < 1000 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, log.read_text()
    stored = stored_ids(db)
    assert 1000 <= len(stored) < total, "killed mid-stream"
    assert len(stored) == len(set(stored))
    return stored


def dumps(value: Any) -> str:
    return json.dumps(value)


NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture
def nats_subject() -> Iterator[str]:
    """A fresh subject with its own stream (removed afterwards with the dead-letter stream)."""
    pytest.importorskip("nats")
    import asyncio

    import nats

    subject = f"slotwise.test.{uuid.uuid4().hex[:8]}"

    async def connect() -> Any:
        try:
            return await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False)
        except Exception:
            return None

    async def setup() -> bool:
        nc = await connect()
        if nc is None:
            return False
        await nc.jetstream().add_stream(name=stream_of(subject), subjects=[subject])
        await nc.close()
        return True

    need(asyncio.run(setup()), "NATS with JetStream at 127.0.0.1:4222")
    yield subject

    async def teardown() -> None:
        nc = await connect()
        js = nc.jetstream()
        for name in (stream_of(subject), stream_of(subject + ".dead")):
            with contextlib.suppress(Exception):  # the dead-letter stream may not exist
                await js.delete_stream(name)
        await nc.close()

    asyncio.run(teardown())


def stream_of(subject: str) -> str:
    from slotwise.gateway.streams.nats_source import stream_name

    return stream_name(subject)


def publish(subject: str, bodies: list[bytes]) -> None:
    import asyncio

    import nats

    async def run() -> None:
        nc = await nats.connect(NATS_URL)
        for body in bodies:
            await nc.publish(subject, body)
        await nc.flush()
        await nc.close()

    asyncio.run(run())
