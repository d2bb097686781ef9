# SPDX-License-Identifier: Apache-2.0
"""The production set-up of docs/deployment.md: the shipped nginx config in front of two
gateways (under uvicorn, and granian for the render). Renders pass through, slow clients are cut
by nginx, the visitor's address reaches the gateway only through nginx's header, and a gateway
killed under load costs no failed request."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port, running_gateway
from tests.gateway.conftest import DESKTOP_UA, minimal_config
from tests.nginx import render_load, running_nginx

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
BODY = {"site": "shop", "visitor_id": "v1", "slots": ["hero"]}


def write_config(tmp: Path) -> Path:
    data = minimal_config(trusted_proxies=["127.0.0.1/32"])
    path = tmp / "slotwise.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_render_through_nginx_and_slow_clients_cut(tmp_path: Path, server: str) -> None:
    config = write_config(tmp_path)
    port = free_port()
    with (
        running_gateway(["serve", "--config", str(config), "--server", server], port, tmp_path / "gw.log"),
        running_nginx(tmp_path, [port]) as base,
    ):
        r = httpx.post(f"{base}/v1/render", json=BODY, headers=KEY, timeout=5)
        assert r.status_code == 200 and "Default" in r.json()["blocks"]["hero"]["html"]
        assert r.headers["server"].startswith("nginx")  # granian's own `server: granian` is not passed on
        nginx_port = int(base.rsplit(":", 1)[1])
        slow = socket.create_connection(("127.0.0.1", nginx_port))
        slow.sendall(b"POST /v1/render HTTP/1.1\r\nHost: x\r\n")
        slow.settimeout(12)
        started = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            while slow.recv(4096):
                pass
        waited = time.monotonic() - started
        slow.close()
        assert 3 < waited < 11  # client_header_timeout 5s in the shipped config


def test_a_gateway_killed_under_load_costs_no_failed_request(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    ports = [free_port(), free_port()]
    victim = subprocess.Popen(
        [sys.executable, "-m", "slotwise.gateway.cli", "serve", "--config", str(config), "--port", str(ports[1])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with (
            running_gateway(["serve", "--config", str(config)], ports[0], tmp_path / "gw.log"),
            running_nginx(tmp_path, ports) as base,
        ):
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{ports[1]}/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            with render_load(base, KEY, BODY) as statuses:
                time.sleep(1.0)
                victim.kill()
                time.sleep(2.0)
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.wait()
    assert len(statuses) > 50
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
