# SPDX-License-Identifier: Apache-2.0
"""`slotwise serve --workers N`, under each server: N processes on one port with the Redis store;
refused with SQLite."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from tests.conftest import ROOT, free_port, need
from tests.gateway.conftest import minimal_config, write_config
from tests.procs import redis_up, serve_command, wait_ready

REDIS = "redis://127.0.0.1:6379/0"


SERVERS = pytest.mark.parametrize("server", ["uvicorn", "granian"])


@SERVERS
def test_workers_are_refused_with_the_sqlite_store(tmp_path: Path, server: str) -> None:
    path = write_config(tmp_path, store={"backend": "sqlite", "path": "s.db"})
    command = [sys.executable, "-m", "slotwise.gateway.cli", "serve", "--config", str(path), "--workers", "2"]
    command += ["--server", server]
    done = subprocess.run([*command, "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "SQLite is single-process" in done.stderr


def test_a_bad_worker_count_is_a_usage_error(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "slotwise.gateway.cli", "serve", "--workers", "0"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "from 1 to 64" in done.stderr


@SERVERS
def test_two_workers_serve_one_port_on_redis_and_stop_together(tmp_path: Path, server: str) -> None:
    need(redis_up(REDIS), "Redis on localhost:6379")
    prefix = f"workers-{uuid.uuid4().hex[:8]}:"
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config(store={"backend": "redis", "url": REDIS, "prefix": prefix})))
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*serve_command(path, port), "--workers", "2", "--server", server],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc, log)
        workers = _children(proc.pid)
        assert len(workers) == 2
        for _ in range(20):  # a fresh connection each: the kernel hands them to either worker
            r = httpx.post(
                f"http://127.0.0.1:{port}/v1/render",
                json={"site": "shop", "slots": ["hero"]},
                headers={"X-Slotwise-Key": "pk_shop"},
            )
            assert r.status_code == 200 and "Default" in r.json()["blocks"]["hero"]["html"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for pid in workers:  # reaped by the parent before it exited
            assert not Path(f"/proc/{pid}").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]
