# SPDX-License-Identifier: Apache-2.0
"""Alerts and version following stay off the render path: render throughput and p99 of the demo
gateway with an `alerts` section judged every second (KPI, SRM, fallback and p99 rules over the
SQLite store) and a studio version follower, against the same gateway without them, in one run.

Runs the two alternately (A B A B, to spread the machine's noise over both) with a few client
threads each; prints requests/s and p99 per configuration and the ratios; the last line is JSON.

    python bench/alerts_bench.py [--quick] [--seconds 8] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `tests` is not installed
from tests.conftest import free_port
from tests.procs import start_gateway

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
RULES = [
    {
        "name": "hero-ctr",
        "kind": "kpi",
        "metric": "ctr",
        "slot": "home-hero",
        "below": 0.01,
        "drop": 0.3,
        "min_volume": 1,
    },
    {"name": "srm", "kind": "srm"},
    {"name": "fallbacks", "kind": "fallback_rate", "above": 0.05, "min_renders": 1},
    {"name": "slow", "kind": "render_p99", "above_ms": 1000, "min_renders": 1},
]


def configs(tmp: Path) -> dict[str, Path]:
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.demo.site import prepare_data
    from slotwise.gateway.studio.auth import add_user
    from slotwise.gateway.studio.store import open_studio_store

    out = {}
    for name in ("baseline", "alerts"):
        path = prepare_data(tmp / name, 8080)
        if name == "alerts":
            data = yaml.safe_load(path.read_text())
            data["alerts"] = {"every_seconds": 1, "webhooks": [{"url": "http://127.0.0.1:9/hook"}], "rules": RULES}
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            store = open_studio_store(load_config(path), path)  # its file makes the follower run
            add_user(store, "bench", "admin", "bench password")
            store.close()
        out[name] = path
    return out


def drive(base: str, key: str, seconds: float, threads: int) -> dict[str, float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine = []
        with httpx.Client(base_url=base, headers={"X-Slotwise-Key": key, "User-Agent": UA}, timeout=10) as http:
            i = 0
            while time.monotonic() < stop:
                body = {"site": "demo", "visitor_id": f"b{n}-{i % 500}", "slots": ["home-hero", "welcome", "offer"]}
                started = time.perf_counter()
                assert http.post("/v1/render", json=body).status_code == 200
                mine.append(time.perf_counter() - started)
                i += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    seconds, rounds = (3.0, 2) if args.quick else (args.seconds, 3)
    results: dict[str, list[dict[str, float]]] = {"baseline": [], "alerts": []}
    with tempfile.TemporaryDirectory() as tmp:
        paths = configs(Path(tmp))
        key = yaml.safe_load(paths["baseline"].read_text())["sites"]["demo"]["publishable_key"]
        for _ in range(rounds):
            for name, path in paths.items():
                port = free_port()
                proc = start_gateway(path, port, Path(tmp) / f"{name}.log")
                try:
                    drive(f"http://127.0.0.1:{port}", key, 1.0, args.threads)  # warm-up
                    results[name].append(drive(f"http://127.0.0.1:{port}", key, seconds, args.threads))
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
    summary = {
        name: {k: round(statistics.median(r[k] for r in runs), 2) for k in ("rps", "p99_ms")}
        for name, runs in results.items()
    }
    for name, figures in summary.items():
        print(f"{name:<9} {figures['rps']:>8.1f} req/s   p99 {figures['p99_ms']:.2f} ms")
    ratio_rps = summary["alerts"]["rps"] / summary["baseline"]["rps"]
    ratio_p99 = summary["alerts"]["p99_ms"] / summary["baseline"]["p99_ms"]
    print(f"alerts/baseline: throughput x{ratio_rps:.3f}, p99 x{ratio_p99:.3f} (load average {os.getloadavg()[0]:.2f})")
    print(json.dumps({**summary, "ratio_rps": round(ratio_rps, 3), "ratio_p99": round(ratio_p99, 3),
                      "rounds": rounds, "seconds": seconds, "threads": args.threads,
                      "load_average": round(os.getloadavg()[0], 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
