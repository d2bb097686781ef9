# SPDX-License-Identifier: Apache-2.0
"""The demo page is a Jinja2 template with autoescape: switches, the product, and the simulation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo.site import ROUTES, prepare_data
from slotwise.gateway.http.app import create_app


def _client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(load_config(prepare_data(tmp_path, 18541)), extra_routes=ROUTES))


def test_switches_product_and_simulation(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        item = next(iter(runtime.catalog.by_id.values()))
        r = client.get("/demo", params={"device": "mobile", "hour": "23", "country": "XX", "item": item["item_id"]})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    page = r.text
    assert '<option value="mobile" selected>mobile</option>' in page
    assert '<option value="23" selected>23:00</option>' in page
    # Country XX is not a switch value, so the country stays "as detected" and is not simulated.
    assert page.split('name="country"')[1].startswith('><option value="" selected>as detected</option>')
    assert page.count(" selected>") == 4
    sim = re.search(r'window.slotwiseContext = \{"simulate": (.*?)\};', page)
    assert sim and json.loads(sim.group(1)) == {"device": "mobile", "hour": 23}
    assert f'data-slotwise-item-id="{item["item_id"]}"' in page and f"{item['price']:.2f} EUR" in page
    assert "{{" not in page and "{%" not in page


def test_query_values_are_escaped(tmp_path: Path) -> None:
    hostile = '"><script>alert(1)</script>'
    with _client(tmp_path) as client:
        page = client.get("/demo", params={"item": hostile}).text
    assert "<script>alert(1)" not in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert 'class="product"' not in page  # no such item
