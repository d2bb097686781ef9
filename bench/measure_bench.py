# SPDX-License-Identifier: Apache-2.0
"""Measurement costs: ingestion with exposure/KPI aggregation on vs off, results time, client.js size.

    python bench/measure_bench.py [--quick] [--backends sqlite,redis]

1. Ingestion with session batches (one visitor's 20 events: page views, experiment impressions,
   clicks, engagement, purchases), 16 concurrent writers, on a fresh store each round; rounds
   alternate aggregation on and off (`store.measure`), so both see the same machine load. The
   baseline is the same path with aggregation off. Two paths: `http` (POST /v1/events to a
   uvicorn gateway, what browsers use; `bench/ingest_bench.py`'s harness) and `raw` (the
   store's `ingest` called directly, as the stream consumers do: the worst case for the ratio).
2. Results: an experiment whose counters hold 1,000,000 exposures and 20,000 conversions
   (written as counters: the results never read events, so their time does not depend on how
   the counters were filled; a real ingested stream is timed too), then the whole results
   computation (counters read + five metrics analysed + verdict) timed over repeated calls.
3. client.js: gzip -9 size now, against the version before measurement (git commit a499c9b).

The last line printed is one JSON object with all figures. The machine is shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.measure.results import experiment_results
from tests import procs

REDIS_URL = "redis://127.0.0.1:6379/6"
BEFORE_COMMIT = "a499c9b"
NOW = time.time()


def session_batches(n_batches: int, seed: int) -> list[list[dict[str, Any]]]:
    rnd = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    batches = []
    for b in range(n_batches):
        visitor = f"v{tag}{b}"
        arm = rnd.choice(["control", "B"])
        props = {"slot": "offer", "variant": f"test:{arm}", "experiment": "offer-2026", "arm": arm}
        events = []
        for i in range(20):
            ts = NOW - 3600 + i * 30 + rnd.random()
            kind = rnd.random()
            e: dict[str, Any] = {"event_id": f"{visitor}-{i}", "visitor_id": visitor, "ts": round(ts, 3)}
            if kind < 0.3:
                e.update(type="page_view")
            elif kind < 0.55:
                e.update(type="impression", properties={**props, "segments": ["returning"]})
            elif kind < 0.65:
                e.update(type="click", properties=props)
            elif kind < 0.8:
                e.update(type="item_view", item_id=f"sku-{rnd.randrange(500)}")
            elif kind < 0.93:
                e.update(
                    type="engagement",
                    properties={
                        "time_on_page": rnd.randint(1, 200),
                        "scroll_depth": rnd.random(),
                        "variants": {"offer": props["variant"]},
                    },
                )
            else:
                e.update(type="purchase", value=round(rnd.uniform(5, 150), 2), currency="EUR")
            events.append(e)
        batches.append(events)
    return batches


def open_store(backend: str, tmp: Path) -> Any:
    if backend == "redis":
        from slotwise.gateway.visitors.stores.redis import RedisStore

        return RedisStore(REDIS_URL, prefix=f"bench-measure-{uuid.uuid4().hex[:8]}:")
    from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

    return SQLiteStore(tmp / f"{uuid.uuid4().hex[:8]}.db")


async def cleanup(store: Any) -> None:
    if hasattr(store, "r"):
        keys = [k async for k in store.r.scan_iter(match=store.prefix + "*", count=1000)]
        for i in range(0, len(keys), 1000):
            await store.r.delete(*keys[i : i + 1000])
    await store.close()


async def ingest_rate(backend: str, tmp: Path, batches: list[list[dict[str, Any]]], measure: bool) -> float:
    store = open_store(backend, tmp)
    store.measure_enabled = measure
    queue = list(batches)

    async def worker() -> None:
        while queue:
            await store.ingest("bench", queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(16)))
    elapsed = time.perf_counter() - started
    await cleanup(store)
    return sum(len(b) for b in batches) / elapsed


def http_rate(backend: str, tmp: Path, batches: list[list[dict[str, Any]]], measure: bool) -> float:
    import ingest_bench
    import yaml

    from slotwise.gateway.visitors.events import format_ts

    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    prefix = f"bench-measure-{uuid.uuid4().hex[:8]}:"
    config = ingest_bench.config_for(backend, run_dir, prefix)
    data = yaml.safe_load(config.read_text())
    data["store"]["measure"] = measure
    config.write_text(yaml.safe_dump(data))
    bodies = [
        json.dumps({"site": "bench", "events": [{**e, "ts": format_ts(e["ts"])} for e in batch]}).encode()
        for batch in batches
    ]
    proc = ingest_bench.start_gateway(config, run_dir / "gateway.log")
    try:
        elapsed, _, accepted = asyncio.run(ingest_bench.post_all(bodies, 16))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if backend == "redis":
            ingest_bench.cleanup_redis(prefix)
    assert accepted == sum(len(b) for b in batches), accepted
    return accepted / elapsed


def http_ingestion(backend: str, tmp: Path, n_batches: int, rounds: int) -> dict[str, Any]:
    on, off = [], []
    for r in range(rounds):
        for measure in (r % 2 == 0, r % 2 == 1):
            rate = http_rate(backend, tmp, session_batches(n_batches, seed=100 + r * 2 + measure), measure)
            (on if measure else off).append(rate)
    return on_off_summary(on, off, rounds, n_batches)


def on_off_summary(on: list[float], off: list[float], rounds: int, n_batches: int) -> dict[str, Any]:
    return {
        "events_per_s_on": round(statistics.median(on)),
        "events_per_s_off": round(statistics.median(off)),
        "ratio_on_off": round(statistics.median(on) / statistics.median(off), 3),
        "rounds": rounds,
        "events_per_round": n_batches * 20,
    }


async def ingestion(backend: str, tmp: Path, n_batches: int, rounds: int) -> dict[str, Any]:
    on, off = [], []
    for r in range(rounds):
        for measure in (r % 2 == 0, r % 2 == 1):  # alternate which goes first
            rate = await ingest_rate(backend, tmp, session_batches(n_batches, seed=r * 2 + measure), measure)
            (on if measure else off).append(rate)
    return on_off_summary(on, off, rounds, n_batches)


CONFIG = {
    "sites": {"bench": {"publishable_key": "pk", "secret_key": "sk"}},
    "slots": {
        "offer": {
            "default": {"type": "banner", "title": "Default"},
            "variants": [
                {
                    "id": "test",
                    "experiment": {
                        "key": "offer-2026",
                        "arms": [
                            {"name": "control", "block": {"type": "banner", "title": "A"}},
                            {"name": "B", "block": {"type": "banner", "title": "B"}},
                        ],
                    },
                }
            ],
        }
    },
}


def million_counters(seed: int) -> dict[tuple[str, str], float]:
    """Counters as 1,000,000 assigned visitors with 20,000 conversions would leave them."""
    rnd = random.Random(seed)
    counts: dict[tuple[str, str], float] = {}
    scope = "exp|offer-2026"
    for arm, n, conversions in (("control", 500_000, 9_800), ("B", 500_000, 10_200)):
        values = [rnd.uniform(5, 150) for _ in range(conversions)]
        pre = [rnd.uniform(5, 150) for _ in range(conversions // 2)]
        counts[(scope, f"{arm}\x1fn\x1f")] = n
        counts[(scope, f"{arm}\x1fimpressions\x1fcount")] = n * 1.4
        for metric in ("conversion", "purchase"):
            counts[(scope, f"{arm}\x1f{metric}\x1fsum")] = conversions
            counts[(scope, f"{arm}\x1f{metric}\x1fsumsq")] = conversions
            counts[(scope, f"{arm}\x1f{metric}\x1fpre")] = len(pre)
            counts[(scope, f"{arm}\x1f{metric}\x1fpresq")] = len(pre)
            counts[(scope, f"{arm}\x1f{metric}\x1fcross")] = len(pre) * 0.1
        counts[(scope, f"{arm}\x1frevenue\x1fsum")] = sum(values)
        counts[(scope, f"{arm}\x1frevenue\x1fsumsq")] = sum(v * v for v in values)
        counts[(scope, f"{arm}\x1fclicks\x1fsum")] = n * 0.05
        counts[(scope, f"{arm}\x1fclicks\x1fsumsq")] = n * 0.06
    return counts


async def results_time(backend: str, tmp: Path, calls: int) -> dict[str, Any]:
    config = parse_config(json.loads(json.dumps(CONFIG)))
    store = open_store(backend, tmp)
    try:
        await store.add_counts("bench", million_counters(1))
        times = []
        result: dict[str, Any] = {}
        for _ in range(calls):
            started = time.perf_counter()
            result = await experiment_results(store, config, "bench", "offer-2026", {})
            times.append((time.perf_counter() - started) * 1000)
        n = sum(a["n"] for a in result["arms"])
        conversions = sum(a["mean"] * a["n"] for a in result["metrics"]["conversion"]["arms"])
        return {
            "exposures": n,
            "conversions": round(conversions),
            "median_ms": round(statistics.median(times), 2),
            "p99_ms": round(sorted(times)[int(len(times) * 0.99) - 1], 2),
            "verdict": result["verdict"]["decision"],
        }
    finally:
        await cleanup(store)


def client_js_sizes() -> dict[str, Any]:
    now = (ROOT / "gateway/static/client.js").read_bytes()
    out: dict[str, Any] = {"gzip_bytes": len(gzip.compress(now, 9)), "raw_bytes": len(now)}
    try:
        before = subprocess.run(
            ["git", "show", f"{BEFORE_COMMIT}:gateway/static/client.js"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        out.update(gzip_bytes_before=len(gzip.compress(before, 9)), raw_bytes_before=len(before))
    except (OSError, subprocess.CalledProcessError):
        out["gzip_bytes_before"] = None  # not a git checkout
    return out


def render_overhead(calls: int) -> dict[str, Any]:
    """What the render path adds per page (4 blocks, one in an experiment): `count_served`, in
    process, against the same loop doing nothing (the render handler itself takes ~150-180 µs)."""
    from types import SimpleNamespace

    from slotwise.gateway.measure.exposures import count_served

    blocks = {
        f"slot{i}": {
            "html": "<p>x</p>",
            "variant": "v",
            "segments": ["returning"],
            "experiment": {"key": "offer-2026", "arm": "B", "holdout": False} if i == 0 else None,
        }
        for i in range(4)
    }
    ctx = SimpleNamespace(
        consent=SimpleNamespace(level="full", profiling_allowed=True), device=SimpleNamespace(is_bot=False)
    )
    visitors = [f"v{i % 5000}" for i in range(calls)]

    async def go() -> tuple[float, float]:
        state = SimpleNamespace(services=SimpleNamespace(store=None))
        started = time.perf_counter()
        for visitor in visitors:
            count_served(state, "bench", blocks, ctx, visitor)
        counted = time.perf_counter() - started
        started = time.perf_counter()
        for _visitor in visitors:
            pass
        return counted, time.perf_counter() - started

    counted, empty = asyncio.run(go())
    return {"count_served_us_per_page": round((counted - empty) / calls * 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="under a minute")
    parser.add_argument("--backends", default="sqlite,redis")
    args = parser.parse_args()
    n_batches, rounds, calls = (150, 4, 50) if args.quick else (600, 6, 300)
    figures: dict[str, Any] = {"client_js": client_js_sizes(), "ingest_http": {}, "ingest_raw": {}, "results": {}}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for backend in args.backends.split(","):
            if backend == "redis" and not procs.redis_up(REDIS_URL):
                print("redis: not reachable, skipped", file=sys.stderr)
                continue
            figures["ingest_http"][backend] = http_ingestion(backend, tmp, n_batches * 2, max(2, rounds // 2))
            figures["ingest_raw"][backend] = asyncio.run(ingestion(backend, tmp, n_batches, rounds))
            figures["results"][backend] = asyncio.run(results_time(backend, tmp, calls))
            print(f"{backend}: http {figures['ingest_http'][backend]}", file=sys.stderr)
            print(f"{backend}: raw {figures['ingest_raw'][backend]}", file=sys.stderr)
            print(f"{backend}: results {figures['results'][backend]}", file=sys.stderr)
    figures["render_path"] = render_overhead(20_000 if args.quick else 200_000)
    figures["target"] = {"ingest_ratio_min": 0.8, "results_ms_max": 100}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
