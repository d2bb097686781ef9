# SPDX-License-Identifier: Apache-2.0
"""Event ingestion through HTTP against the store's raw write rate, and segment evaluation.

    python bench/ingest_bench.py [--quick] [--backends sqlite,redis] [--clients 16]

For each backend: a gateway (uvicorn, one process, pinned to the first core; the clients and
the raw store run on the others) is started on a fresh store, concurrent
clients POST batches of 100 events to /v1/events, and accepted events/s and p99 latency
are measured, for two batch shapes: `session` (one visitor's events per batch, as the
browser client sends them) and `mixed` (every event from a random visitor, worst case); the
baseline is the same store's `ingest` called directly with the same batches and concurrency (no
HTTP, no validation): its ceiling. Both are also given as CPU µs per event (the gateway
process's, all threads; the raw store's process), which other load on the machine moves far
less than events/s. Then profile-derived segment evaluation per visitor is timed
(profile already loaded, and loaded from the store).
The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml

from slotwise.gateway.rules.expr import Env, compile_expr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `tests` is not installed
from slotwise.gateway.visitors.events import format_ts
from tests import procs

ROOT = Path(__file__).resolve().parent.parent

PORT = 0  # set in main() from a free port (other servers run on this machine)
REDIS_URL = "redis://127.0.0.1:6379/6"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
RULES = [
    "events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0",
    "rfm.recency_days <= 7 and visitor.returning",
    "affinity.category('shoes') > 0.3",
    "events.item_view.within(1h) >= 3 or rfm.monetary > 100",
]


def make_events(n: int, visitors: int, seed: int, wire: bool, mix: str = "mixed") -> list[dict[str, Any]]:
    """`session`: each batch of 100 is one visitor's (what the browser client sends);
    `mixed`: every event from a random one of `visitors` (a server-side forwarder, worst case)."""
    rnd = random.Random(seed)
    now = time.time()
    types = ["page_view", "item_view", "item_view", "click", "add_to_cart", "purchase", "engagement"]
    out = []
    for i in range(n):
        ts = now - rnd.random() * 120  # events are posted as they happen
        visitor = (i // 100) % visitors if mix == "session" else rnd.randrange(visitors)
        e: dict[str, Any] = {
            "event_id": f"{seed}-{mix}-{i}",
            "visitor_id": f"v{visitor}",
            "type": rnd.choice(types),
            "ts": format_ts(ts) if wire else round(ts, 3),
            "item_id": f"sku{rnd.randrange(500)}",
            "properties": {"categories": [rnd.choice(["shoes", "bags", "shirts", "boots"])]},
            "context": {"device": "mobile", "daypart": "evening"},
        }
        if e["type"] == "purchase":
            e["value"] = 49.9
        out.append(e)
    return out


def config_for(backend: str, tmp: Path, prefix: str) -> Path:
    store: dict[str, Any] = {"backend": backend, "rate_limit": {"visitor_per_minute": 1e9, "client_per_minute": 1e12}}
    if backend == "sqlite":
        store["path"] = "bench.db"
    else:
        store.update(url=REDIS_URL, prefix=prefix)
    data = {
        "sites": {"bench": {"publishable_key": "pk_bench", "secret_key": "sk_bench"}},
        "slots": {"x": {"default": {"type": "banner", "title": "x"}}},
        "store": store,
    }
    path = tmp / f"{backend}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def post_all(batches: list[bytes], clients: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    accepted = 0
    queue = list(reversed(batches))
    headers = {"X-Slotwise-Key": "pk_bench", "Content-Type": "application/json", "User-Agent": UA}

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal accepted
        while queue:
            body = queue.pop()
            t = time.perf_counter()
            r = await http.post("/v1/events", content=body, headers=headers)
            latencies.append(time.perf_counter() - t)
            r.raise_for_status()
            accepted += len(r.json()["accepted"])

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", limits=limits, timeout=60) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return elapsed, latencies, accepted


def start_gateway(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """The gateway on the first allowed core (it inherits the affinity), this process (the load
    and the raw store) on the second, so the two never take turns on one core."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        os.sched_setaffinity(0, {cpus[0]})
    try:
        return procs.start_gateway(config, PORT, log)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    finally:
        if len(cpus) >= 2:
            os.sched_setaffinity(0, set(cpus[1:]))


def open_raw(backend: str, tmp: Path, prefix: str) -> Any:
    if backend == "sqlite":
        from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

        return SQLiteStore(tmp / "raw.db")
    from slotwise.gateway.visitors.stores.redis import RedisStore

    return RedisStore(REDIS_URL, prefix=prefix + "raw:")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def raw_rate(store: Any, batches: list[list[dict[str, Any]]], clients: int) -> tuple[float, float]:
    """Events/s and CPU µs per event (this process's, all threads) of the store's own `ingest`."""
    queue = list(reversed(batches))

    async def worker() -> None:
        while queue:
            await store.ingest("bench", queue.pop())

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(clients)))
    n = sum(len(b) for b in batches)
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1e6


async def segment_eval(store: Any, visitors: int) -> dict[str, float]:
    from slotwise.gateway.config.loader import parse_config
    from slotwise.gateway.context.request import resolve_context

    config = parse_config({"sites": {"bench": {"publishable_key": "a", "secret_key": "b"}}})
    site = config.sites["bench"]
    ctx = resolve_context(body_context={}, headers={}, peer=None, config=config, site=site, allow_simulation=False)
    rules = [compile_expr(r) for r in RULES]
    ids = [f"v{i}" for i in range(visitors)]
    profiles = [(await store.load_for_render("bench", v))[0] for v in ids]
    start = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for p in profiles:
            env = Env(ctx, site=site, profile=p)
            for rule in rules:
                rule.evaluate(env)
    eval_us = (time.perf_counter() - start) / (rounds * len(profiles)) * 1e6
    start = time.perf_counter()
    for v in ids:
        p, attrs = await store.load_for_render("bench", v)
        env = Env(ctx, site=site, profile=p, attributes=attrs)
        for rule in rules:
            rule.evaluate(env)
    load_us = (time.perf_counter() - start) / len(ids) * 1e6
    return {
        "segment_eval_us_per_visitor": round(eval_us, 1),
        "load_and_eval_us_per_visitor": round(load_us, 1),
        "rules_per_visitor": len(rules),
    }


def cleanup_redis(prefix: str) -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    keys = list(r.scan_iter(match=prefix + "*", count=1000))
    for i in range(0, len(keys), 1000):
        r.delete(*keys[i : i + 1000])
    r.close()


def run_backend(backend: str, n: int, visitors: int, clients: int, tmp: Path) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    mixes = ("session", "mixed")
    result: dict[str, Any] = {}
    try:
        proc = start_gateway(config_for(backend, tmp, prefix), tmp / f"{backend}.log")
        try:
            for mix in mixes:
                wire = make_events(n, visitors, 1, wire=True, mix=mix)
                bodies = [json.dumps({"site": "bench", "events": wire[i : i + 100]}).encode() for i in range(0, n, 100)]
                cpu = cpu_seconds(proc.pid)
                elapsed, lat, accepted = asyncio.run(post_all(bodies, clients))
                cpu = cpu_seconds(proc.pid) - cpu
                lat.sort()
                result[mix] = {
                    "http_events_per_s": round(accepted / elapsed),
                    # The gateway's CPU per event: steadier than events/s on a shared machine.
                    "http_server_cpu_us_per_event": round(cpu / max(accepted, 1) * 1e6, 1),
                    "http_p50_ms": round(lat[len(lat) // 2] * 1000, 1),
                    "http_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
                }
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)

        async def raw() -> dict[str, Any]:
            store = open_raw(backend, tmp, prefix)
            try:
                for mix in mixes:
                    events = make_events(n, visitors, 2, wire=False, mix=mix)
                    rate, cpu = await raw_rate(store, [events[i : i + 100] for i in range(0, n, 100)], clients)
                    result[mix]["baseline_raw_store_events_per_s"] = round(rate)
                    result[mix]["baseline_raw_store_cpu_us_per_event"] = round(cpu, 1)
                    result[mix]["http_share_of_raw"] = round(result[mix]["http_events_per_s"] / rate, 2)
                return await segment_eval(store, min(visitors, 2000))
            finally:
                await store.close()

        result.update(asyncio.run(raw()))
    finally:
        if backend == "redis":
            cleanup_redis(prefix)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="about 20k events per backend (under a minute)")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--visitors", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backends", default="sqlite,redis")
    args = parser.parse_args()
    global PORT
    from tests.conftest import free_port

    PORT = free_port()
    n = args.events or (20_000 if args.quick else 100_000)
    from slotwise.gateway.common.jsoncodec import dumps

    figures: dict[str, Any] = {
        "events": n,
        "batch": 100,
        "clients": args.clients,
        "cpus": os.cpu_count(),
        "json_codec": "orjson" if "orjson" in dumps.__code__.co_names else "json",
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="slotwise-bench-") as tmp:
        for backend in args.backends.split(","):
            if backend == "redis" and not procs.redis_up(REDIS_URL):
                figures["redis"] = "skipped: no Redis at 127.0.0.1:6379"
                continue
            figures[backend] = run_backend(backend, n, args.visitors, args.clients, Path(tmp))
            print(f"{backend}: {figures[backend]}", flush=True)
    figures["targets"] = {"sqlite_http_events_per_s": 20000, "segment_eval_us_per_visitor": 50}
    figures["mixes"] = {
        "session": "each batch is one visitor's 100 events (the browser client's batching)",
        "mixed": f"each event from a random one of {args.visitors} visitors (worst case)",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
