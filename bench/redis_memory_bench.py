# SPDX-License-Identifier: Apache-2.0
"""Redis memory per visitor: profiles and events written through the real Redis store.

    python bench/redis_memory_bench.py [--quick] [--visitors 20000] [--events-per-visitor 20]

N visitors' events (a browsing mix: views, clicks, carts, purchases, with categories and page
context, as the gateway enriches them) go through `RedisStore.ingest` under a fresh prefix.
Memory is read two ways: `used_memory` from `INFO memory` before and after (server-wide, so
other clients of a shared Redis add noise), and the sum of `MEMORY USAGE` over this run's keys
(exact for them, without the allocator's and the keyspace's overhead), split by key kind.
Redis's own CPU time per event (INFO cpu, server-wide too) gives its write ceiling.
The baseline, measured in the same run, is the profile keys alone (what a deployment that
keeps no event log would hold). Both are extrapolated linearly to one million visitors.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REDIS_URL = "redis://127.0.0.1:6379/7"
TYPES = ["page_view", "page_view", "item_view", "item_view", "item_view", "click", "add_to_cart", "purchase"]
CATEGORIES = ["shoes", "bags", "shirts", "boots", "hats", "socks", "coats", "belts"]


def visitor_events(rnd: random.Random, visitor: str, n: int, now: float) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        etype = rnd.choice(TYPES)
        e: dict[str, Any] = {
            "event_id": f"{visitor}-{i}-{rnd.getrandbits(32):08x}",
            "visitor_id": visitor,
            "type": etype,
            "ts": round(now - rnd.random() * 30 * 86400, 3),
            "context": {"device": rnd.choice(["mobile", "desktop"]), "daypart": "evening", "country": "DE"},
        }
        if etype != "page_view":
            e["item_id"] = f"sku-{rnd.randrange(2000)}"
            e["properties"] = {"categories": [rnd.choice(CATEGORIES)]}
        if etype == "purchase":
            e["value"] = round(rnd.uniform(10, 200), 2)
        out.append(e)
    return out


async def fill(url: str, prefix: str, visitors: int, per_visitor: int, batch: int) -> float:
    """`batch` 0: batches of 500 events over 25 visitors (a forwarder); else each call is one
    visitor's next `batch` events, 8 calls in flight (browsers sending as visitors browse)."""
    from slotwise.gateway.visitors.stores.redis import RedisStore

    store = RedisStore(url, prefix=prefix)
    rnd = random.Random(1)
    now = time.time()
    per = [visitor_events(rnd, f"v{v:07d}", per_visitor, now) for v in range(visitors)]
    if batch:  # round-robin over visitors: calls in flight together are different visitors'
        calls = [ev[i : i + batch] for i in range(0, per_visitor, batch) for ev in per]
    else:
        flat = [e for ev in per for e in ev]
        calls = [flat[i : i + 500] for i in range(0, len(flat), 500)]
    queue = calls[::-1]

    async def worker() -> None:
        while queue:
            await store.ingest("bench", queue.pop())

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(8 if batch else 1)))
    finally:
        await store.close()
    return time.perf_counter() - started


def key_usage(r: Any, prefix: str) -> Counter[str]:
    """MEMORY USAGE summed per key kind (`pr`, `ev`, `ids`, `ts`, ...) over this run's keys."""
    totals: Counter[str] = Counter()
    keys = list(r.scan_iter(match=prefix + "*", count=2000))
    for i in range(0, len(keys), 1000):
        chunk = keys[i : i + 1000]
        pipe = r.pipeline(transaction=False)
        for k in chunk:
            pipe.memory_usage(k, samples=0)
        for k, used in zip(chunk, pipe.execute(), strict=True):
            totals[k[len(prefix) :].split(":", 1)[0]] += int(used or 0)
    totals["keys"] = len(keys)
    return totals


def redis_cpu(r: Any) -> float:
    """Seconds of CPU the Redis server has used (user + system), server-wide."""
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def cleanup(r: Any, prefix: str) -> None:
    keys = list(r.scan_iter(match=prefix + "*", count=2000))
    for i in range(0, len(keys), 1000):
        r.delete(*keys[i : i + 1000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5000 visitors, 1000 with --batch (under a minute)")
    parser.add_argument("--visitors", type=int, default=None)
    parser.add_argument("--events-per-visitor", type=int, default=20)
    parser.add_argument("--batch", type=int, default=0, help="events per call, one visitor each (0: 500, mixed)")
    parser.add_argument("--url", default=REDIS_URL)
    args = parser.parse_args()
    import redis

    n = args.visitors or ((1_000 if args.batch else 5_000) if args.quick else 20_000)
    r = redis.Redis.from_url(args.url, decode_responses=True)
    r.ping()
    prefix = f"bench-mem-{uuid.uuid4().hex[:8]}:"
    try:
        before, cpu_before = int(r.info("memory")["used_memory"]), redis_cpu(r)
        seconds = asyncio.run(fill(args.url, prefix, n, args.events_per_visitor, args.batch))
        after, cpu_after = int(r.info("memory")["used_memory"]), redis_cpu(r)
        usage = key_usage(r, prefix)
    finally:
        cleanup(r, prefix)
        r.close()
    total = sum(v for k, v in usage.items() if k != "keys")
    scale = 1_000_000 / n
    per_kind = {k: round(v / n, 1) for k, v in sorted(usage.items()) if k != "keys"}
    figures = {
        "bench": "redis_memory",
        "visitors": n,
        "events_per_visitor": args.events_per_visitor,
        "events_per_call": args.batch or 500,
        "keys": usage["keys"],
        "write_s": round(seconds, 2),
        "events_per_s": round(n * args.events_per_visitor / seconds),
        "redis_cpu_us_per_event": round((cpu_after - cpu_before) * 1e6 / (n * args.events_per_visitor), 2),
        "used_memory_delta_bytes_per_visitor": round((after - before) / n, 1),
        "key_bytes_per_visitor": round(total / n, 1),
        "key_bytes_per_visitor_by_kind": per_kind,
        "per_million_visitors_gib": {
            "used_memory": round((after - before) * scale / 2**30, 2),
            "keys": round(total * scale / 2**30, 2),
            "baseline_profiles_only": round(usage["pr"] * scale / 2**30, 2),
        },
        "baseline": "profile keys (pr) alone, same run",
        "load_average": os.getloadavg()[0],
        "note": "used_memory and Redis CPU are server-wide: other clients of this Redis add noise",
    }
    print(f"{n} visitors x {args.events_per_visitor} events: {round(total / n)} B/visitor in keys", flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
