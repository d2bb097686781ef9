# SPDX-License-Identifier: Apache-2.0
"""Which gateway modules one `POST /v1/render` passes through, in call order.

    python bench/render_path.py

Issue 9 asks that following a render from the route to the HTML touch at most 6 modules with
no return to a module already left. This prints, for three renders of the demo site's four
slots (a first visit that misses the page cache, the same context once it is kept, which hits
it, and a visitor with a profile), every `slotwise.gateway` module entered, in order, as a profiler sees
it: each Python call whose module differs from the caller's is one step. "Returns" counts the
steps into a module already left once. The expression language (`rules.*`) is entered once
per rule evaluated, so a second count leaves it out. The last line is JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import yaml
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.demo.site import PUBLISHABLE, SITE, SLOTS, demo_config
from slotwise.gateway.http.app import create_app

PREFIX = "slotwise.gateway."
HEADERS = {"X-Slotwise-Key": PUBLISHABLE, "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"}


def traced(client: TestClient, body: dict[str, Any]) -> list[str]:
    """The modules one render enters, consecutive repeats collapsed."""
    steps: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        module = frame.f_globals.get("__name__", "")
        if event == "call" and module.startswith(PREFIX):
            name = module.removeprefix(PREFIX)
            if not steps or steps[-1] != name:
                steps.append(name)

    # The app runs in the test client's event-loop thread: set the profiler there.
    assert client.portal is not None
    client.portal.call(sys.setprofile, profile)
    try:
        response = client.post("/v1/render", json=body, headers=HEADERS)
    finally:
        client.portal.call(sys.setprofile, None)
    response.raise_for_status()
    return steps


def summary(steps: list[str]) -> dict[str, Any]:
    def count(path: list[str]) -> dict[str, int]:
        collapsed = [m for i, m in enumerate(path) if i == 0 or path[i - 1] != m]
        seen: set[str] = set()
        returns = 0
        for module in collapsed:
            returns += module in seen
            seen.add(module)
        return {"modules": len(seen), "steps": len(collapsed), "returns": returns}

    return {"all": count(steps), "without_rules": count([m for m in steps if not m.startswith("rules.")])}


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="slotwise-path-"))
    (tmp / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in build_catalog()), encoding="utf-8")
    config = demo_config(8080)
    config["store"] = {"backend": "sqlite", "path": str(tmp / "store.db")}
    (tmp / "slotwise.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    context = {"url": "https://shop.example/", "consent": "full"}
    first = {"site": SITE, "slots": list(SLOTS), "context": context}
    known = {**first, "visitor_id": "path-visitor-1"}
    results: dict[str, Any] = {}
    with TestClient(create_app(load_config(str(tmp / "slotwise.yaml")))) as client:
        client.post(
            "/v1/render", json={**first, "context": {**context, "url": "https://shop.example/warm"}}, headers=HEADERS
        )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        item = build_catalog()[0]["item_id"]
        events = [
            {"event_id": f"path-{n}", "visitor_id": known["visitor_id"], "type": kind, "ts": now, "item_id": item}
            for n, kind in enumerate(("item_view", "add_to_cart"))
        ]
        sent = client.post("/v1/events", json={"site": SITE, "events": events}, headers=HEADERS)
        assert len(sent.json()["accepted"]) == 2, sent.text
        time.sleep(1.5)  # the store's writer folds the events into the profile
        for name, body in (("page-cache miss", first), ("page-cache hit", first), ("visitor with a profile", known)):
            if name == "page-cache hit":  # the page cache keeps a page on its second miss
                client.post("/v1/render", json=body, headers=HEADERS).raise_for_status()
            steps = traced(client, body)
            results[name] = summary(steps)
            figures = results[name]
            print(
                f"{name}: {figures['all']['modules']} modules, {figures['all']['returns']} returns "
                f"({figures['without_rules']['modules']} and {figures['without_rules']['returns']} "
                "without the expression language)"
            )
            print("  " + " -> ".join(steps))
    print(json.dumps({"bench": "render_path", "target": {"modules": 6, "returns": 0}, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
