# SPDX-License-Identifier: Apache-2.0
"""A visitor id this request minted (none sent, or an unsigned or forged one replaced) has
nothing stored under it, so the render and fragment routes do not look it up; a sent id that
is kept is looked up, and its profile counts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from slotwise.gateway.visitors.events import format_ts
from slotwise.gateway.visitors.signing import sign_visitor
from tests.gateway.conftest import DESKTOP_UA, minimal_config

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
SECRET = "visitor-secret-0123456789"


def client_counting_lookups(
    make_client: Callable[..., TestClient], tmp_path: Path, **site: Any
) -> tuple[TestClient, list[str]]:
    data = minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "events.db")})
    data["sites"]["shop"].update(site)
    data["segments"]["viewer"] = "events.item_view.within(24h) >= 1"
    data["slots"]["hero"]["variants"].insert(
        0, {"id": "v", "when": "viewer", "block": {"type": "banner", "title": "Welcome back"}}
    )
    client = make_client(data)
    store = client.app.state.services.store  # type: ignore[attr-defined]
    looked_up: list[str] = []
    load = store.load_for_render

    async def counting(site_name: str, visitor_id: str) -> Any:
        looked_up.append(visitor_id)
        return await load(site_name, visitor_id)

    store.load_for_render = counting
    return client, looked_up


def render(client: TestClient, visitor_id: str | None) -> dict[str, Any]:
    body = {"site": "shop", "slots": ["hero"], **({"visitor_id": visitor_id} if visitor_id else {})}
    r = client.post("/v1/render", json=body, headers=KEY)
    assert r.status_code == 200, r.text
    return r.json()


def view(client: TestClient, visitor_id: str) -> None:
    ev = {
        "event_id": "e1",
        "visitor_id": visitor_id,
        "type": "item_view",
        "item_id": "sku",
        "ts": format_ts(time.time()),
    }
    assert client.post("/v1/events", json={"site": "shop", "events": [ev]}, headers=KEY).json()["accepted"] == ["e1"]


def test_a_first_visit_is_not_looked_up_and_a_returning_one_is(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client, looked_up = client_counting_lookups(make_client, tmp_path)
    minted = render(client, None)["visitor_id"]
    assert minted and looked_up == []
    view(client, minted)
    again = render(client, minted)
    assert looked_up == [minted] and again["blocks"]["hero"]["variant"] == "v"
    fragment = client.get("/v1/slots/hero/fragment", params={"site": "shop", "key": "pk_shop", "visitor_id": minted})
    assert fragment.status_code == 200 and "Welcome back" in fragment.text and looked_up == [minted, minted]
    assert client.get("/v1/slots/hero/fragment", params={"site": "shop", "key": "pk_shop"}).status_code == 200
    assert looked_up == [minted, minted]  # the fragment's own new id: not looked up


def test_a_replaced_unsigned_or_forged_id_is_not_looked_up(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client, looked_up = client_counting_lookups(
        make_client, tmp_path, visitor_secrets=[SECRET], require_signed_visitor=True
    )
    signed = sign_visitor("shop", SECRET)
    view(client, signed)
    for claimed in ("plain-visitor-id", signed[:-4] + "0000"):
        answer = render(client, claimed)
        assert answer["visitor_id"] != claimed and answer["blocks"]["hero"]["variant"] == "default"
    assert looked_up == []
    assert render(client, signed)["blocks"]["hero"]["variant"] == "v" and looked_up == [signed]
