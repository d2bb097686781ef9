# SPDX-License-Identifier: Apache-2.0
"""How the cost of a render and of ingestion grows with the size of what they work on.

    python bench/growth_bench.py [--quick] [--svg docs/img/growth.svg]

Renders run in process through the ASGI app (no network, no server: the figure is the
gateway's own work), one request at a time, median of many; each curve's baseline is its own
smallest point, measured in the same run, and every point is given as a ratio to it:
- slots per page (1, 4, 16 banner slots with a rule each);
- segment rules evaluated per render (10, 100, 1,000 segments: the response lists memberships);
- profile size (a visitor with 10 to 10,000 events, loaded from SQLite and read by a rule);
- catalog size (1k, 100k, 1M items) for the catalog strategies `popular` and `similar`, and for
  the model strategies `cf` and `hybrid` (a bundle trained on synthetic interactions; 1k and
  100k items: a 1M-item bundle does not fit this machine's budget);
- ingestion (the SQLite store's `ingest`, in process) against batch size (1 to 500) and number
  of distinct visitors (100 to 50,000) in mixed batches.
`growth` is the exponent b of cost ∝ size^b between the first and last point: 1 is linear;
anything above 1.1 is flagged. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.config.registries import install_defaults
from slotwise.gateway.http.app import create_app
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
SITE = {"bench": {"publishable_key": "pk_bench", "secret_key": "sk_bench", "timezone": "Europe/Berlin"}}


def banner(i: int) -> dict[str, Any]:
    return {
        "variants": [
            {"id": "mobile", "when": "device.class == 'mobile'", "block": {"type": "banner", "title": f"m{i}"}}
        ],
        "default": {"type": "banner", "title": f"slot {i}"},
    }


async def _call(app: Any, body: bytes) -> float:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/render",
        "raw_path": b"/v1/render",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"x-slotwise-key", b"pk_bench"),
            (b"user-agent", UA.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("10.0.0.1", 40000),
        "server": ("gateway", 80),
        "state": {},
        "app": app,
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    start = time.perf_counter()
    await app(scope, receive, send)
    elapsed = time.perf_counter() - start
    if status != [200]:
        raise SystemExit(f"render answered {status}")
    return elapsed


async def _median_us(app: Any, bodies: list[bytes], repeat: int) -> float:
    for body in bodies[:20]:  # warm caches, imports, the ONNX session
        await _call(app, body)
    times = []
    for k in range(repeat):
        times.append(await _call(app, bodies[k % len(bodies)]))
        await asyncio.sleep(0)
    return statistics.median(times) * 1e6


def render_costs(data: dict[str, Any], tmp: Path, pages: list[list[dict[str, Any]]], repeat: int) -> list[float]:
    """Median µs per render for each list of request bodies, on one app built from `data`.

    The page cache is off: a hit costs the same whatever the page holds, and these curves are
    about what a render costs (docs/performance.md, "Render path", has the hit figures)."""
    data = {**copy.deepcopy(data), "cache": {**data.get("cache", {}), "pages": {"size": 0}}}
    config = parse_config(data, base_dir=tmp)
    with TestClient(create_app(config)) as client:
        assert client.portal is not None
        out = []
        for bodies in pages:
            raw = [json.dumps(b).encode() for b in bodies]
            out.append(float(client.portal.call(_median_us, client.app, raw, repeat)))
        return out


def render_cost(data: dict[str, Any], tmp: Path, bodies: list[dict[str, Any]], repeat: int) -> float:
    return render_costs(data, tmp, [bodies], repeat)[0]


def body(slots: list[str], visitor: str | None = None, **context: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"site": "bench", "slots": slots, "context": {"consent": "full", **context}}
    if visitor:
        out["visitor_id"] = visitor
    return out


def curve_slots(tmp: Path, repeat: int) -> dict[int, float]:
    data = {"sites": SITE, "slots": {f"s{i}": banner(i) for i in range(16)}}
    return {n: render_cost(data, tmp, [body([f"s{i}" for i in range(n)])], repeat) for n in (1, 4, 16)}


def curve_rules(tmp: Path, repeat: int) -> dict[int, float]:
    out = {}
    for n in (10, 100, 1000):
        segments = {f"g{k}": {"when": f"device.class == 'mobile' and local.hour >= {k % 24}"} for k in range(n)}
        data = {"sites": SITE, "segments": segments, "slots": {"s0": banner(0)}}
        out[n] = render_cost(data, tmp, [body(["s0"])], repeat)
    return out


def events_for(visitor: str, n: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    now = time.time()
    types = ["page_view", "item_view", "item_view", "click", "add_to_cart", "purchase"]
    return [
        {
            "event_id": f"{visitor}-{i}",
            "visitor_id": visitor,
            "type": rnd.choice(types),
            "ts": round(now - rnd.random() * 30 * 86400, 3),
            "item_id": f"sku{rnd.randrange(5000)}",
            "properties": {"categories": [rnd.choice(["shoes", "bags", "shirts", "boots"])]},
            "context": {"device": "mobile", "daypart": "evening"},
        }
        for i in range(n)
    ]


def curve_profile(tmp: Path, repeat: int, sizes: tuple[int, ...]) -> dict[int, float]:
    db = tmp / "profiles.db"

    async def fill() -> None:
        store = SQLiteStore(db)
        try:
            for n in sizes:
                evs = events_for(f"p{n}", n, n)
                for i in range(0, n, 500):
                    await store.ingest("bench", evs[i : i + 500])
        finally:
            await store.close()

    asyncio.run(fill())
    segments = {
        "cart-abandoner": {"when": "events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0"},
        "shoe-lover": {"when": "affinity.category('shoes') > 0.3"},
        "loyal": {"when": "rfm.frequency >= 3 and visitor.returning"},
    }
    data = {
        "sites": SITE,
        "segments": segments,
        "slots": {"s0": banner(0)},
        "store": {"backend": "sqlite", "path": str(db)},
    }
    return {n: render_cost(data, tmp, [body(["s0"], f"p{n}")], repeat) for n in sizes}


def write_catalog(path: Path, n: int) -> None:
    cats = [f"cat{c}" for c in range(200)]
    with path.open("w") as fh:
        for k in range(n):
            item = {"item_id": f"sku{k}", "title": f"item {k} w{k % 997} w{k % 101}", "categories": [cats[k % 200]]}
            fh.write(json.dumps(item) + "\n")


def curve_catalog(tmp: Path, repeat: int, sizes: tuple[int, ...], model_sizes: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"popular": {}, "similar": {}, "cf": {}, "hybrid": {}}
    for n in sizes:
        path = tmp / f"items{n}.jsonl"
        write_catalog(path, n)
        slots = {
            name: {"default": {"type": "recommendations", "strategy": name, "count": 4}}
            for name in ("popular", "similar", "cf", "hybrid")
        }
        data: dict[str, Any] = {"sites": SITE, "catalog": {"path": str(path)}, "slots": slots}
        if n in model_sizes:
            data["models"] = {"dir": str(train_bundle(tmp, n)), "watch_seconds": 0}
        pages = [body([], item_id=f"sku{(k * 7919) % n}") for k in range(50)]
        strategies = ("popular", "similar", "cf", "hybrid") if n in model_sizes else ("popular", "similar")
        costs = render_costs(data, tmp, [[{**p, "slots": [name]} for p in pages] for name in strategies], repeat)
        for name, cost in zip(strategies, costs, strict=True):
            out[name][n] = cost
        print(f"catalog {n}: {[(k, round(v[n])) for k, v in out.items() if n in v]}", flush=True)
    return out


def train_bundle(tmp: Path, n_items: int) -> Path:
    """A small recommender bundle over `n_items` (synthetic interactions, Zipf popularity)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from inference_bench import synthetic

    from slotwise.models.train_recommender import train_recommender

    root = tmp / f"models{n_items}"
    inter, items = synthetic(n_items, n_users=min(2000, max(200, n_items // 50)), per_user=20)
    train_recommender(
        inter, items, root / "recommender" / "v1", lam=200.0, content_weight=0.02, progress=lambda m: None
    )
    return root


def curve_ingest(tmp: Path, total: int) -> dict[str, dict[int, float]]:
    """Events/s into SQLite (in process, one writer as the gateway has) by batch size and visitors."""

    async def rate(batch: int, visitors: int, tag: str) -> float:
        store = SQLiteStore(tmp / f"ingest-{tag}.db")
        rnd = random.Random(batch * 7 + visitors)
        evs = []
        for i in range(total):
            e = events_for(f"v{rnd.randrange(visitors)}", 1, i)[0]
            e["event_id"] = f"{tag}-{i}"
            evs.append(e)
        try:
            start = time.perf_counter()
            for i in range(0, total, batch):
                await store.ingest("bench", evs[i : i + batch])
            return total / (time.perf_counter() - start)
        finally:
            await store.close()

    by_batch = {b: round(asyncio.run(rate(b, 5000, f"b{b}"))) for b in (1, 10, 100, 500)}
    by_visitors = {v: round(asyncio.run(rate(100, v, f"v{v}"))) for v in (100, 1000, 10000, 50000)}
    return {"events_per_s_by_batch": by_batch, "events_per_s_by_visitors": by_visitors}


def growth(points: dict[int, float], inverse: bool = False) -> float:
    """b in cost ∝ size^b between the first and the last point (rates are turned into costs)."""
    sizes = sorted(points)
    first, last = points[sizes[0]], points[sizes[-1]]
    if inverse:
        first, last = 1 / first, 1 / last
    return round(math.log(last / first) / math.log(sizes[-1] / sizes[0]), 2)


def svg(curves: dict[str, dict[int, float]], path: Path) -> None:
    """Cost relative to each curve's first point against size relative to it, log-log."""
    width, height, pad = 640, 400, 56
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    series = []
    for name, pts in curves.items():
        sizes = sorted(pts)
        series.append((name, [(s / sizes[0], pts[s] / pts[sizes[0]]) for s in sizes]))
    max_x = max(x for _, ps in series for x, _ in ps)
    max_y = max(max(y for _, ps in series for _, y in ps), max_x)

    def xy(x: float, y: float) -> tuple[float, float]:
        px = pad + math.log10(x) / math.log10(max_x) * (width - 2 * pad)
        py = height - pad - math.log10(max(y, 1e-3) * 10) / math.log10(max_y * 10) * (height - 2 * pad)
        return round(px, 1), round(py, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        ' font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{pad}" y="20" font-size="13">Cost relative to the smallest size (log-log); dashed: linear</text>',
        f'<text x="{width // 2}" y="{height - 12}" text-anchor="middle">size / smallest size</text>',
    ]
    x0, y0 = xy(1, 1)
    x1, y1 = xy(max_x, max_x)
    parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#999" stroke-dasharray="4 4"/>')
    for decade in range(int(math.log10(max_x)) + 1):
        px, py = xy(10**decade, 0.1)
        parts.append(f'<text x="{px}" y="{height - pad + 16}" text-anchor="middle">{10**decade:g}×</text>')
    for decade in range(-1, int(math.log10(max_y)) + 1):
        px, py = xy(1, 10**decade)
        parts.append(f'<text x="{pad - 6}" y="{py + 4}" text-anchor="end">{10**decade:g}×</text>')
        parts.append(f'<line x1="{pad}" y1="{py}" x2="{width - pad}" y2="{py}" stroke="#eee"/>')
    for k, (name, ps) in enumerate(series):
        color = colors[k % len(colors)]
        coords = " ".join(f"{a},{b}" for a, b in (xy(x, y) for x, y in ps))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<text x="{pad + 10}" y="{40 + 14 * k}" fill="{color}">{name}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, catalogs up to 100k, models up to 10k")
    parser.add_argument("--svg", type=Path, default=None, help="write the plot here (e.g. docs/img/growth.svg)")
    args = parser.parse_args()
    install_defaults()
    repeat = 300 if args.quick else 1000
    catalogs = (1000, 100_000) if args.quick else (1000, 100_000, 1_000_000)
    model_sizes = (1000, 10_000) if args.quick else (1000, 100_000)
    profiles = (10, 100, 1000, 10_000)
    figures: dict[str, Any] = {"load_average_start": os.getloadavg()[0], "repeat": repeat}
    with tempfile.TemporaryDirectory(prefix="slotwise-growth-") as name:
        tmp = Path(name)
        figures["slots_us"] = curve_slots(tmp, repeat)
        print(f"slots: {figures['slots_us']}", flush=True)
        figures["rules_us"] = curve_rules(tmp, repeat)
        print(f"rules: {figures['rules_us']}", flush=True)
        figures["profile_events_us"] = curve_profile(tmp, repeat, profiles)
        print(f"profile: {figures['profile_events_us']}", flush=True)
        figures["catalog_us"] = curve_catalog(tmp, max(repeat // 3, 100), catalogs, model_sizes)
        figures["ingest"] = curve_ingest(tmp, 10_000 if args.quick else 50_000)
        print(f"ingest: {figures['ingest']}", flush=True)
    cat = figures["catalog_us"]
    curves = {
        "slots per page": figures["slots_us"],
        "segment rules": figures["rules_us"],
        "profile events": figures["profile_events_us"],
        "catalog: popular": cat["popular"],
        "catalog: similar": cat["similar"],
        "catalog: hybrid model": cat["hybrid"],
    }
    figures["growth"] = {name: growth(points) for name, points in curves.items() if len(points) > 1}
    ingest = figures["ingest"]
    figures["growth"]["ingest: visitors (cost per event)"] = growth(ingest["events_per_s_by_visitors"], inverse=True)
    figures["faster_than_linear"] = sorted(name for name, b in figures["growth"].items() if b > 1.1)
    figures["load_average_end"] = os.getloadavg()[0]
    if args.svg:
        svg({k: {s: float(v) for s, v in pts.items()} for k, pts in curves.items() if len(pts) > 1}, args.svg)
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
