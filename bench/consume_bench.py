# SPDX-License-Identifier: Apache-2.0
"""Stream consumer throughput (Redis Streams, NATS JetStream) against HTTP ingestion, same run.

    python bench/consume_bench.py [--quick] [--events 30000]

Each path feeds the same number of events (batches of 100, random visitors: the `mixed`
shape of ingest_bench) into a fresh SQLite store: HTTP through a gateway (`slotwise serve`,
one process, 8 concurrent clients POSTing /v1/events) as the baseline; the streams through one
`slotwise consume` process with `--batch 100`, with the stream filled beforehand. Rates are
events stored per second between 10 % and 90 % of the events being in the store (process
start-up excluded), read from the store itself. Needs Redis at 6379 and NATS at 4222.
The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.ingest_bench as ib

REDIS = "redis://127.0.0.1:6379"
NATS = "nats://127.0.0.1:4222"


def count(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=30)
        try:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def watch(db: Path, total: int, proc: subprocess.Popen[bytes] | None, limit: float = 600) -> float:
    """Events/s between 10 % and 90 % of `total` stored."""
    low = high = None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        n = count(db)
        now = time.perf_counter()
        if low is None and n >= total * 0.1:
            low = (now, n)
        if n >= total * 0.9:
            high = (now, n)
            break
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"consumer exited early with {proc.returncode}")
        time.sleep(0.02)
    if low is None or high is None or high[0] <= low[0]:
        raise SystemExit(f"only {count(db)} of {total} events were stored")
    return (high[1] - low[1]) / (high[0] - low[0])


def http_rate(tmp: Path, events: list[dict[str, Any]]) -> float:
    config = ib.config_for("sqlite", tmp, "")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        ib.PORT = s.getsockname()[1]
    proc = ib.start_gateway(config, tmp / "gateway.log")
    try:
        batches = [
            json.dumps({"site": "bench", "events": events[i : i + 100]}).encode() for i in range(0, len(events), 100)
        ]
        elapsed, _, accepted = asyncio.run(ib.post_all(batches, 8))
        assert accepted == len(events), accepted
        return accepted / elapsed
    finally:
        proc.terminate()
        proc.wait()


def consume(tmp: Path, name: str, url: str, total: int) -> float:
    config = ib.config_for("sqlite", tmp / name, "")
    cmd = [sys.executable, "-m", "slotwise.gateway.cli", "consume", "--config", str(config), "--site", "bench"]
    with (tmp / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen([*cmd, "--source", url, "--batch", "100", "--idle-exit", "2"], stderr=log, stdout=log)
    try:
        return watch(tmp / name / "bench.db", total, proc)
    finally:
        proc.wait(timeout=120)


def fill_redis(stream: str, events: list[dict[str, Any]]) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    pipe = client.pipeline(transaction=False)
    for e in events:
        pipe.xadd(stream, {"event": json.dumps(e)})
    pipe.execute()
    client.close()


async def fill_nats(subject: str, events: list[dict[str, Any]]) -> None:
    import nats

    from slotwise.gateway.streams.nats_source import stream_name

    nc = await nats.connect(NATS)
    await nc.jetstream().add_stream(name=stream_name(subject), subjects=[subject])
    for e in events:
        await nc.publish(subject, json.dumps(e).encode())
    await nc.flush()
    await nc.close()


async def drop_nats(subject: str) -> None:
    import nats

    from slotwise.gateway.streams.nats_source import stream_name

    nc = await nats.connect(NATS)
    for name in (stream_name(subject), stream_name(subject + ".dead")):
        with contextlib.suppress(Exception):  # the dead-letter stream may not exist
            await nc.jetstream().delete_stream(name)
    await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int)
    args = parser.parse_args()
    total = args.events or (5000 if args.quick else 30000)
    events = ib.make_events(total, 2000, 7, wire=True)
    tag = uuid.uuid4().hex[:8]
    stream, subject = f"slotwise-bench:{tag}", f"slotwise.bench.{tag}"
    out: dict[str, Any] = {"events": total, "store": "sqlite", "batch": 100}
    with tempfile.TemporaryDirectory(prefix="consume-bench-") as d:
        tmp = Path(d)
        (tmp / "redis").mkdir()
        (tmp / "nats").mkdir()
        out["http_events_per_s"] = round(http_rate(tmp, events))
        fill_redis(stream, events)
        try:
            out["redis_stream_events_per_s"] = round(consume(tmp, "redis", f"{REDIS}/{stream}", total))
        finally:
            import redis

            redis.Redis.from_url(REDIS).delete(stream, f"{stream}:dead")
        asyncio.run(fill_nats(subject, events))
        try:
            out["nats_events_per_s"] = round(consume(tmp, "nats", f"{NATS}/{subject}", total))
        finally:
            asyncio.run(drop_nats(subject))
    out["baseline"] = "http_events_per_s (POST /v1/events, 8 clients, same store and events)"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
