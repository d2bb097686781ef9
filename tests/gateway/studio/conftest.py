# SPDX-License-Identifier: Apache-2.0
"""A gateway with a configuration file, the studio mounted, and one user per role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.http.app import create_app
from slotwise.gateway.studio.auth import add_user
from slotwise.gateway.studio.store import open_studio_store
from slotwise.gateway.visitors.events import format_ts
from tests.gateway.conftest import minimal_config

PASSWORD = "correct horse battery"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    data = minimal_config(store={"backend": "sqlite", "path": "visitors.db"})
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    config = load_config(path)
    store = open_studio_store(config, path)
    for role in ("viewer", "editor", "admin"):
        add_user(store, role, role, PASSWORD)
    store.close()
    return path


@pytest.fixture
def app_client(config_file: Path) -> Iterator[Callable[[], TestClient]]:
    """A factory of clients (separate cookie jars) on one app, with one lifespan and one event
    loop as a served app has: the first client's. A lifespan per client ran the app's background
    tasks in several loops, and a lock taken in one of them failed in another."""
    app = create_app(load_config(config_file, check_files=True), config_file)
    with ExitStack() as stack:
        first: list[TestClient] = []

        def make() -> TestClient:
            client = TestClient(app, base_url="http://127.0.0.1")
            if first:
                client.portal = first[0].portal  # its requests run in the first client's loop
            else:
                first.append(stack.enter_context(client))
            return client

        yield make


def exposure_events(
    visitor: str, slot: str, block: dict[str, Any], ts: float, bought: float | None
) -> list[dict[str, Any]]:
    """The impression of a rendered experiment `block` in `slot` at `ts`, and a purchase of
    `bought` euros 30 s later when given: what a page sends for a visitor of an experiment."""
    exp = block["experiment"]
    props = {"slot": slot, "variant": block["variant"], "experiment": exp["key"], "arm": exp["arm"]}
    events: list[dict[str, Any]] = [
        {
            "event_id": f"{visitor}-i",
            "visitor_id": visitor,
            "type": "impression",
            "ts": format_ts(ts),
            "properties": props,
        }
    ]
    if bought is not None:
        events.append(
            {
                "event_id": f"{visitor}-p",
                "visitor_id": visitor,
                "type": "purchase",
                "value": bought,
                "currency": "EUR",
                "ts": format_ts(ts + 30),
            }
        )
    return events


def token_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no csrf field in the page"
    return match.group(1)


def login(client: TestClient, user: str, password: str = PASSWORD, next_: str = "/studio/") -> Any:
    form = client.get("/studio/login")
    return client.post(
        "/studio/login",
        data={"csrf": token_of(form.text), "user": user, "password": password, "next": next_},
        follow_redirects=False,
    )


@pytest.fixture
def as_role(app_client: Callable[[], TestClient]) -> Callable[[str], TestClient]:
    def make(role: str) -> TestClient:
        client = app_client()
        r = login(client, role)
        assert r.status_code == 303, r.text
        return client

    return make
