# SPDX-License-Identifier: Apache-2.0
"""Render throughput and latency of the gateway against a bare Starlette app, in one run.

Starts each server with uvicorn (one worker, uvloop/httptools where installed) pinned to one
core and drives it with wrk from the other core: POST /v1/render for a page with 4 slots, over
a population of varied visitors (devices, time zones, countries, referrers, items).
Prints requests/s and p50/p99 latency of both and the ratio render/bare; the last line is JSON.

    python bench/render_bench.py [--quick] [--connections 32] [--duration 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `tests` is not installed
from tests.procs import serve_command

ROOT = Path(__file__).resolve().parent.parent
UAS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London", "Australia/Sydney", None]
REFERRERS = ["https://www.google.com/", "https://t.co/x", None, "https://news.example.org/a"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def population(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    bodies = []
    for i in range(n):
        context = {
            "user_agent": rng.choice(UAS),
            "url": "http://127.0.0.1/demo",
            "simulate": {"country": rng.choice(["DE", "US", "FR", "JP"])},
        }
        if tz := rng.choice(ZONES):
            context["timezone"] = tz
        if ref := rng.choice(REFERRERS):
            context["referrer"] = ref
        if rng.random() < 0.3:
            context["item_id"] = f"sho-{rng.randint(1, 32):03d}"
        bodies.append(
            {
                "site": "demo",
                "visitor_id": f"bench-{i}",
                "slots": ["home-hero", "welcome", "recommendations", "offer"],
                "context": context,
            }
        )
    return bodies


LUA = """
local bodies = {}
for line in io.lines("%s") do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/v1/render",
    {["Content-Type"] = "application/json", ["X-Slotwise-Key"] = "pk_demo"}, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%f %%f %%d\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max))
end
"""


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if (
                httpx.post(url, json=population(1)[0], headers={"X-Slotwise-Key": "pk_demo"}, timeout=1).status_code
                == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def taskset(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def measure(cmd: list[str], port: int, lua: Path, connections: int, duration: int, env: dict) -> dict:
    proc = subprocess.Popen(taskset(0) + cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/v1/render", proc)
        base = ["wrk", "-t1", f"-c{connections}", "-s", str(lua), f"http://127.0.0.1:{port}"]
        subprocess.run(taskset(1) + base[:3] + ["-d2s"] + base[3:], capture_output=True, check=True)  # warm-up
        out = subprocess.run(
            taskset(1) + base[:3] + [f"-d{duration}s"] + base[3:], capture_output=True, text=True, check=True
        ).stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    line = next(row for row in out.splitlines() if row.startswith("RESULT"))
    reqs, micros, errors, p50, p99, _ = line.split()[1:]
    return {
        "rps": round(int(reqs) / (int(micros) / 1e6), 1),
        "p50_ms": round(float(p50), 3),
        "p99_ms": round(float(p99), 3),
        "errors": int(errors),
        "requests": int(reqs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per server (under a minute in all)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="alternate the servers this many times and keep each one's best round "
        "(other load on a shared machine only ever slows a round down)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    duration = 5 if args.quick else args.duration
    from slotwise.gateway.demo.site import prepare_data

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        config = prepare_data(tmpdir / "demo", 8080)
        bodies = tmpdir / "bodies.txt"
        bodies.write_text("\n".join(json.dumps(b) for b in population(2000)) + "\n")
        lua = tmpdir / "bench.lua"
        lua.write_text(LUA % bodies)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        servers = {
            "render": lambda port: serve_command(config, port),
            "bare": lambda port: [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_app:app",
                "--port",
                str(port),
                "--loop",
                "auto",
                "--http",
                "auto",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
        }
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for name, cmd in servers.items():
                port = free_port()
                result = measure(cmd(port), port, lua, args.connections, duration, env)
                if name not in best or result["rps"] > best[name]["rps"]:
                    best[name] = result
        render, bare = best["render"], best["bare"]
    ratio = round(render["rps"] / bare["rps"], 3)
    print(
        f"connections {args.connections}, {duration}s each, best of {args.rounds} alternating rounds, "
        "server on core 0, wrk on core 1"
    )
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, r in (("render", render), ("bare", bare)):
        print(f"{name:10}{r['rps']:>10}{r['p50_ms']:>10}{r['p99_ms']:>10}{r['errors']:>8}")
    print(f"ratio render/bare: {ratio}  (target >= 0.5; render p99 target < 10 ms)")
    print(
        json.dumps(
            {
                "bench": "render",
                "connections": args.connections,
                "duration_s": duration,
                "rounds": args.rounds,
                "load_average": os.getloadavg()[0],
                "render": render,
                "bare": bare,
                "ratio": ratio,
            }
        )
    )


if __name__ == "__main__":
    main()
