# SPDX-License-Identifier: Apache-2.0
"""Signed visitor ids (issue 11, defect 12): issued signed, verified under two keys, and an
unsigned or forged id never gets the claimed visitor's data where signatures are required."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from slotwise.gateway.config.errors import ConfigError
from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.visitors.events import format_ts
from slotwise.gateway.visitors.signing import sign_visitor, verify_visitor
from tests.gateway.conftest import DESKTOP_UA, minimal_config

NEW, OLD = "new-secret-0123456789", "old-secret-0123456789"
KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}


def test_the_documented_format_is_what_the_gateway_signs() -> None:
    nonce = "0123456789abcdef0123456789abcdef"
    mac = hmac.new(NEW.encode(), f"s1|shop|{nonce}".encode(), hashlib.sha256).hexdigest()[:32]
    assert sign_visitor("shop", NEW, nonce) == f"s1.{nonce}.{mac}"


def test_ids_verify_under_either_rotation_key_and_only_for_their_site() -> None:
    issued_old, issued_new = sign_visitor("shop", OLD), sign_visitor("shop", NEW)
    assert verify_visitor("shop", [NEW, OLD], issued_old) and verify_visitor("shop", [NEW, OLD], issued_new)
    assert not verify_visitor("shop", [NEW], issued_old)  # rotated out
    assert not verify_visitor("other", [NEW, OLD], issued_new)
    nonce, mac = issued_new.split(".")[1:]
    forged = [f"s1.{nonce}.{'0' * 32}", f"s1.{nonce[:-1]}x.{mac}", f"s2.{nonce}.{mac}", nonce, "", "s1..", "v1"]
    assert not any(verify_visitor("shop", [NEW, OLD], f) for f in forged)


@pytest.mark.parametrize(
    "site, message",
    [
        ({"visitor_secrets": ["short"]}, "at least 16 characters"),
        ({"require_signed_visitor": True}, "require_signed_visitor needs visitor_secrets"),
        ({"visitor_secrets": [NEW, OLD, "third-secret-0123456789"]}, "visitor_secrets"),
    ],
)
def test_the_configuration_is_checked(site: dict[str, Any], message: str) -> None:
    data = minimal_config()
    data["sites"]["shop"].update(site)
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


@pytest.fixture
def client(make_client: Callable[..., TestClient], tmp_path: Path) -> TestClient:
    data = minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "events.db")})
    data["sites"]["shop"].update({"visitor_secrets": [NEW, OLD], "require_signed_visitor": True})
    data["segments"]["viewer"] = "events.item_view.within(24h) >= 1"
    data["slots"]["hero"]["variants"].insert(
        0, {"id": "v", "when": "viewer", "block": {"type": "banner", "title": "Welcome back"}}
    )
    return make_client(data)


def render(client: TestClient, visitor_id: str | None) -> dict[str, Any]:
    body = {"site": "shop", "slots": ["hero"], **({"visitor_id": visitor_id} if visitor_id else {})}
    r = client.post("/v1/render", json=body, headers=KEY)
    assert r.status_code == 200, r.text
    return r.json()


def view(client: TestClient, visitor_id: str, n: int) -> dict[str, Any]:
    ev = {
        "event_id": f"e{n}",
        "visitor_id": visitor_id,
        "type": "item_view",
        "item_id": "sku",
        "ts": format_ts(time.time()),
    }
    return client.post("/v1/events", json={"site": "shop", "events": [ev]}, headers=KEY).json()


def test_signed_ids_are_issued_and_forged_ones_get_context_only(client: TestClient) -> None:
    issued = render(client, None)["visitor_id"]
    assert verify_visitor("shop", [NEW], issued)
    assert view(client, issued, 1)["accepted"] == ["e1"]
    mine = render(client, issued)
    assert mine["visitor_id"] == issued and mine["blocks"]["hero"]["variant"] == "v"  # the profile counts
    old_key_id = sign_visitor("shop", OLD)
    assert view(client, old_key_id, 2)["accepted"] == ["e2"]
    assert render(client, old_key_id)["blocks"]["hero"]["variant"] == "v"  # during the rotation
    nonce = issued.split(".")[1]
    for claimed in (f"s1.{nonce}.{'0' * 32}", "plain-visitor-id"):
        other = render(client, claimed)
        assert other["visitor_id"] != claimed and verify_visitor("shop", [NEW], other["visitor_id"])
        assert other["blocks"]["hero"]["variant"] == "default"  # no profile: context only
    rejected = view(client, "plain-visitor-id", 3)
    assert (
        rejected["accepted"] == [] and rejected["rejected"][0]["reason"] == "'visitor_id' is not signed for this site"
    )


def test_without_require_unsigned_ids_still_work(make_client: Callable[..., TestClient]) -> None:
    data = minimal_config()
    data["sites"]["shop"]["visitor_secrets"] = [NEW]
    c = make_client(data)
    assert render(c, "plain-visitor-id")["visitor_id"] == "plain-visitor-id"
    assert verify_visitor("shop", [NEW], render(c, None)["visitor_id"])
