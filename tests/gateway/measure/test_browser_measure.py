# SPDX-License-Identifier: Apache-2.0
"""In a real headless Chromium, client.js on a page of another origin produces a viewable impression,
a click and a purchase, and the results route of the running demo shows them for `offer-2026`."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from slotwise.gateway.config.loader import Arm, Experiment
from slotwise.gateway.decisions.experiments import assign
from slotwise.gateway.demo.site import prepare_data
from tests.conftest import free_port, running_gateway
from tests.gateway.demo.test_demo_browser import dump_dom

SECRET = {"Authorization": "Bearer sk_demo"}
PAGE = """<!doctype html><html><body>
<div data-slotwise-slot="offer" style="height:300px"><p>Fallback</p></div>
<p id="log">waiting</p>
<script>
  document.cookie = "slotwise_vid=%(visitor)s; Path=/";
  document.addEventListener("click", function (e) { e.preventDefault(); }, true);
  var tries = 0;
  (function step() {
    var link = document.querySelector('[data-slotwise-slot="offer"][data-slotwise-state="ready"] a');
    if (!link || !window.Slotwise) { if (++tries < 100) setTimeout(step, 100); return; }
    setTimeout(function () {  // after the one continuous visible second
      window.Slotwise.track("purchase", {value: 42, currency: "EUR"});
      link.click();
      document.getElementById("log").textContent = "done";
    }, 1500);
  })();
</script>
<script src="%(gateway)s/v1/client.js" data-site="demo" data-key="pk_demo" async></script>
</body></html>"""


def _visitor_in_an_arm() -> tuple[str, str]:
    exp = Experiment("offer-2026", 0.1, (Arm("percent", 1, {}), Arm("shipping", 1, {})))
    for i in range(100):
        arm = assign(exp, f"browser-{i}")
        if arm is not None:
            return f"browser-{i}", arm.name
    raise AssertionError("no visitor outside the holdout")


@pytest.fixture
def page_and_gateway(tmp_path: Path) -> Iterator[tuple[str, str]]:
    page_port, gateway_port = free_port(), free_port()
    data = tmp_path / "demo"
    config_path = prepare_data(data, gateway_port)
    config = yaml.safe_load(config_path.read_text())
    config["sites"]["demo"]["origins"].append(f"http://127.0.0.1:{page_port}")
    for variant in config["slots"]["offer"]["variants"]:
        for arm in (variant.get("experiment") or {}).get("arms", []):
            arm["block"].update(url="/demo?item=sho-001", cta="Shop now")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    site = tmp_path / "site"
    site.mkdir()
    visitor, _ = _visitor_in_an_arm()
    (site / "index.html").write_text(PAGE % {"visitor": visitor, "gateway": f"http://127.0.0.1:{gateway_port}"})
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    args = ["demo", "--data", str(data), "--log-level", "warning"]
    try:
        with running_gateway(args, gateway_port, tmp_path / "demo.log", ready="/readyz") as base:
            yield f"http://127.0.0.1:{page_port}/index.html", base
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _results(base: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/v1/admin/experiments/offer-2026/results?site=demo", headers=SECRET, timeout=10)
    assert r.status_code in (200, 409), r.text
    body = r.json()
    return {a["name"]: a for a in (body["arms"] if r.status_code == 200 else body["error"]["arms"])} | {"_": body}


def _revenue(body: dict[str, Any], arm: str) -> float:
    if "metrics" not in body:
        return 0.0
    row = next(a for a in body["metrics"]["revenue"]["arms"] if a["name"] == arm)
    return float(row["mean"] * row["n"])


def test_browsing_produces_impressions_clicks_and_a_purchase(page_and_gateway: tuple[str, str], tmp_path: Path) -> None:
    page, base = page_and_gateway
    visitor, arm = _visitor_in_an_arm()
    before = _results(base)
    dom = dump_dom(page, tmp_path / "browser")
    assert 'id="log">done<' in dom, dom[-2000:]
    deadline = time.monotonic() + 10
    while True:
        events = httpx.get(f"{base}/v1/visitors/{visitor}?site=demo", headers=SECRET, timeout=10).json()["events"]
        kinds = {(e["type"], (e.get("properties") or {}).get("kind")) for e in events}
        if {("impression", None), ("click", None), ("purchase", None), ("impression", "served")} <= kinds:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert {("impression", None), ("click", None), ("purchase", None), ("impression", "served")} <= kinds, kinds
    viewable = next(e for e in events if e["type"] == "impression" and "kind" not in e["properties"])
    assert viewable["properties"]["experiment"] == "offer-2026" and viewable["properties"]["arm"] == arm
    after = _results(base)
    assert after[arm]["n"] == before.get(arm, {"n": 0})["n"] + 1
    assert after[arm]["impressions"] == before.get(arm, {"impressions": 0})["impressions"] + 1
    assert after[arm]["clicks"] == before.get(arm, {"clicks": 0})["clicks"] + 1
    if "metrics" in after["_"]:
        assert _revenue(after["_"], arm) == pytest.approx(_revenue(before["_"], arm) + 42.0)
