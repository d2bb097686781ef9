# SPDX-License-Identifier: Apache-2.0
"""The conformance kit (catalog connectors) and the protocol harness (CMS plugins)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from slotwise.connectors import conformance
from slotwise.connectors.base import Connector, Cursor, Item
from slotwise.connectors.example import ExampleConnector
from slotwise.connectors.example.connector import map_entry
from slotwise.connectors.protocol_harness import StubGateway, check_page
from tests.conftest import ROOT, need_tool

STUB_PORT, PAGE_PORT, BAD_PAGE_PORT = 18750, 18751, 18752


@pytest.mark.parametrize("name", ["wordpress", "woocommerce", "drupal", "files"])
def test_builtin_connectors_pass_the_kit(name: str) -> None:
    report = conformance.run_kit(name)
    assert report.ok, conformance.format_report(report)
    assert len(report.checks) == 12 and all(c.ok for c in report.checks)


def test_the_worked_example_passes_the_kit() -> None:
    report = conformance.run_kit("example", cls=ExampleConnector)
    assert report.ok, conformance.format_report(report)
    assert map_entry({"id": 1, "attributes": {"title": "T", "slug": "t"}}, "https://s")["url"] == "https://s/articles/t"
    assert map_entry({"id": 1}, "https://s") is None


class Sloppy(Connector):
    """Everything a connector can get wrong: its own HTTP, no retries, KeyErrors, markup."""

    name = "sloppy"
    description = "broken on purpose"

    def fetch(self, cursor: Cursor) -> Iterator[Item]:
        response = self.client.get(self.absolute("/wp-json/wp/v2/posts"), params={"per_page": 100})
        for post in response.json():
            yield {
                "item_id": post["id"],
                "title": post["title"]["rendered"],
                "url": "/relative",
                "text": post["excerpt"]["rendered"],
                "updated_at": "yesterday",
            }

    @classmethod
    def conformance_site(cls, n: int) -> Any:
        from slotwise.connectors.conformance_sites import site_for

        return site_for("wordpress", n)


def test_the_kit_catches_a_sloppy_connector() -> None:
    report = conformance.run_kit("sloppy", cls=Sloppy)
    failed = {c.name: c.detail for c in report.failures()}
    assert not report.ok
    assert "full sync: catalog shape, unique ids, paging" in failed
    assert (
        "relative" in failed["full sync: catalog shape, unique ids, paging"]
        or "markup" in failed["full sync: catalog shape, unique ids, paging"]
    )
    assert "retries a 503" in failed and "honours Retry-After on 429" in failed
    assert "unexpected" in failed["HTML instead of data: ConnectorError"]


def test_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert conformance.main(["conformance", "--connector", "drupal"]) == 0
    out = capsys.readouterr().out
    assert "PASS  full sync" in out and "12 of 12 check(s) passed" in out
    assert conformance.main(["--connector", "slotwise.connectors.example:ExampleConnector"]) == 0
    assert conformance.main(["--connector", "nope"]) == 2
    assert "unknown connector 'nope'" in capsys.readouterr().err
    assert conformance.main(["--connector", "tests.connectors.test_conformance:Sloppy"]) == 1


def test_live_mode_injects_faults_around_a_real_transport() -> None:
    """--url: the kit runs against a real server (here a tiny local one) and skips what needs a fake."""
    body = b'{"item_id": "a", "title": "A"}\n'

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        report = conformance.run_kit("files", url=f"http://127.0.0.1:{server.server_address[1]}/items.jsonl")
    finally:
        server.shutdown()
        server.server_close()
    assert report.ok, conformance.format_report(report)
    skipped = [c.name for c in report.checks if c.ok is None]
    assert skipped == ["incremental sync picks up a change", "empty site: no items, no error"]


# -- protocol harness -----------------------------------------------------------------------------


def php_page(stub: StubGateway, mode: str) -> subprocess.Popen[bytes]:
    php = need_tool("php")
    env = {**os.environ, "SLOTWISE_GATEWAY": stub.url, "SLOTWISE_MODE": mode}
    proc = subprocess.Popen(
        [php, "-S", f"127.0.0.1:{PAGE_PORT}", str(ROOT / "tests/drupal/stub_page.php")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{PAGE_PORT}/ready", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.terminate()
    pytest.fail("php -S did not start")


@pytest.fixture(scope="module")
def stub() -> Iterator[StubGateway]:
    with StubGateway(STUB_PORT) as gateway:
        yield gateway


@pytest.mark.parametrize("mode", ["server", "client", "auto"])
def test_drupal_module_pages_pass_the_protocol_harness(stub: StubGateway, mode: str) -> None:
    proc = php_page(stub, mode)
    try:
        report = check_page(
            f"http://127.0.0.1:{PAGE_PORT}/shop",
            stub,
            fallback="Fallback hero",
            slots=["hero", "recs"],
            secrets=("sk_never_printed",),
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert report.ok, conformance.format_report(report)
    names = [c.name for c in report.checks]
    if mode == "server":
        assert "one render call per page" in names and len(names) == 14
    else:  # auto: an anonymous visitor on a site with the Internal Page Cache
        assert "client mode: the gateway's client.js" in names


def test_the_harness_catches_a_naive_plugin(stub: StubGateway) -> None:
    """A page that asks per slot, with no time budget and no fallback on errors."""

    class NaivePage(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            html = ""
            for slot in ("hero", "recs"):
                try:
                    r = httpx.post(
                        f"{stub.url}/v1/render",
                        json={"site": stub.site, "slots": [slot]},
                        headers={"X-Slotwise-Key": stub.key},
                        timeout=30,
                    )
                    html += r.json()["blocks"][slot]["html"]
                except Exception:
                    html += "oops"
            body = html.encode()
            self.send_response(200)
            self.send_header("Cache-Control", "public, max-age=600")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", BAD_PAGE_PORT), NaivePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stub.slow_seconds = 2.5
    try:
        report = check_page(f"http://127.0.0.1:{BAD_PAGE_PORT}/", stub, fallback="Our picks", slack_seconds=1.0)
    finally:
        stub.slow_seconds = 3.0
        server.shutdown()
        server.server_close()
    failed = {c.name for c in report.failures()}
    assert {
        "one render call per page",
        "visitor context and headers passed on",
        "personalized page is not publicly cacheable",
        "fallback when the gateway errs (HTTP 500)",
        "fallback when the gateway is slower than the 150 ms budget",
    } <= failed
