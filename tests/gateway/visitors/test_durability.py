# SPDX-License-Identifier: Apache-2.0
"""`kill -9` of a gateway while clients post: after a restart every acknowledged event is in
the log and in its visitor's profile."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from slotwise.gateway.visitors.events import format_ts
from tests.conftest import need
from tests.gateway.conftest import DESKTOP_UA, minimal_config
from tests.gateway.store_backends import REDIS_URL, redis_available
from tests.procs import start_gateway

PORT = 18531
BASE = f"http://127.0.0.1:{PORT}"
HEADERS = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}


@pytest.fixture(params=["sqlite", "redis"])
def store_section(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    limits = {"visitor_per_minute": 1e9, "client_per_minute": 1e9}
    if request.param == "sqlite":
        yield {"backend": "sqlite", "path": "store.db", "rate_limit": limits}
        return
    need(redis_available(), "a Redis server at 127.0.0.1:6379")
    prefix = f"durability-{uuid.uuid4().hex[:10]}:"
    yield {"backend": "redis", "url": REDIS_URL, "prefix": prefix, "rate_limit": limits}
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(match=prefix + "*"))
    if keys:
        r.delete(*keys)
    r.close()


def test_acknowledged_events_survive_kill_9(tmp_path: Path, store_section: dict[str, Any]) -> None:
    data = minimal_config(store=store_section)
    config = tmp_path / "slotwise.yaml"
    config.write_text(yaml.safe_dump(data))
    log = tmp_path / "gateway.log"
    proc = start_gateway(config, PORT, log)
    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=BASE, headers=HEADERS, timeout=5) as http:
            for b in range(10_000):
                if stop.is_set():
                    return
                now = time.time()
                batch = [
                    {
                        "event_id": f"c{n}-b{b}-{i}",
                        "visitor_id": f"v{(b * 7 + i) % 23}",
                        "type": "item_view",
                        "item_id": f"sku{i}",
                        "ts": format_ts(now - i),
                    }
                    for i in range(50)
                ]
                try:
                    r = http.post("/v1/events", json={"site": "shop", "events": batch})
                except httpx.HTTPError:
                    return  # the gateway died mid-request: this batch was never acknowledged
                if r.status_code == 200:
                    with lock:
                        acked.update(r.json()["accepted"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 30
        while len(acked) < 3000 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        if proc.poll() is None:
            proc.kill()
    assert len(acked) >= 3000

    proc = start_gateway(config, PORT, log)
    try:
        found: set[str] = set()
        viewed = 0
        with httpx.Client(base_url=BASE, headers={"Authorization": "Bearer sk_shop"}, timeout=30) as http:
            for v in range(23):
                body: dict[str, Any] = http.get(f"/v1/visitors/v{v}", params={"site": "shop"}).json()
                ids = {e["event_id"] for e in body["events"]}
                found |= ids
                if body["profile"]:
                    # the profile counts exactly the logged events: nothing folded twice or lost
                    assert body["profile"]["totals"]["item_view"] == len(ids)
                    viewed += len(ids)
        assert acked <= found, f"{len(acked - found)} acknowledged events lost"
        assert viewed == len(found)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
