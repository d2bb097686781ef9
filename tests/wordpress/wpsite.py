# SPDX-License-Identifier: Apache-2.0
"""What the real-WordPress tests share: ports, the site handle, plugin settings, page parsing."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port, need_tool
from tests.procs import CHROMIUM_FLAGS
from tests.wordpress import wpenv

WP_PORT, GW_PORT, DOWN_PORT, HANG_PORT = (free_port() for _ in range(4))
WP = f"http://127.0.0.1:{WP_PORT}"


def configure(port: int, mode: str, consent: str = "full") -> None:
    """Plugin settings for the functional tests: a roomy budget, so that a loaded CI machine
    does not turn "ready" into "fallback"; the budget itself is tested with 150 ms below."""
    wpenv.configure(port, mode, budget_ms=1000, consent=consent)


class Site:
    def __init__(self, ids: dict[str, Any], tmp: Path, log_start: int) -> None:
        self.ids, self.tmp, self.log_start = ids, tmp, log_start

    def url(self, key: str) -> str:
        return f"{WP}/?page_id={self.ids[key]}"


def slots_in(page: str) -> dict[str, dict[str, str]]:
    """slot -> {state, variant, text} for every slot wrapper in the page."""
    found: dict[str, dict[str, str]] = {}
    for m in re.finditer(
        r'<div class="slotwise-slot[^"]*" data-slotwise-slot="([\w-]+)"([^>]*)>(.*?)</div>\s*(?=<|$)', page, re.S
    ):
        attrs = m.group(2)
        state = re.search(r'data-slotwise-state="([^"]*)"', attrs)
        variant = re.search(r'data-slotwise-variant="([^"]*)"', attrs)
        found.setdefault(
            m.group(1), {"state": state.group(1) if state else "", "variant": variant.group(1) if variant else ""}
        )
    return found


def get(url: str, ua: str = wpenv.DESKTOP_UA, **kw: Any) -> httpx.Response:
    return httpx.get(url, headers={"User-Agent": ua, **kw.pop("headers", {})}, timeout=30, **kw)


def visitor_events(vid: str, want: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for _ in range(50):  # events are sent after the page, without waiting: poll briefly
        r = httpx.get(
            f"http://127.0.0.1:{GW_PORT}/v1/visitors/{vid}",
            params={"site": wpenv.SITE},
            headers={"Authorization": f"Bearer {wpenv.SK}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        events = r.json().get("events", [])
        if len(events) >= want:
            break
        time.sleep(0.1)
    return events


def events_posted() -> float:
    """Accepted POST /v1/events requests so far, from the gateway's metrics."""
    text = httpx.get(f"http://127.0.0.1:{GW_PORT}/metrics", timeout=10).text
    m = re.search(r'slotwise_requests_total\{route="/v1/events",status="200"\} ([0-9.]+)', text)
    return float(m.group(1)) if m else 0.0


def dump_dom(url: str, profile: Path, ua: str) -> str:
    chromium = need_tool("chromium")
    args = [
        chromium,
        f"--user-agent={ua}",
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=8000",
        "--dump-dom",
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
