# SPDX-License-Identifier: Apache-2.0
"""Gateways following the stored configuration versions on one SQLite studio file (processes on
one host): a running one applies an edit made by another, one started later catches up, and a
file edited outside the studio is kept."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

import yaml
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.http.app import create_app
from slotwise.gateway.studio.follow import EVERY
from tests.gateway.studio.conftest import login
from tests.gateway.studio.test_changes import add_variant, rendered


def gateway(path: Path) -> TestClient:
    client = TestClient(create_app(load_config(path, check_files=True), path), base_url="http://127.0.0.1")
    client.__enter__()
    return client


def titles(path: Path) -> list[str]:
    return [v["block"]["title"] for v in yaml.safe_load(path.read_text())["slots"]["hero"]["variants"]]


def test_gateways_on_one_studio_file_follow_each_others_edits(config_file: Path) -> None:
    other = config_file.with_name("replica.yaml")  # a second process's own copy, same directory
    late = config_file.with_name("late.yaml")
    outside = config_file.with_name("outside.yaml")
    for copy in (other, late, outside):
        shutil.copy(config_file, copy)
    data = yaml.safe_load(outside.read_text())
    data["slots"]["hero"]["default"]["title"] = "Edited in git"
    outside.write_text(yaml.safe_dump(data, sort_keys=False))
    a, b = gateway(config_file), gateway(other)
    try:
        assert login(a, "editor").status_code == 303
        assert add_variant(a, "Hallo Berlin").status_code == 303
        deadline = time.monotonic() + 2.0
        while "Hallo Berlin" not in rendered(b, country="DE", device="desktop"):
            assert time.monotonic() < deadline, "the other gateway did not apply the edit within 2 s"
            time.sleep(EVERY / 5)
        assert titles(other)[-1] == "Hallo Berlin"  # written to its own file
        c = gateway(late)  # its file is the version before the edit: it takes the newest at start
        assert "Hallo Berlin" in rendered(c, country="DE", device="desktop") and titles(late)[-1] == "Hallo Berlin"
        c.__exit__(None, None, None)
        d = gateway(outside)  # a file unlike every stored version was edited outside: it is kept
        assert "Edited in git" in rendered(d, country="FR", device="desktop")
        assert "Hallo Berlin" not in rendered(d, country="DE", device="desktop")
        d.__exit__(None, None, None)
    finally:
        a.__exit__(None, None, None)
        b.__exit__(None, None, None)


def test_a_gateway_never_follows_its_own_change_half_way(config_file: Path, monkeypatch: Any) -> None:
    """A studio change records the old file as a version before it writes the new one; a
    follower looking in between (here: the reload takes longer than a look) must not take that
    old version back while the change is under way."""
    from slotwise.gateway.studio import changes

    original = changes.reload_config

    async def slow_reload(app: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(app, *args, **kwargs)
        await asyncio.sleep(3 * EVERY)  # the follower looks meanwhile
        return result

    monkeypatch.setattr(changes, "reload_config", slow_reload)
    a = gateway(config_file)
    try:
        assert login(a, "editor").status_code == 303
        assert add_variant(a, "Hallo Berlin").status_code == 303
        assert titles(config_file)[-1] == "Hallo Berlin"
        time.sleep(3 * EVERY)
        assert titles(config_file)[-1] == "Hallo Berlin"
        assert "Hallo Berlin" in rendered(a, country="DE", device="desktop")
    finally:
        a.__exit__(None, None, None)
