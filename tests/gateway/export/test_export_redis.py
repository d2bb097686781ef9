# SPDX-License-Identifier: Apache-2.0
"""`slotwise export` from the real Redis store: incremental by insertion order (late events
too), erased visitors gone from later runs, the aggregates as the SQLite export gives them,
and what retraining reads (`raw_events`, `count_since`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from slotwise.gateway.cli import main as cli_main
from slotwise.gateway.export.redis_rows import RedisEvents
from tests.conftest import need
from tests.gateway.conftest import minimal_config
from tests.gateway.export.test_export import make

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        need(False, "a Redis server on 127.0.0.1:6379")
    name = f"swtest-export-{uuid.uuid4().hex[:8]}:"
    yield name
    keys = list(client.scan_iter(match=name + "*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def config_path(tmp_path: Path, prefix: str) -> Path:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config(store={"backend": "redis", "url": URL, "prefix": prefix})))
    return path


def store_call(prefix: str, fn: Any) -> Any:
    from slotwise.gateway.visitors.stores.redis import RedisStore

    async def run() -> Any:
        store = RedisStore(URL, prefix=prefix)
        try:
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(run())


def export(config_path: Path, to: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert cli_main(["export", "--config", str(config_path), "--site", "shop", "--to", str(to)]) == 0
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


def test_export_from_redis_incrementally(
    config_path: Path, prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    duckdb = pytest.importorskip("duckdb")
    first = [make(n) for n in range(40)]
    stored = store_call(prefix, lambda s: s.ingest("shop", first))
    assert len(stored.stored) == 40
    out = tmp_path / "warehouse"
    result = export(config_path, out, capsys)
    assert result["events"] == 40 and result["watermark"] == 40
    assert set(result["aggregates"]) == {"kpi_daily", "experiment_counters"}
    parquet = f"read_parquet('{out}/events/*.parquet')"
    db = duckdb.connect()
    assert db.execute(f"SELECT count(*), count(DISTINCT event_id), min(seq), max(seq) FROM {parquet}").fetchone() == (
        40,
        40,
        1,
        40,
    )
    want = sum(e.get("value", 0.0) for e in first)
    assert db.execute(f"SELECT sum(value) FROM {parquet}").fetchone()[0] == pytest.approx(want)
    assert export(config_path, out, capsys)["events"] == 0  # nothing new

    # a late event (three days old) and a duplicate: the late one is exported, the duplicate never
    store_call(prefix, lambda s: s.ingest("shop", [make(40), make(41, age=86400 * 3), first[0]]))
    result = export(config_path, out, capsys)
    assert result["events"] == 2 and result["files"][0] == f"events/part-shop-{41:012d}.parquet"
    assert db.execute(f"SELECT count(*), count(DISTINCT event_id) FROM {parquet}").fetchone() == (42, 42)

    # an erased visitor's events are gone from the store's log (later exports never see them)
    erased = store_call(prefix, lambda s: s.erase("shop", "v3"))
    assert erased > 0
    reader = RedisEvents(URL, prefix)
    try:
        rows = [r for chunk in reader.chunks("shop", 0) for r in chunk]
        assert len(rows) == 42 - erased and all(r["visitor_id"] != "v3" for r in rows)
        raw = list(reader.raw_events("shop"))
        assert len(raw) == len(rows) and {e["event_id"] for e in raw} == {r["event_id"] for r in rows}
        assert reader.count_since("shop", None) == len(rows)
        assert reader.count_since("shop", time.time() - 86400) == len(rows) - 1  # e41 is three days old
    finally:
        reader.close()


def test_without_the_export_log_nothing_is_numbered(prefix: str) -> None:
    from slotwise.gateway.visitors.stores.redis import RedisStore

    async def run() -> None:
        store = RedisStore(URL, prefix=prefix, export_log=False)
        try:
            assert len((await store.ingest("shop", [make(n) for n in range(5)])).stored) == 5
        finally:
            await store.close()

    asyncio.run(run())
    reader = RedisEvents(URL, prefix)
    try:
        assert list(reader.chunks("shop", 0)) == [] and reader.count_since("shop", None) == 5
    finally:
        reader.close()
