# SPDX-License-Identifier: Apache-2.0
"""The HTTP contract: render, fragment, errors with the right status, CORS, fallbacks, XSS."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.gateway.conftest import DESKTOP_UA, GOOGLEBOT_UA, IPHONE_UA, minimal_config

PK = {"X-Slotwise-Key": "pk_demo"}
ALL = ["home-hero", "welcome", "recommendations", "offer"]


def render(client: TestClient, slots: list[str] = ALL, headers: dict[str, str] | None = None, **body: Any) -> Any:
    payload = {"site": "demo", "slots": slots, **body}
    return client.post("/v1/render", json=payload, headers={**PK, **(headers or {})})


def test_render_returns_every_slot_in_the_contract_shape(demo_client: TestClient) -> None:
    r = render(demo_client, visitor_id="visitor-1", headers={"User-Agent": IPHONE_UA})
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("private")
    data = r.json()
    assert data["visitor_id"] == "visitor-1"
    assert set(data["blocks"]) == set(ALL)
    for block in data["blocks"].values():
        assert set(block) >= {"html", "variant", "segments", "experiment", "ttl"}
        assert block["html"].startswith('<div class="sw-block')
        assert isinstance(block["ttl"], int) and block["ttl"] >= 0
    assert "mobile" in data["blocks"]["home-hero"]["segments"]


def test_mobile_and_desktop_always_get_different_hero_variants(demo_client: TestClient) -> None:
    for hour in range(0, 24, 3):
        for country in (None, "US", "DE"):
            sim: dict[str, Any] = {"hour": hour, **({"country": country} if country else {})}
            variants = [
                render(demo_client, ["home-hero"], {"User-Agent": ua}, context={"simulate": sim}).json()["blocks"][
                    "home-hero"
                ]["variant"]
                for ua in (IPHONE_UA, DESKTOP_UA)
            ]
            assert variants[0] != variants[1], (hour, country, variants)


def test_visitor_ids_are_issued_and_respect_consent(demo_client: TestClient) -> None:
    issued = render(demo_client, ["welcome"]).json()["visitor_id"]
    assert isinstance(issued, str) and len(issued) == 32
    none = render(demo_client, ["offer"], visitor_id="keep-me", context={"consent": "none"}).json()
    assert none["visitor_id"] is None and none["blocks"]["offer"]["experiment"] is None
    bot = render(demo_client, ["offer"], {"User-Agent": GOOGLEBOT_UA}, visitor_id="b1").json()
    assert bot["visitor_id"] is None and bot["blocks"]["offer"]["variant"] == "default"


def test_experiment_assignment_is_returned_for_impressions(demo_client: TestClient) -> None:
    arms = {
        render(demo_client, ["offer"], visitor_id=f"v{i}").json()["blocks"]["offer"]["experiment"]["arm"]
        for i in range(60)
    }
    assert arms == {"percent", "shipping", "holdout"}


@pytest.mark.parametrize(
    "body, headers, status, code",
    [
        (b"{not json", PK, 400, "invalid_json"),
        (b"[1, 2]", PK, 400, "invalid_request"),
        (json.dumps({"site": 5, "slots": ["welcome"]}).encode(), PK, 400, "invalid_request"),
        (json.dumps({"site": "demo", "slots": "welcome"}).encode(), PK, 400, "invalid_request"),
        (json.dumps({"site": "demo", "slots": []}).encode(), PK, 400, "invalid_request"),
        (
            json.dumps({"site": "demo", "slots": ["welcome"], "visitor_id": {"$gt": ""}}).encode(),
            PK,
            400,
            "invalid_visitor_id",
        ),
        (
            json.dumps({"site": "demo", "slots": ["welcome"], "visitor_id": "x" * 200}).encode(),
            PK,
            400,
            "invalid_visitor_id",
        ),
        (json.dumps({"site": "demo", "slots": ["welcome"], "context": "mobile"}).encode(), PK, 400, "invalid_request"),
        (json.dumps({"site": "demo", "slots": ["welcome"]}).encode(), {}, 401, "missing_key"),
        (
            json.dumps({"site": "demo", "slots": ["welcome"]}).encode(),
            {"X-Slotwise-Key": "pk_other"},
            403,
            "invalid_key",
        ),
        (json.dumps({"site": "nope", "slots": ["welcome"]}).encode(), PK, 403, "invalid_key"),
        (json.dumps({"site": "demo", "slots": ["nope", "gone"]}).encode(), PK, 404, "unknown_slot"),
        (json.dumps({"site": "demo", "slots": [f"s{i}" for i in range(50)]}).encode(), PK, 422, "too_many_slots"),
        (json.dumps({"site": "demo", "slots": ["welcome"], "pad": "x" * 70000}).encode(), PK, 413, "body_too_large"),
    ],
)
def test_errors_have_the_right_status_and_shape(
    demo_client: TestClient, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    r = demo_client.post("/v1/render", content=body, headers={"Content-Type": "application/json", **headers})
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert isinstance(r.json()["error"]["message"], str) and "Traceback" not in r.text


def test_other_error_statuses(demo_client: TestClient) -> None:
    assert demo_client.get("/v1/nothing").json() == {"error": {"code": "not_found", "message": "Not Found"}}
    r = demo_client.get("/v1/render")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    r = demo_client.post("/v1/render", content=b"x", headers={**PK, "Content-Length": "999999999"})
    assert r.status_code == 413
    r = demo_client.get("/v1/admin/config")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_key"
    assert demo_client.get("/v1/admin/config", headers={"Authorization": "Bearer pk_demo"}).status_code == 403
    assert demo_client.get("/v1/admin/config", headers={"Authorization": "Bearer sk_demo"}).status_code == 200
    # The old admin page is retired for the studio (no key in a browser); no key is needed to be sent there.
    r = demo_client.get("/admin", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/studio/"


def test_hostile_visitor_ids_and_contexts_never_500(demo_client: TestClient) -> None:
    hostile = ["<script>", "'; DROP TABLE x;--", "../../etc", "\u0000", "é" * 5]
    for vid in hostile:
        assert render(demo_client, ["welcome"], visitor_id=vid).status_code == 400
    weird_contexts = [
        {"timezone": 5},
        {"timezone": "x" * 5000},
        {"url": "javascript:alert(1)"},
        {"referrer": "http://[::1"},
        {"simulate": {"hour": "noon"}},
        {"item_id": ["a"]},
        {"consent": {"level": "full"}},
        {"language": "<>" * 100},
        {"user_agent": "x" * 100000},
    ]
    for context in weird_contexts:
        r = demo_client.post(
            "/v1/render", content=json.dumps({"site": "demo", "slots": ALL, "context": context}), headers=PK
        )
        assert r.status_code in (200, 413), (context, r.text)


def test_fragment_for_esi_and_simple_fetches(demo_client: TestClient) -> None:
    r = demo_client.get(
        "/v1/slots/home-hero/fragment?site=demo&visitor_id=v1&key=pk_demo", headers={"User-Agent": IPHONE_UA}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"].startswith("private, max-age=")
    assert "User-Agent" in r.headers["vary"] and r.headers["x-slotwise-variant"] in {"mobile", "mobile-night"}
    assert r.text.startswith('<div class="sw-block sw-banner')
    assert demo_client.get("/v1/slots/home-hero/fragment?site=demo").status_code == 401
    assert demo_client.get("/v1/slots/nope/fragment?site=demo&key=pk_demo").status_code == 404
    assert demo_client.get("/v1/slots/home-hero/fragment?site=demo", headers=PK).status_code == 200


def test_slot_list_for_editors(demo_client: TestClient) -> None:
    r = demo_client.get("/v1/slots?site=demo", headers=PK)
    slots = {s["name"]: s for s in r.json()["slots"]}
    assert sorted(slots) == sorted(ALL)
    assert slots["recommendations"]["type"] == "recommendations"
    assert slots["home-hero"]["description"] == "Hero banner at the top of the home page"


def test_cors_is_limited_to_the_sites_origins(demo_client: TestClient) -> None:
    good, bad = "http://127.0.0.1:8080", "https://evil.example"
    pre = demo_client.options("/v1/render", headers={"Origin": good, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == good
    assert "X-Slotwise-Key" in pre.headers["access-control-allow-headers"]
    assert demo_client.options("/v1/render", headers={"Origin": bad}).status_code == 403
    assert render(demo_client, ["welcome"], {"Origin": good}).headers["access-control-allow-origin"] == good
    r = render(demo_client, ["welcome"], {"Origin": bad})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"


def test_client_script_is_served(demo_client: TestClient) -> None:
    r = demo_client.get("/v1/client.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "data-slotwise-slot" in r.text and "/v1/render" in r.text and "sendBeacon" in r.text


def _fallback_config(strategy: str) -> dict[str, Any]:
    data = minimal_config()
    data["gateway"] = {"slot_budget_ms": 300}
    data["slots"]["recs"] = {
        "variants": [{"id": "bad", "block": {"type": "recommendations", "strategy": strategy}}],
        "default": {"type": "banner", "title": "Safe default"},
    }
    return data


async def _slow(env: Any, block: Any, count: int) -> list[str]:
    await asyncio.sleep(5)
    return []


async def _broken(env: Any, block: Any, count: int) -> list[str]:
    raise RuntimeError("model exploded")


@pytest.mark.parametrize("strategy, reason", [("test-slow", "timeout"), ("test-broken", "error")])
def test_a_failing_slot_falls_back_and_the_others_render(
    make_client: Callable[..., TestClient], add_strategy: Callable[[str, Any], None], strategy: str, reason: str
) -> None:
    add_strategy("test-slow", _slow)
    add_strategy("test-broken", _broken)
    client = make_client(_fallback_config(strategy), raise_server_exceptions=False)
    r = client.post(
        "/v1/render", json={"site": "shop", "slots": ["hero", "recs"]}, headers={"X-Slotwise-Key": "pk_shop"}
    )
    assert r.status_code == 200
    blocks = r.json()["blocks"]
    assert "Default" in blocks["hero"]["html"] and "fallback" not in blocks["hero"]
    assert "Safe default" in blocks["recs"]["html"]
    assert blocks["recs"]["fallback"] == reason and blocks["recs"]["variant"] == "default"
    metrics = client.get("/metrics").text
    assert f'slotwise_slot_fallbacks_total{{reason="{reason}",slot="recs"}} 1.0' in metrics


def _write_items(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))


def test_catalog_text_is_data_never_markup(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    payloads = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "{% raw %}x"]
    items = [
        {
            "item_id": f"x{i}",
            "title": p,
            "text": p,
            "url": "javascript:alert(1)",
            "image": "javascript:alert(2)",
            "price": 1,
        }
        for i, p in enumerate(payloads)
    ]
    items.append(
        {
            "item_id": "ok",
            "title": "Fine",
            "url": "https://shop.example/p?a=1&b=2",
            "image": "data:image/svg+xml,%3Csvg%3E",
            "price": 2,
        }
    )
    _write_items(tmp_path, items)
    data = minimal_config(catalog={"path": "items.jsonl"})
    data["slots"]["recs"] = {"default": {"type": "recommendations", "strategy": "popular", "count": 10}}
    client = make_client(data)
    html = client.post(
        "/v1/render", json={"site": "shop", "slots": ["recs"]}, headers={"X-Slotwise-Key": "pk_shop"}
    ).json()["blocks"]["recs"]["html"]
    assert "<script>" not in html and "<img src=x" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in html and "{{ 7*7 }}" in html and "49" not in html
    assert 'href="https://shop.example/p?a=1&amp;b=2"' in html and 'src="data:image/svg+xml' in html


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ visitor.__class__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ context.utm.update({'x': 1}) }}",
    ],
)
def test_editor_templates_cannot_escape_the_sandbox(make_client: Callable[..., TestClient], template: str) -> None:
    data = minimal_config()
    data["slots"]["hi"] = {"default": {"type": "welcome", "message": template}}
    client = make_client(data, raise_server_exceptions=False)
    r = client.post("/v1/render", json={"site": "shop", "slots": ["hi"]}, headers={"X-Slotwise-Key": "pk_shop"})
    assert r.status_code == 200
    block = r.json()["blocks"]["hi"]
    assert block.get("fallback") == "error" or "class" not in block["html"].split('"sw-message">')[1]
    assert "subclasses" not in block["html"] and "<class" not in block["html"]


def test_welcome_messages_escape_context_values(make_client: Callable[..., TestClient]) -> None:
    data = minimal_config()
    data["slots"]["hi"] = {"default": {"type": "welcome", "message": "<b>Hi</b> {{ context.utm.source }}"}}
    client = make_client(data)
    html = client.post(
        "/v1/render",
        json={
            "site": "shop",
            "slots": ["hi"],
            "context": {"url": "https://shop.example/?utm_source=%3Cscript%3Ealert(1)%3C/script%3E"},
        },
        headers={"X-Slotwise-Key": "pk_shop"},
    ).json()["blocks"]["hi"]["html"]
    assert "<b>Hi</b>" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cache_counts_hits_for_visitor_independent_blocks(demo_client: TestClient) -> None:
    # Three pages (URLs) of the same context: three page-cache misses, the block is rendered once.
    for page in range(3):
        render(demo_client, ["recommendations"], context={"url": f"https://shop.example/p{page}"})
    metrics = demo_client.get("/metrics").text
    assert 'slotwise_cache_hits_total{cache="blocks"} 2.0' in metrics
    assert 'slotwise_cache_misses_total{cache="blocks"} 1.0' in metrics
    assert 'slotwise_cache_misses_total{cache="pages"} 3.0' in metrics


def test_the_same_anonymous_page_is_kept_on_its_second_miss_and_served_from_the_page_cache(
    demo_client: TestClient,
) -> None:
    # Not the hero: outside the demo site's business hours it is a bandit, drawn anew on each view.
    first, second, third = (render(demo_client, ["offer", "welcome"], context={"consent": "none"}) for _ in range(3))
    assert first.content == second.content == third.content and first.json()["visitor_id"] is None
    metrics = demo_client.get("/metrics").text
    assert 'slotwise_cache_hits_total{cache="pages"} 1.0' in metrics  # the third: kept on the second miss
    assert 'slotwise_cache_misses_total{cache="pages"} 2.0' in metrics


def test_health_readiness_and_debug_context(demo_client: TestClient) -> None:
    assert demo_client.get("/healthz").json() == {"status": "ok"}
    ready = demo_client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["catalog_items"] == 320
    dbg = demo_client.get(
        "/v1/admin/debug/context?tz=Asia/Tokyo",
        headers={
            "Authorization": "Bearer sk_demo",
            "User-Agent": IPHONE_UA,
            "CF-IPCountry": "US",
            "X-Forwarded-For": "198.51.100.1",
        },
    ).json()
    assert dbg["context"]["device"]["class"] == "mobile"
    assert dbg["context"]["local"]["timezone"] == "Asia/Tokyo"
    assert dbg["context"]["geo"] == {"country": None, "region": None, "source": "none"}
    assert dbg["peer_is_trusted_proxy"] is False and "198.51.100.1" not in json.dumps(dbg)


def test_cached_blocks_never_leak_between_visitors_or_contexts(make_client: Callable[..., TestClient]) -> None:
    data = minimal_config()
    data["slots"]["who"] = {"default": {"type": "welcome", "message": "Hi {{ visitor.id }}"}}
    data["slots"]["when"] = {
        "default": {"type": "welcome", "message": "Good {{ context.daypart }} from {{ context.device }}"}
    }
    client = make_client(data)
    pk = {"X-Slotwise-Key": "pk_shop"}

    def html(slot: str, vid: str, ua: str) -> str:
        r = client.post(
            "/v1/render", json={"site": "shop", "slots": [slot], "visitor_id": vid}, headers={**pk, "User-Agent": ua}
        )
        return str(r.json()["blocks"][slot]["html"])

    assert "Hi alice" in html("who", "alice", DESKTOP_UA) and "Hi bob" in html("who", "bob", DESKTOP_UA)
    assert "from desktop" in html("when", "a", DESKTOP_UA) and "from mobile" in html("when", "b", IPHONE_UA)
    assert "from desktop" in html("when", "c", DESKTOP_UA)


def test_metrics_count_requests_by_route_template_never_by_raw_path(demo_client: TestClient) -> None:
    render(demo_client, ["welcome"])
    demo_client.post("/v1/render", json={"site": "demo", "slots": ["welcome"]})  # no key: 401
    demo_client.get("/v1/slots/welcome/fragment?site=demo&key=pk_demo")
    demo_client.get("/v1/slots/secret-visitor-123/fragment?site=demo&key=pk_demo")
    demo_client.get("/no/such/path")
    text = demo_client.get("/metrics").text
    assert 'slotwise_requests_total{route="/v1/render",status="200"} 1.0' in text
    assert 'slotwise_requests_total{route="/v1/render",status="401"} 1.0' in text
    assert 'slotwise_requests_total{route="/v1/slots/{slot}/fragment",status="200"} 1.0' in text
    assert 'slotwise_requests_total{route="/v1/slots/{slot}/fragment",status="404"} 1.0' in text
    assert 'slotwise_requests_total{route="other",status="404"} 1.0' in text
    assert "secret-visitor-123" not in text


def test_an_unknown_slot_beside_known_ones_is_reported_not_fatal(demo_client: TestClient) -> None:
    r = render(demo_client, ["welcome", "removed-slot", "offer"])
    assert r.status_code == 200
    data = r.json()
    assert set(data["blocks"]) == {"welcome", "offer"}
    assert data["errors"] == {"removed-slot": {"code": "unknown_slot", "message": "unknown slot 'removed-slot'"}}


def test_a_non_ascii_visitor_token_or_key_is_refused_not_a_500(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    """Hardening 5: `hmac.compare_digest` on non-ASCII str raised TypeError (500, no key needed)."""
    c = make_client(minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "s.db")}))
    r = c.get("/v1/visitors/x", params={"site": "shop", "token": "9999999999.\u00e9"})
    assert r.status_code == 403, r.text
    r = c.get("/v1/visitors/x", params={"site": "shop"}, headers={"X-Slotwise-Key": "cl\u00e9".encode()})
    assert r.status_code == 403, r.text
