# SPDX-License-Identifier: Apache-2.0
"""POST /v1/events and the visitor-rights routes, over the real app and a real SQLite store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from slotwise.gateway.visitors.events import EVENT_TYPES, FIELDS, Invalid, Limits, format_ts, parse_ts, validate_event
from tests.gateway.conftest import DESKTOP_UA, GOOGLEBOT_UA, minimal_config

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
SECRET = {"Authorization": "Bearer sk_shop"}


def ts(offset: float = 0.0) -> str:
    return format_ts(time.time() + offset)


def event(i: int | str, visitor: str = "v1", etype: str = "item_view", **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e{i}", "visitor_id": visitor, "type": etype, "ts": ts(-5), "item_id": "sku-1", **extra}


@pytest.fixture
def client(make_client: Callable[..., TestClient], tmp_path: Path) -> TestClient:
    data = minimal_config(
        store={
            "backend": "sqlite",
            "path": str(tmp_path / "events.db"),
            "max_batch": 50,
            "rate_limit": {"visitor_per_minute": 100},
        }
    )
    data["segments"]["cart_abandoner"] = "events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0"
    return make_client(data)


def post(client: TestClient, events: list[Any], headers: dict[str, str] = KEY, **body: Any) -> Any:
    return client.post("/v1/events", json={"site": "shop", "events": events, **body}, headers=headers)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, want",
    [
        ("2026-01-31T12:00:00Z", 1769860800.0),
        ("2026-01-31T13:30:00.250+01:30", 1769860800.25),
        ("2026-01-31 12:00:00z", 1769860800.0),
    ],
)
def test_rfc3339_timestamps(text: str, want: float) -> None:
    assert parse_ts(text) == want


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-31T12:00:00",
        "2026-02-30T12:00:00Z",
        "1769860800",
        "yesterday",
        "2026-01-31T25:00:00Z",
        "2026-01-31T12:00:00+24:00",
    ],
)
def test_bad_timestamps(text: str) -> None:
    with pytest.raises(Invalid):
        parse_ts(text)


@pytest.mark.parametrize(
    "patch, reason",
    [
        ({"type": "hover"}, "unknown event type"),
        ({"type": 3}, "unknown event type"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "a" * 129}, "event_id"),
        ({"event_id": "<script>"}, "event_id"),
        ({"visitor_id": 7}, "visitor_id"),
        ({"ts": ts(3600)}, "future"),
        ({"ts": ts(-400 * 86400)}, "retention"),
        ({"value": "12"}, "value"),
        ({"value": float("nan")}, "value"),
        ({"quantity": 1.5}, "quantity"),
        ({"currency": "euro"}, "currency"),
        ({"properties": []}, "properties"),
        ({"properties": {"x": "a" * 1_000_000}}, "longer than"),
        ({"properties": {"a": {"b": {"c": {"d": {"e": {}}}}}}}, "deeper"),
        ({"colour": "red"}, "unknown field"),
        ({"item_id": None}, "needs an 'item_id'"),
        ({"context": {"device": "fridge"}}, "context.device"),
        ({"context": "x"}, "context"),
    ],
)
def test_validation_reasons(patch: dict[str, Any], reason: str) -> None:
    raw = {**event(1), **patch}
    with pytest.raises(Invalid, match=reason):
        validate_event(raw, time.time(), Limits())


def test_hostile_strings_are_data() -> None:
    raw = event(
        1,
        properties={"name": "<img src=x onerror=alert(1)>\x00\x07", "ok": [1, True, None]},
        context={"url": "https://x/\x1b[31m", "unknown": "dropped"},
    )
    e = validate_event(raw, time.time())
    assert e["properties"] == {"name": "<img src=x onerror=alert(1)>", "ok": [1, True, None]}
    assert e["context"] == {"url": "https://x/[31m"}


# --- the route ------------------------------------------------------------------------------------


def test_good_events_survive_bad_neighbours_and_duplicates_count_once(client: TestClient) -> None:
    batch = [
        event(1, etype="add_to_cart"),
        {"nonsense": True},
        event(2, etype="teleport"),
        "string",
        event(3),
        event(1, etype="add_to_cart"),
    ]
    r = post(client, batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == ["e1", "e3", "e1"] and body["duplicates"] == ["e1"]
    assert [(x["index"], x["event_id"]) for x in body["rejected"]] == [(1, None), (2, "e2"), (3, None)]
    assert all(x["reason"] for x in body["rejected"])
    again = post(client, [event(1, etype="add_to_cart")]).json()
    assert again["accepted"] == ["e1"] and again["duplicates"] == ["e1"]
    data = client.get("/v1/visitors/v1", params={"site": "shop"}, headers=SECRET).json()
    assert data["profile"]["totals"] == {"add_to_cart": 1, "item_view": 1}
    assert data["profile"]["device"] == "desktop" and len(data["events"]) == 2


def test_segment_flips_on_render_the_moment_events_arrive(client: TestClient) -> None:
    def segments() -> list[str]:
        r = client.post("/v1/render", json={"site": "shop", "visitor_id": "buyer", "slots": ["hero"]}, headers=KEY)
        return list(r.json()["blocks"]["hero"]["segments"])

    assert "cart_abandoner" not in segments()
    post(client, [event("c1", visitor="buyer", etype="add_to_cart")])
    assert "cart_abandoner" in segments()
    post(client, [event("p1", visitor="buyer", etype="purchase", value=20)])
    assert "cart_abandoner" not in segments()
    # The same answer straight from the events call, for pages that update in place.
    r = post(client, [event("c2", visitor="browser", etype="add_to_cart")], segments=True)
    assert r.json()["segments"] == {"browser": ["cart_abandoner"]}


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"{not json", 400, "invalid_json"),
        (b"[]", 400, "invalid_request"),
        (b'{"site": "shop", "events": {}}', 400, "invalid_request"),
        (b'{"site": "nope", "events": []}', 403, "invalid_key"),
    ],
)
def test_malformed_requests(client: TestClient, body: bytes, status: int, code: str) -> None:
    r = client.post("/v1/events", content=body, headers={**KEY, "Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)


def test_huge_batches_and_bodies_are_refused(client: TestClient) -> None:
    r = post(client, [event(i) for i in range(51)])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_events"
    r = post(client, [event(1, properties={"x": "a" * 1_100_000})])
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    r = post(client, [event(1, properties={"x": "a" * 500_000})])
    assert r.status_code == 200 and "longer than" in r.json()["rejected"][0]["reason"]


def test_keys_and_origins_gate_the_route(client: TestClient) -> None:
    assert post(client, [event(1)], headers={}).status_code == 401
    assert post(client, [event(1)], headers={"X-Slotwise-Key": "pk_other"}).status_code == 403
    assert post(client, [event(1)], headers={}, key="pk_shop").status_code == 200  # beacon body key
    evil = post(client, [event(2)], headers={**KEY, "Origin": "https://evil.example"})
    assert evil.status_code == 403 and evil.json()["error"]["code"] == "origin_not_allowed"
    ok = post(client, [event(3)], headers={**KEY, "Origin": "https://shop.example"})
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"


def test_rate_limit_per_visitor_rejects_only_the_excess(client: TestClient) -> None:
    results = [post(client, [event(f"{b}-{i}", visitor="chatty") for i in range(40)]).json() for b in range(3)]
    accepted = sum(len(r["accepted"]) for r in results)
    limited = [x for r in results for x in r["rejected"] if "rate limit" in x["reason"]]
    assert accepted >= 100 and len(limited) >= 1 and accepted + len(limited) == 120
    assert post(client, [event("calm", visitor="other")]).json()["accepted"] == ["ecalm"]


def test_no_profile_without_consent_gpc_or_for_bots(client: TestClient) -> None:
    cases = [
        ({**KEY, "Sec-GPC": "1"}, {}),
        (KEY, {"consent": "none"}),
        (KEY, {"consent": "anonymous"}),
        ({"X-Slotwise-Key": "pk_shop", "User-Agent": GOOGLEBOT_UA}, {}),
    ]
    for n, (headers, extra) in enumerate(cases):
        body = post(client, [event(n, visitor=f"private{n}")], headers=headers, **extra).json()
        assert body["accepted"] == [] and body["ignored"]["event_ids"] == [f"e{n}"], body
        data = client.get(f"/v1/visitors/private{n}", params={"site": "shop"}, headers=SECRET).json()
        assert data["profile"] is None and data["events"] == []


def test_an_event_can_carry_its_own_opt_out(client: TestClient) -> None:
    body = post(
        client,
        [
            event(1, visitor="mixed"),
            event(2, visitor="mixed", context={"gpc": True}),
            event(3, visitor="mixed", context={"consent": "none"}),
        ],
    ).json()
    assert body["accepted"] == ["e1"] and body["ignored"]["event_ids"] == ["e2", "e3"]


def test_each_event_is_classified_by_its_own_user_agent_and_consent(client: TestClient) -> None:
    bot, human = {"user_agent": GOOGLEBOT_UA}, {"user_agent": DESKTOP_UA}
    body = post(
        client,
        [
            event(1, visitor="relay", context=bot),
            event(2, visitor="relay", context=human),
            event(3, visitor="relay"),  # the request's user agent: a desktop browser
            event(4, visitor="relay", context=bot),
            event(5, visitor="relay", context={**human, "consent": "anonymous"}),
            event(6, visitor="relay", context={**human, "gpc": True}),
        ],
    ).json()
    assert body["accepted"] == ["e2", "e3"] and body["ignored"]["event_ids"] == ["e1", "e4", "e5", "e6"]
    assert "bot traffic" in body["ignored"]["reason"] and "no profiling consent" in body["ignored"]["reason"]


def test_consent_withdrawal_erases_and_stops_profiling(client: TestClient) -> None:
    post(client, [event(1, visitor="v9")])
    r = client.put("/v1/visitors/v9/consent", params={"site": "shop"}, json={"level": "none"}, headers=KEY)
    assert r.status_code == 200 and r.json()["profiling"] is False
    assert post(client, [event(2, visitor="v9")]).json()["ignored"]["event_ids"] == ["e2"]
    data = client.get("/v1/visitors/v9", params={"site": "shop"}, headers=SECRET).json()
    assert data["consent"] == "none" and data["profile"] is None and data["events"] == []
    bad = client.put("/v1/visitors/v9/consent", params={"site": "shop"}, json={"level": "maybe"}, headers=KEY)
    assert bad.status_code == 400


def test_visitor_access_needs_secret_or_signed_token(client: TestClient) -> None:
    from slotwise.gateway.http.event_routes import visitor_token

    post(client, [event(1, visitor="me")])
    assert client.get("/v1/visitors/me", params={"site": "shop"}).status_code == 401
    assert client.get("/v1/visitors/me", params={"site": "shop"}, headers=KEY).status_code == 403
    site = client.app.state.runtime.config.sites["shop"]  # type: ignore[attr-defined]
    token = visitor_token(site, "me")
    mine = client.get("/v1/visitors/me", params={"site": "shop", "token": token})
    assert mine.status_code == 200 and mine.json()["events"][0]["event_id"] == "e1"
    assert client.get("/v1/visitors/you", params={"site": "shop", "token": token}).status_code == 403
    expired = visitor_token(site, "me", ttl=-10)
    assert client.get("/v1/visitors/me", params={"site": "shop", "token": expired}).status_code == 403
    gone = client.delete("/v1/visitors/me", params={"site": "shop", "token": token})
    assert gone.json() == {"site": "shop", "visitor_id": "me", "erased": True, "events": 1}
    data = client.get("/v1/visitors/me", params={"site": "shop"}, headers=SECRET).json()
    assert data["profile"] is None and data["events"] == []


def test_route_is_off_without_a_store(make_client: Callable[..., TestClient]) -> None:
    c = make_client(minimal_config())
    r = post(c, [event(1)])
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_disabled"


def test_no_input_gives_a_500(client: TestClient) -> None:
    weird: list[Any] = [
        None,
        1,
        [],
        {"event_id": {}},
        {"event_id": "x", "ts": {}},
        event(1, value=True),
        event(2, quantity=-1),
        event(3, properties={"\x00": 1}),
        event(4, item_id=12345),
        event(5, context={"country": "germany"}),
        {**event(6), "event_id": "SURROGATE"},
        {**event(7), "item_id": "SURROGATE"},
        event(8, properties={"SURROGATE": 1}),
        event(9, properties={"big": 10**30}),
    ]
    raw = json.dumps({"site": "shop", "events": weird}).replace("SURROGATE", "\\ud800")
    r = client.post("/v1/events", content=raw.encode(), headers={**KEY, "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == ["e4", "e9"] and len(r.json()["rejected"]) == len(weird) - 2
    events = client.get("/v1/visitors/v1", params={"site": "shop"}, headers=SECRET).json()["events"]
    assert [e["properties"]["big"] for e in events if e["event_id"] == "e9"] == [10**30]


def test_store_outage_is_a_503_the_client_can_retry(make_client: Callable[..., TestClient]) -> None:
    c = make_client(minimal_config(store={"backend": "redis", "url": "redis://127.0.0.1:18598/0"}))
    r = post(c, [event(1)])
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"
    assert r.headers["retry-after"] == "1"
    render = c.post("/v1/render", json={"site": "shop", "visitor_id": "v1", "slots": ["hero"]}, headers=KEY)
    assert render.status_code == 200  # pages still render, without a profile


_text = st.text(st.characters(min_codepoint=0, max_codepoint=0xDFFF), max_size=30)  # lone surrogates too
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(patch=st.dictionaries(st.sampled_from([*sorted(FIELDS), "x"]), _json, max_size=6))
def test_any_json_is_either_a_clean_event_or_a_reason(patch: dict[str, Any]) -> None:
    raw = {**event(1), **patch}
    try:
        e = validate_event(raw, time.time())
    except Invalid as exc:
        assert str(exc)
        return
    json.dumps(e, ensure_ascii=False).encode("utf-8")  # storable and echoable as it is
    assert e["type"] in EVENT_TYPES and isinstance(e["ts"], float)
