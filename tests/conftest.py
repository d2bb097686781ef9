"""Shared test helpers.

Tests that need an outside tool (php, chromium, a Redis server, ../shared/data) skip where it
is absent on a developer's machine, but fail under CI (CI=true), where `.ci/run` installs
everything: a green CI must never hide a skipped suite.

Tests run with `--import-mode=importlib` from the repository root (`python -m pytest`), so
test files may share names across folders; import helpers as `from tests.conftest import need`.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

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
