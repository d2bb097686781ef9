# SPDX-License-Identifier: Apache-2.0
"""deploy/varnish/slotwise.vcl behind a real varnishd (Debian's 7.1): the shell cached once,
fragments per visitor, fallbacks when fragments fail, under a concurrent load of visitors."""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from slotwise.gateway.edge.sample import sample_app
from tests.conftest import ROOT, free_port, need_tool, running_gateway
from tests.gateway.conftest import DESKTOP_UA, IPHONE_UA
from tests.gateway.edge.conftest import serve

VCL = ROOT / "deploy" / "varnish" / "slotwise.vcl"
GATEWAY_CONFIG: dict[str, Any] = {
    "sites": {"shop": {"publishable_key": "pk_shop", "secret_key": "sk_shop", "timezone": "Europe/Berlin"}},
    "segments": {"mobile": "device.class == 'mobile'", "viewer": "events.item_view.total >= 1"},
    "slots": {
        "hero": {
            "variants": [
                {
                    "id": "viewer",
                    "when": "viewer",
                    "block": {"type": "html", "html": "<p>hero:viewer:{{ visitor.id }}</p>"},
                },
                {"id": "m", "when": "mobile", "block": {"type": "html", "html": "<p>hero:m:{{ visitor.id }}</p>"}},
            ],
            "default": {"type": "html", "html": "<p>hero:default:{{ visitor.id }}</p>"},
        },
        "recs": {"default": {"type": "html", "html": "<p>recs:{{ context.device }}:{{ visitor.id }}</p>"}},
    },
}
BLOCK = re.compile(r"<p>(hero|recs):([a-z]+):([A-Za-z0-9_.:-]*)</p>")


@contextlib.contextmanager
def varnish(cms: str, gateway: str) -> Iterator[tuple[str, Path]]:
    varnishd = need_tool("varnishd")
    with tempfile.TemporaryDirectory(prefix="slotwise-varnish-") as tmp:
        work = Path(tmp)
        (work / "slotwise-backends.vcl").write_text(
            "".join(
                f'backend {name} {{ .host = "127.0.0.1"; .port = "{url.rsplit(":", 1)[1]}"; '
                ".connect_timeout = 0.3s; .first_byte_timeout = 1s; .between_bytes_timeout = 1s; }\n"
                for name, url in (("cms", cms), ("gateway", gateway))
            )
        )
        port = free_port()
        log = (work / "varnishd.log").open("wb")
        args = ["-F", "-j", "none", "-n", str(work / "n"), "-a", f"127.0.0.1:{port}", "-f", str(VCL), "-T", "none"]
        args += ["-p", f"vcl_path={work}:{VCL.parent}", "-p", "feature=+esi_include_onerror", "-s", "malloc,64m"]
        proc = subprocess.Popen(
            [varnishd, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(base + "/healthz", timeout=1)
                    break
                if proc.poll() is not None:
                    pytest.fail(f"varnishd exited: {(work / 'varnishd.log').read_text()}")
                time.sleep(0.1)
            yield base, work / "n"
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            log.close()


def counters(workdir: Path) -> dict[str, int]:
    out = subprocess.run(
        [need_tool("varnishstat"), "-n", str(workdir), "-1"], capture_output=True, text=True, check=True
    ).stdout
    return {
        parts[0]: int(parts[1]) for line in out.splitlines() if len(parts := line.split()) > 1 and parts[1].isdigit()
    }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("varnish-gateway")
    config = dict(GATEWAY_CONFIG, store={"backend": "sqlite", "path": str(tmp / "events.db")})
    (tmp / "slotwise.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with running_gateway(["serve", "--config", str(tmp / "slotwise.yaml")], free_port(), tmp / "gw.log") as url:
        yield url


@pytest.fixture(scope="module")
def cms() -> Iterator[tuple[str, Any]]:
    app = sample_app("shop", "pk_shop", size_kb=8)
    with serve(app) as url:
        yield url, app


def give_profile(gateway: str, visitor: str) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    event = {"event_id": f"ev-{visitor}", "visitor_id": visitor, "type": "item_view", "ts": now, "item_id": "sku-1"}
    r = httpx.post(
        gateway + "/v1/events",
        json={"site": "shop", "events": [event]},
        headers={"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA},
    )
    assert r.status_code == 200 and r.json()["accepted"] == [f"ev-{visitor}"], r.text


def expected_hero(visitor: int) -> str:
    # Visitors with a profile (every third) see "viewer", unless their consent is only
    # anonymous (every fifth), which loads no profile; then the device decides.
    if visitor % 3 == 0 and visitor % 5 != 4:
        return "viewer"
    return "m" if visitor % 2 else "default"


def test_shell_cached_fragments_per_visitor_under_load(cms: tuple[str, Any], gateway: str) -> None:
    cms_url, _ = cms
    visitors = 60
    for v in range(0, visitors, 3):
        give_profile(gateway, f"visitor-{v}")
    # Profiles are written as the events arrive; wait until the gateway sees the last one.
    deadline = time.monotonic() + 10
    while (
        "hero:viewer"
        not in httpx.get(
            gateway + f"/v1/slots/hero/fragment?site=shop&key=pk_shop&visitor_id=visitor-{visitors - 3}",
            headers={"User-Agent": DESKTOP_UA},
        ).text
    ):
        assert time.monotonic() < deadline, "profiles did not reach the render path"
        time.sleep(0.1)

    with varnish(cms_url, gateway) as (base, workdir):
        before = counters(workdir)

        def page(i: int) -> tuple[int, httpx.Response]:
            v = i % visitors
            cookie = f"slotwise_vid=visitor-{v}" + ("; slotwise_consent=anonymous" if v % 5 == 4 else "")
            headers = {"User-Agent": IPHONE_UA if v % 2 else DESKTOP_UA, "Cookie": cookie, "Accept-Language": "de, en"}
            return v, httpx.get(base + "/esi", headers=headers, timeout=10)

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(page, range(visitors * 5)))
        # Worker threads publish their counters in batches (wthread_stats_rate): wait for them.
        deadline = time.monotonic() + 10
        while True:
            after = counters(workdir)
            seen = sum(after[k] - before.get(k, 0) for k in ("MAIN.cache_hit", "MAIN.cache_miss"))
            if seen >= len(results) or time.monotonic() > deadline:
                break
            time.sleep(0.2)

        wrong = []
        for v, r in results:
            assert r.status_code == 200 and r.text.endswith("</html>\n")
            assert r.headers["cache-control"] == "private, no-cache" and "set-cookie" not in r.headers
            blocks = BLOCK.findall(r.text)
            device = "mobile" if v % 2 else "desktop"
            want = [("hero", expected_hero(v), f"visitor-{v}"), ("recs", device, f"visitor-{v}")]
            if blocks != want:
                wrong.append((v, blocks))
        assert wrong == [], f"{len(wrong)} responses with another visitor's or a wrong block: {wrong[:3]}"
        hits = after["MAIN.cache_hit"] - before.get("MAIN.cache_hit", 0)
        misses = after["MAIN.cache_miss"] - before.get("MAIN.cache_miss", 0)
        print(
            f"varnish shell hit ratio {hits / (hits + misses):.3f} ({hits} hits, {misses} misses, {len(results)} pages)"
        )
        assert misses <= 2 and hits >= len(results) - 2  # the shell was fetched once (or twice if two raced)
        assert after["MAIN.s_pass"] - before.get("MAIN.s_pass", 0) >= 2 * len(results)  # fragments never cached


def test_new_visitor_gets_one_id_for_all_fragments_and_a_cookie(cms: tuple[str, Any], gateway: str) -> None:
    with varnish(cms[0], gateway) as (base, _):
        r = httpx.get(base + "/esi", headers={"User-Agent": DESKTOP_UA})
        ids = {b[2] for b in BLOCK.findall(r.text)}
        assert len(ids) == 1 and "" not in ids
        (vid,) = ids
        assert r.headers["set-cookie"].startswith(f"slotwise_vid={vid};")
        again = httpx.get(base + "/esi", headers={"User-Agent": DESKTOP_UA, "Cookie": f"slotwise_vid={vid}"})
        assert {b[2] for b in BLOCK.findall(again.text)} == {vid} and "set-cookie" not in again.headers
        gpc = httpx.get(base + "/esi", headers={"User-Agent": DESKTOP_UA, "Sec-GPC": "1"})
        assert "set-cookie" not in gpc.headers and len({b[2] for b in BLOCK.findall(gpc.text)}) == 1
        gone = httpx.get(base + "/esi?extra=gone", headers={"User-Agent": DESKTOP_UA, "Cookie": f"slotwise_vid={vid}"})
        assert gone.text.endswith("</html>\n") and "<p>Extra fallback &amp; more</p>" in gone.text
        assert {b[2] for b in BLOCK.findall(gone.text)} == {vid}  # the known slots still render
        none = httpx.get(base + "/esi", headers={"User-Agent": DESKTOP_UA, "Cookie": "slotwise_consent=none"})
        assert {b[2] for b in BLOCK.findall(none.text)} == {"None"} and "set-cookie" not in none.headers


def test_failed_fragments_fall_back_and_the_page_is_whole(cms: tuple[str, Any]) -> None:
    # The gateway backend points at a port where nothing listens.
    with varnish(cms[0], f"http://127.0.0.1:{free_port()}") as (base, _):
        r = httpx.get(base + "/esi", headers={"User-Agent": DESKTOP_UA})
        assert r.status_code == 200 and r.text.endswith("</html>\n")
        assert "<p>Welcome to the shop</p>" in r.text and "<p>Our bestsellers</p>" in r.text
        assert "esi:include" not in r.text and not BLOCK.search(r.text)
