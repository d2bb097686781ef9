# SPDX-License-Identifier: Apache-2.0
"""Gateway processes for tests and benchmarks: the command line and waiting for it to answer.
(No pytest here, so that bench scripts can use it too.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def serve_command(config: Path, port: int, log_level: str = "warning") -> list[str]:
    """`slotwise serve` for `config` on `port`, run with this interpreter."""
    command = ["serve", "--config", str(config), "--port", str(port), "--log-level", log_level]
    return [sys.executable, "-m", "slotwise.gateway.cli", *command]


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path | None = None, timeout: float = 60.0) -> None:
    """Until `url` answers 200; raises with the end of the process's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
    proc.kill()
    raise RuntimeError(f"gateway did not answer {url} (exit code {proc.poll()}): {tail}")


def start_gateway(config: Path, port: int, log: Path, ready: str = "/readyz") -> subprocess.Popen[bytes]:
    """A `slotwise serve` process whose `ready` route answers; output appended to `log`."""
    with log.open("ab") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(serve_command(config, port), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    wait_ready(f"http://127.0.0.1:{port}{ready}", proc, log)
    return proc


def redis_up(url: str) -> bool:
    """A Redis answers at `url` (tests skip or fail, benches skip a backend, when not)."""
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


# Debian's chromium, headless, with nothing that calls out (this machine reaches no other host).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
