# SPDX-License-Identifier: Apache-2.0
"""Hostile input: every request answers with a 4xx or a 200, never a 500 (issue 11)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from slotwise.gateway.visitors.events import format_ts
from tests.gateway.conftest import DESKTOP_UA

PK = {"X-Slotwise-Key": "pk_demo", "User-Agent": DESKTOP_UA, "Content-Type": "application/json"}
SK = {**PK, "X-Slotwise-Key": "sk_demo"}
SURROGATE = "\\ud800"  # as it appears in the JSON text


@pytest.fixture
def client(demo_dir: Path, make_client: Callable[..., TestClient]) -> TestClient:
    data = yaml.safe_load((demo_dir / "slotwise.yaml").read_text())
    data["store"] = {"backend": "sqlite", "path": str(demo_dir / "events.db")}
    return make_client(data)


def event(i: int, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e{i}", "visitor_id": "v1", "type": "page_view", "ts": format_ts(time.time() - 5), **extra}


def send(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str] = PK) -> Any:
    raw = json.dumps(body).replace("SURROGATE", SURROGATE)
    return client.post(path, content=raw.encode(), headers=headers)


def assert_clean(r: Any, status: int) -> Any:
    """The answer has the status and is valid UTF-8 JSON without lone surrogates."""
    assert r.status_code == status, r.text
    text = r.content.decode("utf-8")  # strict: raises on an encoded surrogate
    data = json.loads(text)
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # no escaped lone surrogate either
    return data


# --- defect 3: lone surrogates echoed back ------------------------------------------------------


def test_a_lone_surrogate_in_the_site_name(client: TestClient) -> None:
    assert_clean(send(client, "/v1/render", {"site": "SURROGATE", "slots": ["offer"]}), 403)
    assert_clean(send(client, "/v1/events", {"site": "SURROGATE", "events": []}), 403)


def test_a_lone_surrogate_in_slot_names(client: TestClient) -> None:
    assert_clean(send(client, "/v1/render", {"site": "demo", "slots": ["SURROGATE"]}), 404)
    data = assert_clean(send(client, "/v1/render", {"site": "demo", "slots": ["offer", "xSURROGATE"]}), 200)
    assert len(data["errors"]) == 1 and "offer" in data["blocks"]


def test_a_lone_surrogate_in_an_event_field_name(client: TestClient) -> None:
    bad = {**event(1), "SURROGATE": 1}
    data = assert_clean(send(client, "/v1/events", {"site": "demo", "events": [bad, event(2)]}), 200)
    assert data["accepted"] == ["e2"] and data["rejected"][0]["reason"].startswith("unknown field")


def test_a_lone_surrogate_in_the_user_agent(client: TestClient) -> None:
    body = {"site": "demo", "slots": ["offer"], "context": {"user_agent": "Mozilla/5.0 SURROGATE"}}
    assert_clean(send(client, "/v1/render", body), 200)
    events = {"site": "demo", "events": [event(1)], "context": {"user_agent": "Mozilla SURROGATE"}}
    assert_clean(send(client, "/v1/events", events), 200)


def test_a_lone_surrogate_in_the_events_key(client: TestClient) -> None:
    headers = {k: v for k, v in PK.items() if k != "X-Slotwise-Key"}
    r = send(client, "/v1/events", {"site": "demo", "events": [event(1)], "key": "pk_SURROGATE"}, headers)
    assert assert_clean(r, 403)["error"]["code"] == "invalid_key"


def test_a_lone_surrogate_in_the_debug_url(client: TestClient) -> None:
    body = {
        "site": "demo",
        "slots": ["offer"],
        "debug": True,
        "context": {"url": "https://x.example/SURROGATE?utm_source=aSURROGATE"},
    }
    data = assert_clean(send(client, "/v1/render", body, SK), 200)
    assert data["context"]["page"]["url"].startswith("https://x.example/")


# --- defect 2: deeply nested JSON ---------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth, status", [(900, 200), (1000, 400), (2000, 400)])
def test_deeply_nested_json_is_a_400(client: TestClient, depth: int, status: int) -> None:
    render = f'{{"site":"demo","slots":["offer"],"context":{{"deep":{nested(depth)}}}}}'
    data = assert_clean(client.post("/v1/render", content=render.encode(), headers=PK), status)
    events = f'{{"site":"demo","events":[],"context":{{"deep":{nested(depth)}}}}}'
    assert_clean(client.post("/v1/events", content=events.encode(), headers=PK), status)
    consent = f'{{"level":"full","deep":{nested(depth)}}}'
    assert_clean(client.put("/v1/visitors/v1/consent?site=demo", content=consent.encode(), headers=PK), status)
    if status == 400:
        assert data["error"] == {"code": "invalid_json", "message": "request body is nested too deeply"}


# --- defect 4: integers beyond a float ----------------------------------------------------------


@pytest.mark.parametrize("field", ["value", "quantity"])
def test_an_integer_too_big_for_a_float_rejects_only_its_event(client: TestClient, field: str) -> None:
    raw = json.dumps({"site": "demo", "events": [event(1, **{field: 1}), event(2, **{field: 1}), event(3)]})
    raw = raw.replace(": 1}", ": " + "9" * 400 + "}", 1)
    data = assert_clean(client.post("/v1/events", content=raw.encode(), headers=PK), 200)
    assert data["accepted"] == ["e2", "e3"]
    reason = {"value": "'value' must be between -1e+09 and 1e+09", "quantity": "'quantity' must be between 0 and 10000"}
    assert data["rejected"] == [{"index": 0, "event_id": "e1", "reason": reason[field]}]


# --- defect 1: context values of the wrong type -------------------------------------------------

HOSTILE_VALUES = [{}, [], {"a": [1]}, [["mobile"]], 10**400, -1, 1.5, True, None, "", "x" * 5000]
CONTEXT_KEYS = ["url", "referrer", "timezone", "language", "user_agent", "item_id", "consent", "gpc"]
SIMULATE_KEYS = ["device", "country", "hour", "weekday", "timezone"]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_context_values_of_any_type_are_ignored(client: TestClient, value: Any) -> None:
    for key in SIMULATE_KEYS:
        body = {"site": "demo", "slots": ["offer"], "context": {"simulate": {key: value}}}
        assert_clean(client.post("/v1/render", json=body, headers=PK), 200)
    for key in CONTEXT_KEYS:
        body = {"site": "demo", "slots": ["offer"], "context": {key: value, "simulate": value}}
        assert_clean(client.post("/v1/render", json=body, headers=PK), 200)
        events = {"site": "demo", "events": [event(1, context={key: value})], "context": {key: value}}
        assert_clean(client.post("/v1/events", json=events, headers=PK), 200)


# --- defect 11: site names cannot be listed without a key ---------------------------------------


def answers(client: TestClient, site: str, key: str | None) -> list[tuple[int, str, str]]:
    """(status, code, message with the site name blanked) of every route that takes a site."""
    h = {"User-Agent": DESKTOP_UA, **({"X-Slotwise-Key": key} if key else {})}
    bearer = {"User-Agent": DESKTOP_UA, **({"Authorization": f"Bearer {key}"} if key else {})}
    rs = [
        client.post("/v1/render", json={"site": site, "slots": ["offer"]}, headers=h),
        client.post("/v1/render", json={"site": site, "slots": 5}, headers=h),  # invalid body: site first
        client.post("/v1/events", json={"site": site, "events": [event(1)]}, headers=h),
        client.get("/v1/slots", params={"site": site}, headers=h),
        client.get("/v1/slots/offer/fragment", params={"site": site}, headers=h),
        client.get("/v1/visitors/v1", params={"site": site}, headers=bearer),
        client.get("/v1/visitors/v1", params={"site": site, "token": "9999999999.abc"}),
        client.delete("/v1/visitors/v1", params={"site": site}, headers=bearer),
        client.put("/v1/visitors/v1/consent", params={"site": site}, json={"level": "full"}, headers=h),
    ]
    out = []
    for r in rs:
        error = assert_clean(r, r.status_code)["error"]
        out.append((r.status_code, error["code"], error["message"].replace(site, "SITE")))
    return out


@pytest.mark.parametrize("key", [None, "pk_wrong", "sk_wrong"])
def test_an_unknown_site_answers_as_a_wrong_key(client: TestClient, key: str | None) -> None:
    unknown, known = answers(client, "nope", key), answers(client, "demo", key)
    assert unknown == known
    assert {status for status, _, _ in known} == ({401, 403} if key is None else {403})


# --- hypothesis: any render body and any headers answer 200 or a documented 4xx -----------------

_text = st.text(st.characters(min_codepoint=0, max_codepoint=0xDFFF), max_size=40)  # lone surrogates too
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_context = st.dictionaries(
    st.sampled_from([*CONTEXT_KEYS, "simulate", "extra"]) | _text,
    _json | st.dictionaries(st.sampled_from(SIMULATE_KEYS), _json, max_size=5),
    max_size=8,
)
_body = st.fixed_dictionaries(
    {},
    optional={
        "site": st.sampled_from(["demo", "nope"]) | _json,
        "slots": st.lists(st.sampled_from(["offer", "welcome", "home-hero"]) | _text, max_size=4) | _json,
        "visitor_id": st.from_regex(r"\A[A-Za-z0-9_.:-]{1,20}\Z") | _json,
        "context": _context | _json,
        "debug": st.booleans() | _json,
    },
)
_header_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60)
_headers = st.dictionaries(
    st.sampled_from(
        [
            "user-agent",
            "accept-language",
            "sec-gpc",
            "dnt",
            "sec-ch-ua-mobile",
            "x-forwarded-for",
            "cf-ipcountry",
            "origin",
            "cookie",
            "x-slotwise-key",
        ]
    ),
    _header_value | st.sampled_from(["pk_demo", "sk_demo", "?1", "1", "http://127.0.0.1:8080"]),
    max_size=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=_body, headers=_headers)
def test_any_render_body_and_headers_answer_cleanly(
    client: TestClient, body: dict[str, Any], headers: dict[str, str]
) -> None:
    raw = json.dumps(body).encode()
    sent = {"content-type": "application/json", "x-slotwise-key": "pk_demo", **headers}
    r = client.post("/v1/render", content=raw, headers={k: v.encode("latin-1") for k, v in sent.items()})
    data = assert_clean(r, r.status_code)
    assert r.status_code in (200, 400, 401, 403, 404, 413, 422), r.text
    if r.status_code == 200:
        assert set(data["blocks"]) <= {"offer", "welcome", "home-hero"}
    else:
        assert set(data["error"]) == {"code", "message"}
