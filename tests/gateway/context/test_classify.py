# SPDX-License-Identifier: Apache-2.0
"""Each event is classified by its own context: events relayed by a server are not bot traffic."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from slotwise.gateway.context.classify import BOT_REASON, NO_CONSENT_REASON, classify_event
from slotwise.gateway.visitors.events import format_ts
from tests.gateway.conftest import DESKTOP_UA, GOOGLEBOT_UA, IPHONE_UA, minimal_config

RELAY_UA = "python-httpx/0.28.1"


def test_the_events_own_user_agent_wins_over_the_relays() -> None:
    verdict = classify_event({"user_agent": IPHONE_UA}, user_agent=RELAY_UA, consent="full")
    assert verdict.kept and verdict.device == "mobile"
    assert classify_event({}, user_agent=RELAY_UA, consent="full").ignored == BOT_REASON
    assert classify_event(None, user_agent=DESKTOP_UA, consent="full").device == "desktop"
    assert classify_event({"user_agent": GOOGLEBOT_UA}, user_agent=DESKTOP_UA, consent="full").ignored == BOT_REASON


@pytest.mark.parametrize(
    "context, consent, gpc, kept",
    [
        ({"consent": "full"}, "anonymous", False, True),
        ({"consent": "anonymous"}, "full", False, False),
        ({"consent": "none"}, "full", False, False),
        ({"consent": "bogus"}, "full", False, True),
        ({"consent": {}}, "none", False, False),
        ({"gpc": True}, "full", False, False),
        ({"consent": "full"}, "full", True, False),  # GPC from either side wins
        ({}, "full", False, True),
    ],
)
def test_the_events_own_consent_wins(context: dict[str, Any], consent: str, gpc: bool, kept: bool) -> None:
    verdict = classify_event({"user_agent": DESKTOP_UA, **context}, user_agent=RELAY_UA, consent=consent, gpc=gpc)
    assert verdict.kept is kept
    assert verdict.ignored in (None, NO_CONSENT_REASON)


@pytest.fixture
def client(make_client: Callable[..., TestClient], tmp_path: Path) -> TestClient:
    data = minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "events.db")})
    data["sites"]["shop"]["default_consent"] = "anonymous"
    return make_client(data)


def test_a_relayed_batch_keeps_the_browser_events_and_drops_the_bots(client: TestClient) -> None:
    def ev(i: int, **ctx: Any) -> dict[str, Any]:
        ts = format_ts(time.time() - 5)
        return {"event_id": f"e{i}", "visitor_id": f"v{i}", "type": "page_view", "ts": ts, "context": ctx}

    batch = [
        ev(1, user_agent=IPHONE_UA, consent="full"),
        ev(2, user_agent=DESKTOP_UA, consent="full"),
        ev(3, user_agent=GOOGLEBOT_UA, consent="full"),
        ev(4, user_agent=DESKTOP_UA),  # the site's default consent: anonymous
        ev(5, consent="full"),  # no own user agent: the relay's, a bot's
    ]
    r = client.post(
        "/v1/events",
        json={"site": "shop", "events": batch},
        headers={"X-Slotwise-Key": "pk_shop", "User-Agent": RELAY_UA},
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["accepted"] == ["e1", "e2"]
    assert sorted(data["ignored"]["event_ids"]) == ["e3", "e4", "e5"]
    assert BOT_REASON in data["ignored"]["reason"] and NO_CONSENT_REASON in data["ignored"]["reason"]
    stored = client.get("/v1/visitors/v1", params={"site": "shop"}, headers={"Authorization": "Bearer sk_shop"}).json()
    assert stored["events"][0]["context"]["device"] == "mobile"  # the event's own device, not the relay's
    assert "user_agent" not in stored["events"][0]["context"]  # used, never stored
