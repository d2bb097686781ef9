# SPDX-License-Identifier: Apache-2.0
"""Shared test helpers.

Tests that need an outside tool (php, chromium, a Redis server, ../shared/data) skip where it
is absent on a developer's machine, but fail under CI (CI=true), where `.ci/run` installs
everything: a green CI must never hide a skipped suite.

Tests run with `--import-mode=importlib` from the repository root (`python -m pytest`), so
test files may share names across folders; import helpers as `from tests.conftest import need`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, what: str) -> None:
    """Skip (locally) or fail (in CI) when a required outside thing is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide {what}", pytrace=False)
    pytest.skip(f"{what} not available")


def need_tool(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"the '{name}' command")
    assert path is not None
    return path


def shared_data(name: str) -> Path:
    """Benchmark data is not part of the project: skip cleanly where it is absent, even in CI."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"../shared/data/{name} is absent")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_gateway(args: list[str], port: int, log_path: Path, ready: str = "/healthz") -> Iterator[str]:
    """Run `slotwise ARGS` as a process until its `ready` route answers 200; yield its base URL."""
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "slotwise.gateway.cli", *args, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(base + ready, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    pytest.fail(f"gateway exited: {log_path.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail("gateway did not become ready")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextlib.contextmanager
def launched_chromium(flags: list[str] | None = None) -> Iterator[Any]:
    """Debian's chromium through Playwright (no browser download); skips or fails as `need` does."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        need(False, "the playwright package")
    # Assertions wait for the page; 5 s (Playwright's default) is too short on a loaded 2-core
    # machine, where a full test run keeps both cores busy. A wrong page still fails, later.
    expect.set_options(timeout=20_000)
    executable = shutil.which("chromium")
    need(executable is not None, "Debian's chromium")
    from tests.procs import CHROMIUM_FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS if flags is None else flags)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless chromium for the test, closed afterwards."""
    with launched_chromium() as launched:
        yield launched
