# SPDX-License-Identifier: Apache-2.0
"""The demo's item pictures are real URLs the gateway serves, not data: URIs that CMS filters
strip (WordPress's kses and Drupal's XSS filter turn them into relative URLs that 404)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.demo import site
from slotwise.gateway.http.app import create_app


def test_every_demo_item_image_is_served_as_svg(tmp_path: Path) -> None:
    items = site.build_catalog(n_per_category=2)
    assert all(item["image"].startswith("/demo/img/") for item in items)
    config_path = site.prepare_data(tmp_path, 18541)
    with TestClient(create_app(load_config(config_path), extra_routes=site.ROUTES)) as client:
        for url in sorted({item["image"] for item in items}):
            r = client.get(url)
            assert r.status_code == 200, url
            assert r.headers["content-type"].startswith("image/svg+xml")
            assert r.text.startswith("<svg") and "</svg>" in r.text
        assert client.get("/demo/img/purple-dress.svg").status_code == 404
        assert client.get("/demo/img/red-<script>.svg").status_code == 404
