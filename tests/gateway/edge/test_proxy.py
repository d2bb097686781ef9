# SPDX-License-Identifier: Apache-2.0
"""`slotwise proxy` against a real origin over real HTTP: filling, cookies, cache headers,
gzip, streaming, and everything that must pass through untouched."""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from slotwise.gateway.edge.proxy import EdgeProxy, private_cache_control
from slotwise.gateway.edge.sample import placeholder
from slotwise.gateway.recommend.strategies import STRATEGIES, register_strategy
from tests.conftest import ROOT, free_port
from tests.gateway.conftest import DESKTOP_UA, IPHONE_UA
from tests.gateway.edge.conftest import EDGE_CONFIG, render_calls, upstream

StartProxy = Callable[..., tuple[str, EdgeProxy]]
HERO = placeholder("hero", "<p>Welcome to the shop</p>")
RECS = placeholder("recs", "<p>Our bestsellers</p>")


def vid_cookie(response: httpx.Response) -> str | None:
    for value in response.headers.get_list("set-cookie"):
        if value.startswith("slotwise_vid="):
            return value.split(";")[0].split("=", 1)[1]
    return None


def test_fills_every_placeholder_with_one_render_call(origin: str, start_proxy: StartProxy) -> None:
    url, proxy = start_proxy(origin)
    shell = upstream(origin, "/").text
    r = httpx.get(url + "/", headers={"User-Agent": DESKTOP_UA})
    assert r.status_code == 200
    assert render_calls(proxy) == 1
    body = r.text
    vid = vid_cookie(r)
    assert vid and f"<p>Desktop hero for {vid}</p>" in body
    assert 'data-slotwise-rendered="recs" data-slotwise-state="ready"' in body and "Picked for you" in body
    assert HERO not in body and RECS not in body
    # Outside the placeholders every byte is the upstream's, the decoy inside <script> included.
    assert body[: body.index('<div class="slotwise-slot"')] == shell[: shell.index(HERO)]
    assert 'window.x = "<div data-slotwise-slot=not-a-tag>";' in body
    assert body[body.rindex("</aside>") :] == shell[shell.index(RECS) + len(RECS) :]

    mobile = httpx.get(url + "/", headers={"User-Agent": IPHONE_UA})
    assert "<p>Mobile hero for " in mobile.text and 'data-slotwise-variant="m"' in mobile.text
    assert render_calls(proxy) == 2


def test_visitor_cookie_is_set_once_and_then_read(origin: str, start_proxy: StartProxy) -> None:
    url, _ = start_proxy(origin)
    first = httpx.get(url + "/", headers={"User-Agent": DESKTOP_UA})
    vid = vid_cookie(first)
    assert vid is not None
    assert "Path=/" in first.headers["set-cookie"] and "SameSite=Lax" in first.headers["set-cookie"]
    again = httpx.get(url + "/", headers={"User-Agent": DESKTOP_UA, "Cookie": f"slotwise_vid={vid}"})
    assert vid_cookie(again) is None
    assert f"Desktop hero for {vid}" in again.text
    other = httpx.get(url + "/", headers={"User-Agent": DESKTOP_UA, "Cookie": "slotwise_vid=bad id!"})
    assert vid_cookie(other) not in (None, vid)


def test_consent_and_gpc(origin: str, start_proxy: StartProxy) -> None:
    url, _ = start_proxy(origin)
    gpc = httpx.get(url + "/", headers={"User-Agent": DESKTOP_UA, "Sec-GPC": "1"})
    assert "set-cookie" not in gpc.headers
    assert "Desktop hero for" in gpc.text  # still filled, from context only
    none = httpx.get(
        url + "/", headers={"User-Agent": DESKTOP_UA, "Cookie": "slotwise_consent=none; slotwise_vid=old-visitor"}
    )
    assert "Desktop hero for None" in none.text and "old-visitor" not in none.text
    assert none.headers["set-cookie"].startswith("slotwise_vid=; Max-Age=0")


def test_cache_headers_shell_kept_personalized_private(origin: str, start_proxy: StartProxy) -> None:
    url, _ = start_proxy(origin)
    filled = httpx.get(url + "/", headers={"User-Agent": DESKTOP_UA})
    assert filled.headers["cache-control"] == "private, max-age=300"
    assert "etag" not in filled.headers and "content-length" not in filled.headers
    assert filled.headers.get("transfer-encoding") == "chunked"
    plain_up = upstream(origin, "/plain")
    plain = httpx.get(url + "/plain", headers={"User-Agent": DESKTOP_UA})
    assert plain.content == plain_up.content
    for name in ("cache-control", "etag", "content-length", "content-type"):
        assert plain.headers[name] == plain_up.headers[name]
    assert "set-cookie" not in plain.headers


def test_private_cache_control() -> None:
    assert private_cache_control("public, max-age=300, s-maxage=600") == "private, max-age=300"
    assert private_cache_control(None) == "private"
    assert private_cache_control("no-store, private") == "private, no-store"


def test_gzip_is_decoded_filled_and_encoded_again(origin: str, start_proxy: StartProxy) -> None:
    url, _ = start_proxy(origin)
    with httpx.stream("GET", url + "/gz", headers={"User-Agent": DESKTOP_UA, "Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
    text = gzip.decompress(raw).decode()
    assert "Desktop hero for" in text and text.endswith("</html>\n")
    identity = httpx.get(url + "/gz", headers={"User-Agent": DESKTOP_UA, "Accept-Encoding": "identity"})
    assert "content-encoding" not in identity.headers and "Desktop hero for" in identity.text


def test_the_top_streams_before_the_rest_exists(origin: str, start_proxy: StartProxy) -> None:
    url, _ = start_proxy(origin)
    with httpx.stream("GET", url + "/stream?delay=400", headers={"User-Agent": DESKTOP_UA}) as r:
        chunks = [c for c in r.iter_raw() if c]
    # The origin sends its top at once and the rest 400 ms later: the top reaching the visitor
    # in a chunk of its own shows the proxy passed it on without waiting for the whole page.
    assert chunks[0].decode().startswith("<!doctype html>") and chunks[0].endswith(b"</header>\n")
    assert r.headers["cache-control"] == "private, max-age=300"  # head sent before any placeholder
    assert b"Desktop hero for" in b"".join(chunks)


def test_head_redirects_and_non_html_pass_untouched(origin: str, start_proxy: StartProxy) -> None:
    url, proxy = start_proxy(origin)
    head = httpx.head(url + "/", headers={"User-Agent": DESKTOP_UA})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["cache-control"] == "public, max-age=300" and "set-cookie" not in head.headers
    redirect = httpx.get(url + "/redirect", headers={"User-Agent": DESKTOP_UA})
    assert redirect.status_code == 302 and redirect.headers["location"] == "/plain?from=redirect"
    data = httpx.get(url + "/data.json", headers={"User-Agent": DESKTOP_UA})
    assert data.content == upstream(origin, "/data.json").content
    assert json.loads(data.content)["html"] == placeholder("hero", "not a page")
    assert render_calls(proxy) == 0


def test_request_is_forwarded_and_cookies_never_shared(origin: str, start_proxy: StartProxy) -> None:
    url, _ = start_proxy(origin)
    seen = httpx.post(url + "/echo?q=1", content=b"hello", headers={"Host": "shop.example", "X-Test": "yes"}).json()
    assert seen["method"] == "POST" and seen["body"] == "hello"
    headers = seen["headers"]
    assert headers["host"] == origin.removeprefix("http://")
    assert headers["x-forwarded-host"] == "shop.example" and headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-test"] == "yes"
    alice = httpx.get(url + "/cookie?v=alice", headers={"User-Agent": DESKTOP_UA})
    assert "cms_session=alice" in alice.headers["set-cookie"]
    bob = httpx.get(url + "/echo").json()
    assert "cookie" not in bob["headers"]


def test_upstream_down_is_a_502(start_proxy: StartProxy) -> None:
    url, _ = start_proxy(f"http://127.0.0.1:{free_port()}")
    assert httpx.get(url + "/").status_code == 502


@pytest.fixture
def slow_strategy() -> Iterator[str]:
    async def slow(env: Any, block: Any, count: int) -> list[str]:
        await asyncio.sleep(1.0)
        return []

    register_strategy("edge_test_slow", slow)
    yield "edge_test_slow"
    STRATEGIES.pop("edge_test_slow", None)


def test_budget_spent_keeps_the_page_fallback(
    origin: str, start_proxy: StartProxy, slow_strategy: str, tmp_path: Path
) -> None:
    (tmp_path / "items.jsonl").write_text(json.dumps({"id": "sku-1", "title": "Coat", "url": "/coat"}) + "\n")
    config = copy.deepcopy(EDGE_CONFIG)
    config["catalog"] = {"path": str(tmp_path / "items.jsonl")}
    config["gateway"] = {"slot_budget_ms": 5000}
    config["slots"]["recs"] = {"default": {"type": "recommendations", "strategy": slow_strategy, "count": 2}}
    url, _ = start_proxy(origin, config, budget_ms=100)
    r = httpx.get(url + "/", headers={"User-Agent": DESKTOP_UA})
    assert r.status_code == 200
    assert HERO in r.text and RECS in r.text  # both fallbacks, untouched
    assert r.text.endswith("</html>\n")


def test_gzip_reencoding_roundtrip_of_a_long_page(origin: str, start_proxy: StartProxy) -> None:
    """Many small gzip members flushed in pieces still form one valid stream."""
    url, _ = start_proxy(origin)
    with httpx.stream("GET", url + "/gz", headers={"User-Agent": IPHONE_UA, "Accept-Encoding": "gzip, br"}) as r:
        raw = b"".join(r.iter_raw())
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    text = inflate.decompress(raw).decode()
    assert inflate.eof and "Mobile hero for" in text


def test_cli_proxy_command(origin: str, tmp_path: Path) -> None:
    config = tmp_path / "slotwise.yaml"
    config.write_text(yaml.safe_dump(EDGE_CONFIG), encoding="utf-8")
    port = free_port()
    log = (tmp_path / "proxy.log").open("wb")
    args = ["proxy", "--upstream", origin, "--config", str(config), "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "slotwise.gateway.cli", *args],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", headers={"User-Agent": DESKTOP_UA}, timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, (tmp_path / "proxy.log").read_text()
                time.sleep(0.1)
        else:
            pytest.fail("slotwise proxy did not start")
        assert "Desktop hero for" in r.text
        assert len(r.headers.get_list("date")) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
