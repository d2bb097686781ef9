# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from slotwise.gateway.visitors.events import format_ts
from tests.conftest import need
from tests.gateway.conftest import DESKTOP_UA, minimal_config

REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config(store={"backend": "sqlite", "path": "store.db"})))
    return path


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


def dumps(value: Any) -> str:
    return json.dumps(value)
