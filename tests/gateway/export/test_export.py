# SPDX-License-Identifier: Apache-2.0
"""`slotwise export` from a real SQLite store to Parquet/CSV (queried with DuckDB, as
docs/analytics.md shows) and to a real PostgreSQL, incrementally by watermark."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from slotwise.gateway.cli import main as cli_main
from slotwise.gateway.visitors.events import format_ts, validate_event
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore
from tests.conftest import need
from tests.gateway.conftest import write_config

PG = "postgresql://127.0.0.1:5432/test"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path, store={"backend": "sqlite", "path": "store.db"})


def make(n: int, age: float = 60) -> dict[str, Any]:
    kind = ("page_view", "item_view", "add_to_cart", "purchase")[n % 4]
    raw: dict[str, Any] = {
        "event_id": f"e{n}",
        "visitor_id": f"v{n % 7}",
        "type": kind,
        "ts": format_ts(time.time() - age),
        "context": {"device": "mobile" if n % 2 else "desktop", "country": "DE"},
    }
    if kind != "page_view":
        raw["item_id"] = f"sku-{n % 5}"
    if kind == "purchase":
        raw["value"] = 10.0 + n
        raw["currency"] = "EUR"
        raw["properties"] = {"coupon": f"c{n}"}
    return validate_event(raw, time.time())


def ingest(config_path: Path, events: list[dict[str, Any]]) -> None:
    async def run() -> None:
        store = SQLiteStore(config_path.parent / "store.db")
        try:
            result = await store.ingest("shop", events)
            assert len(result.stored) == len(events)
        finally:
            await store.close()

    asyncio.run(run())


def export(config_path: Path, to: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert cli_main(["export", "--config", str(config_path), "--site", "shop", "--to", to, *extra]) == 0
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


def test_export_to_files_incrementally_and_query_with_duckdb(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    duckdb = pytest.importorskip("duckdb")
    first = [make(n) for n in range(40)]
    ingest(config_path, first)
    out = tmp_path / "warehouse"
    result = export(config_path, str(out), capsys)
    parts = [f"events/part-shop-{1:012d}.parquet", f"events/part-shop-{1:012d}.csv"]
    assert result["events"] == 40 and [f for f in result["files"] if f.startswith("events/")] == parts

    db = duckdb.connect()
    parquet = f"read_parquet('{out}/events/*.parquet')"
    by_type = db.execute(f"SELECT type, count(*), sum(value) FROM {parquet} GROUP BY type ORDER BY type").fetchall()
    want: dict[str, list[float]] = {}
    for e in first:
        acc = want.setdefault(e["type"], [0, 0.0])
        acc[0] += 1
        acc[1] += e.get("value", 0.0)
    assert [(t, c, s or 0.0) for t, c, s in by_type] == [(t, c, pytest.approx(s)) for t, (c, s) in sorted(want.items())]
    coupon = db.execute(f"SELECT properties->>'coupon' FROM {parquet} WHERE event_id = 'e3'").fetchone()
    assert coupon == ("c3",)
    assert db.execute(f"SELECT count(*) FROM read_csv_auto('{out}/events/*.csv')").fetchone() == (40,)

    assert export(config_path, str(out), capsys)["events"] == 0  # nothing new: nothing written
    assert len(list((out / "events").iterdir())) == 2

    # New events, one of them late (an old ts): the watermark is the log's order, not ts.
    ingest(config_path, [make(n) for n in range(40, 45)] + [make(45, age=86400 * 3)])
    result = export(config_path, str(out), capsys, "--format", "parquet")
    assert result["events"] == 6 and result["files"][0] == f"events/part-shop-{41:012d}.parquet"
    counts = db.execute(f"SELECT count(*), count(DISTINCT event_id) FROM {parquet}").fetchone()
    assert counts == (46, 46)
    assert db.execute(f"SELECT min(ts) < now() - INTERVAL 2 DAY FROM {parquet}").fetchone() == (True,)


def test_export_to_postgresql_keeps_the_same_table(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(PG, connect_timeout=3).close()
    except psycopg.OperationalError:
        need(False, "PostgreSQL at 127.0.0.1:5432 (database 'test')")
    schema = f"slotwise_test_{uuid.uuid4().hex[:8]}"
    try:
        ingest(config_path, [make(n) for n in range(30)])
        assert export(config_path, PG, capsys, "--schema", schema)["events"] == 30
        assert export(config_path, PG, capsys, "--schema", schema)["events"] == 0
        ingest(config_path, [make(n) for n in range(30, 33)])
        result = export(config_path, PG, capsys, "--schema", schema)
        assert result == {
            "site": "shop",
            "to": PG,
            "events": 3,
            "watermark": 33,
            "aggregates": {"kpi_daily": result["aggregates"]["kpi_daily"], "experiment_counters": 0},
        }
        with psycopg.connect(PG) as conn:
            rows = conn.execute(
                f"SELECT count(*), count(DISTINCT event_id), sum(value) FILTER (WHERE type = 'purchase'),"
                f" max(properties->>'coupon') FROM {schema}.slotwise_events WHERE site = 'shop'"
            ).fetchone()
            state = conn.execute(f"SELECT watermark FROM {schema}.slotwise_export_state").fetchall()
            kpis = conn.execute(
                f"SELECT count(*), sum(value) FILTER (WHERE name = 'purchases' AND slot = '')"
                f" FROM {schema}.slotwise_kpi_daily WHERE site = 'shop'"
            ).fetchone()
        purchases = sum(10.0 + n for n in range(33) if n % 4 == 3)
        assert rows == (33, 33, pytest.approx(purchases), "c7")
        assert state == [(33,)]
        assert kpis == (result["aggregates"]["kpi_daily"], sum(1 for n in range(33) if n % 4 == 3))
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _store_counters(config_path: Path, scopes: list[str]) -> dict[str, dict[str, float]]:
    async def run() -> dict[str, dict[str, float]]:
        store = SQLiteStore(config_path.parent / "store.db")
        try:
            return await store.counters("shop", scopes)
        finally:
            await store.close()

    return asyncio.run(run())


def test_kpi_aggregates_are_exported_as_the_store_counts_them(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    duckdb = pytest.importorskip("duckdb")
    ingest(config_path, [make(n) for n in range(40)])
    out = tmp_path / "warehouse"
    result = export(config_path, str(out), capsys)
    assert result["aggregates"]["kpi_daily"] > 0
    db = duckdb.connect()
    rows = db.execute(
        f"SELECT day, slot, variant, segment, name, value FROM read_parquet('{out}/kpi_daily/*.parquet')"
    ).fetchall()
    days = sorted({str(r[0]) for r in rows})
    stored = _store_counters(config_path, [f"kpi|{d}" for d in days])
    want = {(d, *k.split("\x1f")): v for d in days for k, v in stored[f"kpi|{d}"].items()}
    assert {(str(r[0]), r[1], r[2], r[3], r[4]): r[5] for r in rows} == want
    purchases = db.execute(
        f"SELECT sum(value) FROM read_csv_auto('{out}/kpi_daily/*.csv') WHERE name = 'purchases' AND slot IS NULL"
    ).fetchone()
    assert purchases == (sum(1 for n in range(40) if n % 4 == 3),)
    # A snapshot: the next run replaces the table with the counters as they are then.
    ingest(config_path, [make(n) for n in range(40, 44)])
    export(config_path, str(out), capsys)
    total = db.execute(
        f"SELECT sum(value) FROM read_parquet('{out}/kpi_daily/*.parquet') WHERE name = 'purchases' AND slot = ''"
    ).fetchone()
    assert total == (sum(1 for n in range(44) if n % 4 == 3),)
