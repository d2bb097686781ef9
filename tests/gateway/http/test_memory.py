# SPDX-License-Identifier: Apache-2.0
"""Memory stays bounded under requests whose every cached field is new (issue 11, defect 6).

Renders and fragments through the ASGI app, in a Python process of its own (the gateway's memory,
not what earlier tests left in pytest's), each with a fresh time zone, user agent,
item, UTM source, language, visitor id and slot name. 200,000 of them take minutes on the shared
machine, so the test runs a warm-up that fills the bounded caches (user agents 4,096, zones
2,048, blocks 5,000), then measures RSS over a window and extrapolates that growth rate,
linearly, to the remaining requests of 200,000: the projection must stay under 50 MB. (Event
batches are left out: their memory is the SQLite page cache, bounded by the store's
`cache_mb`, and the per-visitor rate limiter, an LRU of 100,000 keys.) With consent `anonymous`
nothing is stored per visitor. With `full` every render that assigns an experiment arm queues a
served exposure, which the store logs and folds into a profile: the warm-up is then longer, long
enough to fill what bounds that path too (the served counter's fixed array of 32,768 hashes,
the writer's 5,000 cached profiles and states, SQLite's page caches: 4 MiB for the writer, 2 MiB
for the reader and the checkpointer), and the window measures what is left. (SQLite's statement
caches stay small because the store's statements do not depend on batch sizes: with one `?` per
value they held up to about 10 MiB of large statements per connection, drifting with how the
served exposures happened to be batched: the likely cause of the 3-6 MB per window that the
full case grew on some runs before.) Time zones the host does not know are refused before any
look-up: each new one was a failed `tzdata` import, which pytest's import hook made intern a
string, and every few ten thousand of them the interpreter rebuilt its table of interned strings
(megabytes, often inside the measured window of the full case.) And the store's writer thread
must keep up with the renders' served exposures: while it stepped once per row, each step waited
for the busy loop's thread to hand the GIL back, it took only a fraction of them, and the queue of
served exposures grew 5-7 MB a window up to its bound of 50,000 (`insert_rows` in the SQLite
store: multi-row statements of up to 64 rows).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.demo.site import demo_config
from slotwise.gateway.http.app import create_app
from slotwise.gateway.visitors.events import format_ts
from tests.gateway.conftest import DESKTOP_UA

ROOT = Path(__file__).resolve().parents[3]

TOTAL = 200_000
WARM_UP = 8_000  # fills the bounded caches (user agents 4,096, zones 2,048, blocks 5,000, ...)
WARM_UP_FULL = 24_000  # ... and those of the ingest path (see the module docstring)
WINDOW = 16_000


def rss_mb() -> float:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def request(i: int, consent: str = "anonymous") -> tuple[str, str, bytes, list[tuple[bytes, bytes]]]:
    """Request number i: every field that reaches a cache is new."""
    ua = f"{DESKTOP_UA} Build/{i}".encode()
    headers = [(b"x-slotwise-key", b"pk_demo"), (b"user-agent", ua), (b"content-type", b"application/json")]
    context = {
        "timezone": f"Bogus/Zone{i}" if i % 2 else "Europe/Berlin",
        "item_id": f"item-{i}",
        "url": f"https://shop.example/p/{i}?utm_source=src{i}&utm_campaign=c{i}",
        "language": f"x{i % 1000}-y{i}",
        "user_agent": f"Mozilla/5.0 (X11; Linux x86_64; rv:{i}) Gecko/20100101 Firefox/{i}",
        "consent": consent,
    }
    kind = i % 10
    if kind == -1:  # event batches: see the module docstring
        events = [
            {
                "event_id": f"e{i}-{k}",
                "visitor_id": f"v{i}-{k}",
                "type": "item_view",
                "item_id": f"item-{i}-{k}",
                "ts": format_ts(time.time() - 5),
                "context": {"timezone": f"Bogus/Ev{i}-{k}", "user_agent": f"Mozilla/5.0 Ev/{i}-{k}"},
            }
            for k in range(5)
        ]
        body = {"site": "demo", "events": events, "context": context}
        return "POST", "/v1/events", json.dumps(body).encode(), headers
    if kind == 8:
        query = f"site=demo&consent={consent}&visitor_id=f{i}&tz=Bogus/F{i}&item_id=it{i}&url=https://x.example/?utm_source=f{i}"
        return "GET", f"/v1/slots/offer/fragment?{query}", b"", headers
    body = {
        "site": "demo",
        "slots": ["offer", "welcome", f"slot-{i}"],
        "visitor_id": f"visitor-{i}",
        "context": context,
    }
    return "POST", "/v1/render", json.dumps(body).encode(), headers


def receiver(body: bytes) -> Callable[[], Any]:
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    return receive


async def run(app: Any, start: int, count: int, consent: str) -> dict[int, int]:
    statuses: dict[int, int] = {}
    for i in range(start, start + count):
        method, target, body, headers = request(i, consent)
        path, _, query = target.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("10.0.0.1", 40000),
            "server": ("gateway", 80),
            "state": {},
            "app": app,
        }
        receive = receiver(body)

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)
        await asyncio.sleep(0)  # as a server's loop does between requests: background writes run
    return statuses


def measure(folder: Path, consent: str) -> tuple[float, dict[int, int]]:
    """RSS growth (MB) over the window after the warm-up, and the statuses seen, for the demo
    site on SQLite in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in build_catalog()), encoding="utf-8")
    data = demo_config(8080)
    data["store"] = {
        "backend": "sqlite",
        "path": str(folder / "events.db"),
        "rate_limit": {"visitor_per_minute": 1_000_000, "client_per_minute": 100_000_000},
    }
    with TestClient(create_app(parse_config(data, base_dir=folder))) as client:
        portal = client.portal
        assert portal is not None
        warm_up = WARM_UP_FULL if consent == "full" else WARM_UP
        statuses = portal.call(run, client.app, 0, warm_up, consent)
        before = rss_mb()
        window = portal.call(run, client.app, warm_up, WINDOW, consent)
        grown = rss_mb() - before
    for status, n in window.items():
        statuses[status] = statuses.get(status, 0) + n
    return grown, statuses


@pytest.mark.parametrize("consent", ["anonymous", "full"])
def test_rss_stays_bounded_over_200k_requests_with_fresh_values(tmp_path: Path, consent: str) -> None:
    # A process of its own: the gateway's memory, not what a thousand earlier tests left in the
    # pytest process (their heap, its interned strings; a rebuild of either inside the window
    # failed the full case in whole runs, never in this file alone).
    code = (
        "import json, sys; from pathlib import Path; "
        "from tests.gateway.http.test_memory import measure; "
        "print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), consent],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    grown, statuses = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(statuses) == {"200"}, statuses
    warm_up = WARM_UP_FULL if consent == "full" else WARM_UP
    projected = max(grown, 0.0) / WINDOW * (TOTAL - warm_up)
    print(f"RSS +{grown:.1f} MB over {WINDOW} requests, projected {projected:.1f} MB over {TOTAL}")
    assert projected < 50, f"RSS grew {grown:.1f} MB over {WINDOW} requests: {projected:.0f} MB over {TOTAL}"
