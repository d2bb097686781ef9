# SPDX-License-Identifier: Apache-2.0
"""Render throughput and latency of the gateway against a bare Starlette app, in one run.

Each server runs pinned to core 0 and wrk drives it from core 1: POST /v1/render for a page
with 4 slots, over a population of 2,000 varied visitors (devices, time zones, countries,
referrers, items; each with an id and no profile, so a quarter of them, home-market visitors,
get the offer experiment's assignment and are rendered every time; the others hit the page
cache). Servers: uvicorn (uvloop and httptools where installed) and granian (where installed),
each for the gateway (`slotwise serve [--server granian]`, SQLite store) and the bare app, and
the bare app under the gateway's own uvicorn protocol (`bare protocol`, `bench/bare_app.py`); then
1 and 2 workers (`slotwise serve --workers`, Redis store; both cores for the server, wrk shares
core 1) against the bare app with the same workers. Also the handler alone, in process (no
server, `bench/render_handler.py`): over 5,000 calls, and the fastest of 30 batches of 200 per
kind of request (page-cache hits, full renders of visitors with a profile, all, bare), the
steadier figure on a shared machine.
Then the growth table: `bench/growth_bench.py --quick` in its own process (cost per render
against slots, rules, profile size and catalog size; ingest against batch size and visitors;
`--no-growth` skips it). Prints requests/s, p50/p99 latency, the ratios render/bare, the growth
table; the last line is JSON.

    python bench/render_bench.py [--quick] [--connections 32] [--duration 10] [--rounds 2] [--no-growth]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `tests` is not installed
from bench.render_handler import handler_micros
from tests.procs import redis_up, serve_command

REDIS_URL = "redis://127.0.0.1:6379/0"

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


def taskset(cores: str) -> list[str]:
    return ["taskset", "-c", cores] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def page_cache_hits(port: int) -> float | None:
    """The share of renders the page cache answered, from the server's /metrics."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    found = dict(re.findall(r'slotwise_cache_(hits|misses)_total\{cache="pages"\} ([0-9.e+]+)', text))
    hits, misses = float(found.get("hits", 0)), float(found.get("misses", 0))
    return round(hits / (hits + misses), 3) if hits + misses else None


def measure(cmd: list[str], port: int, lua: Path, args: argparse.Namespace, env: dict, cores: str = "0") -> dict:
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    proc = subprocess.Popen(taskset(cores) + cmd, cwd=ROOT, env=env, start_new_session=True, **quiet)  # type: ignore[call-overload]
    try:
        wait_ready(f"http://127.0.0.1:{port}/v1/render", proc)
        base = ["wrk", "-t1", f"-c{args.connections}", "-s", str(lua), f"http://127.0.0.1:{port}"]
        subprocess.run(taskset("1") + base[:3] + ["-d2s"] + base[3:], capture_output=True, check=True)  # warm-up
        out = subprocess.run(
            taskset("1") + base[:3] + [f"-d{args.duration}s"] + base[3:], capture_output=True, text=True, check=True
        ).stdout
        hits = page_cache_hits(port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers (its own session)
        proc.wait(timeout=20)
    line = next(row for row in out.splitlines() if row.startswith("RESULT"))
    reqs, micros, errors, p50, p99, _ = line.split()[1:]
    result = {
        "rps": round(int(reqs) / (int(micros) / 1e6), 1),
        "p50_ms": round(float(p50), 3),
        "p99_ms": round(float(p99), 3),
        "errors": int(errors),
        "requests": int(reqs),
    }
    if hits is not None:
        result["page_cache_hits"] = hits
    return result


def uvicorn_bare(port: int, workers: int = 1) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port), "--workers", str(workers)),
        *("--loop", "auto", "--http", "auto", "--no-access-log", "--log-level", "warning"),
    ]


def protocol_bare(port: int) -> list[str]:
    """The bare app under the gateway's own uvicorn protocol (`http/server.py`: bounds, a turn's
    writes sent together), to tell what the server layer gives from what the handler costs."""
    return [sys.executable, "-m", "bench.bare_app", str(port)]


def granian_bare(port: int) -> list[str]:
    """The bare app as `slotwise serve --server granian` runs the gateway (http/granian_server.py)."""
    return [
        *(sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", "--no-ws", "--http", "1", "--log-level", "warning", "--loop", "auto", "--no-access-log"),
        "bench.bare_app:app",
    ]


def servers(config: Path, redis_config: Path | None) -> dict[str, tuple[Any, str]]:
    """name -> (command for a port, cores of the server)."""
    out: dict[str, tuple[Any, str]] = {
        "render uvicorn": (lambda port: serve_command(config, port), "0"),
        "bare uvicorn": (uvicorn_bare, "0"),
        "bare protocol": (protocol_bare, "0"),
    }
    if importlib.util.find_spec("granian"):
        out["render granian"] = (lambda port: [*serve_command(config, port), "--server", "granian"], "0")
        out["bare granian"] = (granian_bare, "0")
    if redis_config is not None:
        for n in (1, 2):
            render = (lambda port, n=n: [*serve_command(redis_config, port), "--workers", str(n)], "0,1")
            out[f"render redis {n}w"] = render
            out[f"bare {n}w"] = (lambda port, n=n: uvicorn_bare(port, n), "0,1")
    return out


def growth() -> dict[str, Any]:
    """The growth table: `bench/growth_bench.py --quick` in a process of its own (renders in
    process, one at a time; see its docstring), its JSON line."""
    command = [sys.executable, str(ROOT / "bench" / "growth_bench.py"), "--quick"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def print_growth(table: dict[str, Any]) -> None:
    b = table["growth"]
    print("growth (bench/growth_bench.py --quick; µs per render, in process; b: cost ∝ size^b, flagged above 1.1)")
    rows = [
        ("slots per page", table["slots_us"], b.get("slots per page")),
        ("segment rules", table["rules_us"], b.get("segment rules")),
        ("profile events", table["profile_events_us"], b.get("profile events")),
        *((f"catalog, {name}", us, b.get(f"catalog: {name}")) for name, us in table["catalog_us"].items()),
    ]
    for name, points, exponent in rows:
        sizes = "  ".join(f"{int(size):,}: {us:,.0f}" for size, us in points.items())
        print(f"  {name:18} {sizes}" + (f"   b {exponent}" if exponent is not None else ""))
    for name, points in table["ingest"].items():
        print(f"  ingest, {name.replace('_', ' ')}: " + "  ".join(f"{int(k):,}: {v:,}" for k, v in points.items()))
    print(f"  faster than linear: {', '.join(table['faster_than_linear']) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per server, one round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="alternate the servers this many times and keep each one's best round "
        "(other load on a shared machine only ever slows a round down)",
    )
    parser.add_argument("--only", default="", help="comma-separated server names (default: all)")
    parser.add_argument("--no-growth", action="store_true", help="skip the growth table (bench/growth_bench.py)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if args.quick:
        args.duration, args.rounds = 5, 1
    from slotwise.gateway.demo.site import prepare_data

    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        config = prepare_data(tmpdir / "demo", 8080)
        redis_config = None
        if redis_up(REDIS_URL):
            data = yaml.safe_load(config.read_text())
            data["store"] = {"backend": "redis", "url": REDIS_URL, "prefix": f"renderbench{os.getpid()}:"}
            redis_config = config.with_name("redis.yaml")
            redis_config.write_text(yaml.safe_dump(data))
        people = population(2000)
        bodies = tmpdir / "bodies.txt"
        bodies.write_text("\n".join(json.dumps(b) for b in people) + "\n")
        lua = tmpdir / "bench.lua"
        lua.write_text(LUA % bodies)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SLOTWISE_CONFIG": str(config)}
        micros = handler_micros(config, people, 5000)
        chosen = servers(config, redis_config)
        if args.only:
            chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for name, (cmd, cores) in chosen.items():
                port = free_port()
                result = measure(cmd(port), port, lua, args, env, cores)
                if name not in best or result["rps"] > best[name]["rps"]:
                    best[name] = result
        if redis_config is not None:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"renderbench{os.getpid()}:*"):
                client.delete(key)
    # ratio name -> (render row, bare row), the rows without their "render "/"bare " prefix
    pairs = {"uvicorn": ("uvicorn", "uvicorn"), "uvicorn, same protocol": ("uvicorn", "protocol")}
    pairs |= {server: (server, server.removeprefix("redis ")) for server in ("granian", "redis 1w", "redis 2w")}
    ratios = {
        f"render/bare {name}": round(best[f"render {server}"]["rps"] / best[f"bare {bare}"]["rps"], 3)
        for name, (server, bare) in pairs.items()
        if f"render {server}" in best and f"bare {bare}" in best
    }
    if "render redis 1w" in best and "render redis 2w" in best:
        ratios["render 2w/1w"] = round(best["render redis 2w"]["rps"] / best["render redis 1w"]["rps"], 3)
        ratios["bare 2w/1w"] = round(best["bare 2w"]["rps"] / best["bare 1w"]["rps"], 3)
    load = os.getloadavg()[0]
    print(
        f"connections {args.connections}, {args.duration}s each, best of {args.rounds} alternating rounds, "
        f"server on core 0 (workers: cores 0-1), wrk on core 1; load average {load:.2f}"
    )
    print(f"{'':18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'page hits':>11}")
    for name, r in best.items():
        hits = r.get("page_cache_hits", "")
        print(f"{name:18}{r['rps']:>10}{r['p50_ms']:>10}{r['p99_ms']:>10}{r['errors']:>8}{hits!s:>11}")
    for name, value in ratios.items():
        print(f"{name}: {value}")
    print(f"handler in process (CPU time): render {micros['render']} us, bare {micros['bare']} us")
    fastest = ", ".join(f"{name} {us} us" for name, us in micros["fastest_batch"].items())
    print(f"handler in process, fastest of 30 batches of 200 (thread CPU time): {fastest}")
    print("targets: render/bare >= 0.5 (stretch 0.7); render p99 < 10 ms at 32 connections")
    table = {} if args.no_growth else growth()
    if table:
        print_growth(table)
    print(
        json.dumps(
            {
                "bench": "render",
                "connections": args.connections,
                "duration_s": args.duration,
                "rounds": args.rounds,
                "load_average": load,
                "servers": best,
                "ratios": ratios,
                "handler_us": micros,
                "growth": table.get("growth", {}),
                "faster_than_linear": table.get("faster_than_linear", []),
            }
        )
    )


if __name__ == "__main__":
    main()
