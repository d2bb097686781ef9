# SPDX-License-Identifier: Apache-2.0
"""`slotwise serve` as a process, under each server: SIGHUP reloads, a bad file keeps serving, no
IPs in the log."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.gateway.conftest import minimal_config
from tests.procs import serve_command


def hero_title(base: str) -> str:
    r = httpx.post(
        f"{base}/v1/render",
        json={"site": "shop", "slots": ["hero"]},
        headers={"X-Slotwise-Key": "pk_shop", "X-Forwarded-For": "198.51.100.77"},
        timeout=5,
    )
    return str(r.json()["blocks"]["hero"]["html"])


def wait_for(predicate, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_sighup_reload_and_privacy_of_logs(tmp_path: Path, server: str) -> None:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config()))
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*serve_command(path, port, log_level="info"), "--server", server],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            assert wait_for(lambda: "Default" in hero_title(base)), log.read_text()
            changed = minimal_config()
            changed["slots"]["hero"]["default"]["title"] = "After SIGHUP"
            path.write_text(yaml.safe_dump(changed))
            proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: "After SIGHUP" in hero_title(base)), log.read_text()
            path.write_text("sites: [broken\n")
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            assert proc.poll() is None and "After SIGHUP" in hero_title(base)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    text = log.read_text()
    assert "configuration reload refused" in text
    assert "198.51.100.77" not in text and "POST /v1/render" not in text
