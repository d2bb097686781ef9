# SPDX-License-Identifier: Apache-2.0
"""Request-body validation cost: the pydantic models of `http/schemas.py` against `json.loads`.

The HTTP benchmarks (render_bench, ingest_bench) are noisy on a shared machine; this times only
the step that changed, in one process: a 4-slot render body and a 100-event batch, parsed by
`parse_body` (pydantic-core over the raw bytes) and by the baseline `json.loads` plus the type
checks the routes did by hand before. Prints µs per body; the last line is JSON.

    python bench/validate_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from typing import Any

from slotwise.gateway.http.schemas import EventsRequest, RenderRequest, parse_body

VISITOR_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def baseline_render(raw: bytes) -> Any:
    body = json.loads(raw)
    assert isinstance(body, dict) and isinstance(body.get("site"), str) and body["site"]
    slots = body.get("slots")
    assert isinstance(slots, list) and slots and all(isinstance(s, str) for s in slots)
    assert isinstance(body.get("context", {}), dict)
    vid = body.get("visitor_id")
    assert vid is None or (isinstance(vid, str) and VISITOR_ID.match(vid))
    return body


def baseline_events(raw: bytes) -> Any:
    body = json.loads(raw)
    assert isinstance(body, dict) and isinstance(body.get("site"), str) and body["site"]
    assert isinstance(body.get("events"), list)
    return body


def best_us(cases: dict[str, tuple[Callable[[bytes], Any], bytes, int]], rounds: int) -> dict[str, float]:
    """µs per call, the best round of each case; rounds interleave the cases so that a busy
    moment of the machine does not fall on one of them only."""
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, (fn, raw, n) in cases.items():
            start = time.perf_counter()
            for _ in range(n):
                fn(raw)
            best[name] = min(best[name], (time.perf_counter() - start) / n * 1e6)
    return {name: round(us, 2) for name, us in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a few seconds)")
    args = parser.parse_args()
    n, rounds = (1000, 10) if args.quick else (5000, 30)
    render = json.dumps(
        {
            "site": "demo",
            "visitor_id": "3f2a9c0d4b5e6f708192a3b4c5d6e7f8",
            "slots": ["home-hero", "welcome", "recommendations", "offer"],
            "context": {"url": "https://shop.example/p/42", "timezone": "Europe/Berlin", "item_id": "sku-42"},
        }
    ).encode()
    events = json.dumps(
        {
            "site": "demo",
            "key": "pk_demo",
            "events": [
                {
                    "event_id": f"e{i}",
                    "visitor_id": "v1",
                    "type": "view",
                    "ts": "2026-01-01T10:00:00Z",
                    "item_id": f"sku-{i}",
                    "context": {"url": "https://shop.example/"},
                }
                for i in range(100)
            ],
        }
    ).encode()
    figures: dict[str, Any] = {
        "bench": "validate",
        **best_us(
            {
                "render_body_us": (lambda raw: parse_body(RenderRequest, raw), render, n),
                "render_baseline_json_loads_us": (baseline_render, render, n),
                "events_batch_us": (lambda raw: parse_body(EventsRequest, raw), events, n // 10),
                "events_baseline_json_loads_us": (baseline_events, events, n // 10),
            },
            rounds,
        ),
    }
    figures["render_ratio"] = round(figures["render_body_us"] / figures["render_baseline_json_loads_us"], 2)
    figures["events_ratio"] = round(figures["events_batch_us"] / figures["events_baseline_json_loads_us"], 2)
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
