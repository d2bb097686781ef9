# SPDX-License-Identifier: Apache-2.0
"""Real HTTP servers for the edge tests: the sample origin and the proxy, each a uvicorn server
on a free port (in a thread, so a test can read the proxy's gateway metrics)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.edge.proxy import EdgeProxy
from slotwise.gateway.edge.sample import sample_app
from slotwise.gateway.http.app import create_app
from tests.conftest import free_port

EDGE_CONFIG: dict[str, Any] = {
    "sites": {
        "shop": {
            "publishable_key": "pk_shop",
            "secret_key": "sk_shop",
            "origins": ["http://127.0.0.1"],
            "timezone": "Europe/Berlin",
        }
    },
    "segments": {"mobile": "device.class == 'mobile'"},
    "slots": {
        "hero": {
            "variants": [
                {
                    "id": "m",
                    "when": "mobile",
                    "block": {"type": "html", "html": "<p>Mobile hero for {{ visitor.id }}</p>"},
                }
            ],
            "default": {"type": "html", "html": "<p>Desktop hero for {{ visitor.id }}</p>"},
        },
        "recs": {"default": {"type": "banner", "title": "Picked for you"}},
    },
}


@contextlib.contextmanager
def serve(app: Any, **options: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with serve(sample_app("shop", "pk_shop", size_kb=8)) as url:
        yield url


@pytest.fixture
def start_proxy(tmp_path: Path) -> Iterator[Callable[..., tuple[str, EdgeProxy]]]:
    stack = contextlib.ExitStack()

    def start(upstream: str, config: dict[str, Any] | None = None, **options: Any) -> tuple[str, EdgeProxy]:
        path = tmp_path / f"slotwise-{len(stack._exit_callbacks)}.yaml"
        path.write_text(yaml.safe_dump(config or EDGE_CONFIG), encoding="utf-8")
        proxy = EdgeProxy(upstream, create_app(load_config(path), path), "shop", **options)
        url = stack.enter_context(serve(proxy, date_header=False, server_header=False))
        return url, proxy

    with stack:
        yield start


def render_calls(proxy: EdgeProxy) -> float:
    """Page render calls the proxy's in-process gateway made (its render histogram's count)."""
    for line in proxy.gateway.state.metrics.export().decode().splitlines():
        if line.startswith("slotwise_render_seconds_count"):
            return float(line.split()[-1])
    return 0.0


def upstream(origin: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(origin + path, timeout=10, **kwargs)
