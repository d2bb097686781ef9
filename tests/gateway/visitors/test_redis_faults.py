# SPDX-License-Identifier: Apache-2.0
"""A real Redis killed and paused under load: renders keep answering (context only), events get
503 with Retry-After, the gateway recovers within seconds, and the log has one line per change
of state instead of a traceback per request (hardening, defect 8)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from tests.conftest import need_tool
from tests.gateway.conftest import DESKTOP_UA, minimal_config

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)


@pytest.fixture
def redis_process() -> Iterator[RedisProcess]:
    need_tool("redis-server")
    server = RedisProcess()
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.signal(signal.SIGCONT)
        server.kill()


def event(i: int) -> dict[str, object]:
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {"event_id": f"e{i}", "visitor_id": "v1", "type": "page_view", "ts": ts}


def render(c: TestClient) -> int:
    r = c.post("/v1/render", json={"site": "shop", "visitor_id": "v1", "slots": ["hero"]}, headers=KEY)
    return r.status_code


def post(c: TestClient, i: int) -> tuple[int, str | None]:
    r = c.post("/v1/events", json={"site": "shop", "events": [event(i)]}, headers=KEY)
    return r.status_code, r.headers.get("retry-after")


def store_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "slotwise.store"]


def test_redis_killed_then_back(
    redis_process: RedisProcess, make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{redis_process.port}/0"
    c = make_client(minimal_config(store={"backend": "redis", "url": url, "prefix": "faults:"}))
    with caplog.at_level(logging.INFO):
        assert post(c, 0) == (200, None)
        redis_process.kill()
        outcomes = {(render(c), *post(c, i)) for i in range(1, 200)}
        assert outcomes == {(200, 503, "1")}
        redis_process.start()
        deadline, recovered = time.monotonic() + 10, False
        while time.monotonic() < deadline and not recovered:
            recovered = post(c, 1000) == (200, None)
            time.sleep(0.1)
        assert recovered
    lines = store_lines(caplog)
    assert len(lines) == 2, lines  # down, recovered: not 400 tracebacks
    assert "unavailable" in lines[0] and "recovered" in lines[1]
    assert not any(r.exc_info for r in caplog.records if r.name == "slotwise.store")


def test_redis_paused_renders_keep_their_budget(
    redis_process: RedisProcess, make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{redis_process.port}/0"
    c = make_client(minimal_config(store={"backend": "redis", "url": url, "prefix": "faults:"}))
    assert post(c, 0) == (200, None)
    with caplog.at_level(logging.INFO):
        redis_process.signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            statuses = [render(c) for _ in range(20)]
            per_render = (time.monotonic() - started) / 20
        finally:
            redis_process.signal(signal.SIGCONT)
        assert statuses == [200] * 20
        # Each render waits at most its profile budget (50 ms), not Redis's socket timeout.
        assert per_render < 1.0
        deadline, ok = time.monotonic() + 10, False
        while time.monotonic() < deadline and not ok:
            ok = post(c, 5) == (200, None)
    assert ok
    lines = store_lines(caplog)
    assert 1 <= len(lines) <= 3, lines
