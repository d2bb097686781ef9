# SPDX-License-Identifier: Apache-2.0
"""Conformance kit for catalog connectors: `slotwise conformance --connector NAME [--url URL]`.

Runs a connector through the same checks every connector must pass: the class contract, a
full sync whose items have the catalog shape, a cursor that survives JSON, an incremental sync
that picks up a changed item, retries on 503 / 429 (honouring Retry-After) / timeouts, a clear
ConnectorError (never a KeyError or a JSONDecodeError) on persistent errors, refused
credentials, HTML or truncated bodies, and an empty site.

Without --url the connector runs against a simulated site: its own `conformance_site(n)`
classmethod, or the kit's for the built-ins (connectors/conformance_sites.py). With --url it
runs against the real site, faults injected around the real transport; checks that need to
change the site are skipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from slotwise.connectors import conformance_sites, registry
from slotwise.connectors.base import AuthError, Connector, ConnectorError, Cursor, Item

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
Fault = Callable[[int, httpx.Request, Callable[[], httpx.Response]], httpx.Response]


@dataclass
class Check:
    name: str
    ok: bool | None  # None: skipped
    detail: str = ""


@dataclass
class Report:
    connector: str
    target: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]


class FaultTransport(httpx.BaseTransport):
    """Wraps a transport; `fault(n, request, forward)` answers request number n (from 0)."""

    def __init__(self, inner: httpx.BaseTransport, fault: Fault | None = None) -> None:
        self.inner, self.fault, self.count = inner, fault, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        n, self.count = self.count, self.count + 1

        def forward() -> httpx.Response:
            response = self.inner.handle_request(request)
            response.read()
            return response

        return self.fault(n, request, forward) if self.fault else forward()


def item_problems(item: Item) -> list[str]:
    """What is wrong with one synced item's shape (empty when it is a proper catalog item)."""
    problems = []
    iid = item.get("item_id")
    if not isinstance(iid, str) or not iid:
        problems.append(f"item_id {iid!r} is not a non-empty string")
    if not isinstance(item.get("title"), str) or not item["title"].strip():
        problems.append(f"{iid}: title {item.get('title')!r} is empty")
    for key in ("categories", "tags"):
        if not isinstance(item.get(key), list) or not all(isinstance(v, str) for v in item[key]):
            problems.append(f"{iid}: {key} is not a list of strings")
    if item.get("price") is not None and not isinstance(item["price"], float):
        problems.append(f"{iid}: price {item['price']!r} is not a number")
    for key in ("url", "image"):
        value = item.get(key)
        if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
            problems.append(f"{iid}: {key} {value!r} is not an absolute http(s) URL")
    if item.get("updated_at") is not None and not RFC3339.match(str(item["updated_at"])):
        problems.append(f"{iid}: updated_at {item['updated_at']!r} is not RFC 3339 UTC")
    if isinstance(item.get("text"), str) and "<" in item["text"] and ">" in item["text"]:
        problems.append(f"{iid}: text looks like markup; catalog text is plain")
    try:
        json.dumps(item)
    except (TypeError, ValueError) as exc:
        problems.append(f"{iid}: not JSON-serializable ({exc})")
    return problems


class Kit:
    """One connector, one target (simulated site or real URL), many checks."""

    def __init__(self, name: str, cls: type[Connector], url: str | None, options: dict[str, Any]) -> None:
        self.name, self.cls = name, cls
        factory = getattr(cls, "conformance_site", None)
        self.make_site: Callable[[int], conformance_sites.SimSite | None] = (
            factory if callable(factory) else (lambda n: conformance_sites.site_for(name, n))
        )
        self.site = None if url else self.make_site(4)
        self.url = url or (self.site.url if self.site else None)
        self.options = {**(self.site.options if self.site else {}), **options}
        self.sleeps: list[float] = []

    def transport(self, site: conformance_sites.SimSite | None = None) -> httpx.BaseTransport:
        site = site or self.site
        return httpx.MockTransport(site.handler) if site else httpx.HTTPTransport()

    def sync(
        self,
        fault: Fault | None = None,
        cursor: Cursor | None = None,
        site: conformance_sites.SimSite | None = None,
        page_size: int = 2,
    ) -> tuple[list[Item], Connector]:
        target = site or self.site
        client = httpx.Client(transport=FaultTransport(self.transport(target), fault), timeout=10)
        with client:
            conn = self.cls(
                target.url if target else str(self.url),
                client=client,
                options=self.options,
                retries=2,
                backoff=0.01,
                max_backoff=5.0,
                page_size=page_size,
                sleep=self.sleeps.append,
            )
            with conn:
                return list(conn.sync(cursor)), conn

    def run(self) -> Report:
        report = Report(self.name, "simulated " + str(self.url) if self.site else str(self.url))
        for check in self.checks():
            report.checks.append(check)
        return report

    def checks(self) -> Iterator[Check]:
        yield self.contract()
        try:
            items, conn = self.sync()
        except Exception as exc:
            yield Check("full sync", False, f"{type(exc).__name__}: {exc}")
            return
        ids = [i["item_id"] for i in items]
        problems = [p for i in items for p in item_problems(i)]
        if len(set(ids)) != len(ids):
            problems.append("duplicate item ids")
        if self.site and set(ids) != self.site.expected_ids():
            problems.append(f"ids {sorted(ids)} != site's {sorted(self.site.expected_ids())}")
        if conn.stats.items != len(items):
            problems.append(f"stats.items {conn.stats.items} != {len(items)} items")
        yield Check(
            "full sync: catalog shape, unique ids, paging",
            not problems and bool(items),
            "; ".join(problems[:5]) or f"{len(items)} items, {conn.stats.pages} page(s)",
        )
        yield self.guard("cursor survives JSON", lambda: self.cursor_roundtrip(conn.cursor))
        yield self.guard("incremental sync picks up a change", lambda: self.incremental(conn.cursor))
        expected = set(ids)
        yield self.guard(
            "retries a 503", lambda: self.recovers(expected, lambda n, r, f: httpx.Response(503) if n == 0 else f())
        )
        yield self.guard("honours Retry-After on 429", lambda: self.retry_after(expected))
        yield self.guard("retries a timeout", lambda: self.recovers(expected, _timeout_once))
        yield self.guard(
            "gives up on persistent 503 with a ConnectorError",
            lambda: self.fails(lambda n, r, f: httpx.Response(503, text="down"), ConnectorError, must_name_host=True),
        )
        yield self.guard(
            "401 raises AuthError, not retried",
            lambda: self.fails(lambda n, r, f: httpx.Response(401, json={"message": "no"}), AuthError, max_requests=2),
        )
        yield self.guard(
            "HTML instead of data: ConnectorError",
            lambda: self.fails(
                lambda n, r, f: httpx.Response(
                    200, text="<html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"}
                ),
                ConnectorError,
                lenient=True,
            ),
        )
        yield self.guard("truncated body: ConnectorError", lambda: self.fails(_truncate, ConnectorError, lenient=True))
        yield self.guard("empty site: no items, no error", self.empty)

    def guard(self, name: str, fn: Callable[[], str | None]) -> Check:
        try:
            detail = fn()
        except _Skip as skip:
            return Check(name, None, str(skip))
        except AssertionError as exc:
            return Check(name, False, str(exc))
        except Exception as exc:
            return Check(name, False, f"unexpected {type(exc).__name__}: {exc}")
        return Check(name, True, detail or "")

    def contract(self) -> Check:
        cls = self.cls
        problems = []
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            return Check("class contract", False, f"{cls!r} is not a connectors.base.Connector subclass")
        if cls.name != self.name:
            problems.append(f"name {cls.name!r} differs from the registered name {self.name!r}")
        if not cls.description:
            problems.append("description is empty (slotwise sync --list shows it)")
        if cls.fetch is Connector.fetch:
            problems.append("fetch() is not implemented")
        return Check("class contract", not problems, "; ".join(problems))

    def cursor_roundtrip(self, cursor: Cursor) -> str:
        data = json.loads(json.dumps(cursor.to_dict()))
        assert Cursor.from_dict(data) == cursor, f"cursor changed through JSON: {cursor} -> {data}"
        return f"modified_after={cursor.modified_after}, {len(cursor.etags)} etag(s)"

    def incremental(self, cursor: Cursor) -> str:
        if self.site is None:
            items, _ = self.sync(cursor=cursor)
            raise _Skip(f"live site not changed by the kit; re-sync with cursor gave {len(items)} item(s)")
        site = self.make_site(4)
        assert site is not None
        first, conn = self.sync(site=site)
        changed = site.touch()
        again, _conn2 = self.sync(site=site, cursor=conn.cursor)
        got = {i["item_id"]: i for i in again}
        assert changed in got, f"changed item {changed} missing from the incremental sync ({sorted(got)})"
        assert got[changed]["title"].endswith("(updated)"), "incremental sync returned the old version"
        return f"{len(again)} of {len(first)} item(s) re-read"

    def recovers(self, expected: set[str], fault: Fault) -> str:
        self.sleeps.clear()
        items, conn = self.sync(fault)
        assert {i["item_id"] for i in items} == expected, "different items after a retried request"
        assert conn.stats.retries >= 1, "stats.retries did not count the retry"
        return f"{conn.stats.retries} retry(ies)"

    def retry_after(self, expected: set[str]) -> str:
        def fault(n: int, r: httpx.Request, f: Callable[[], httpx.Response]) -> httpx.Response:
            return httpx.Response(429, headers={"Retry-After": "3"}) if n == 0 else f()

        detail = self.recovers(expected, fault)
        assert 3.0 in self.sleeps, f"waited {self.sleeps} instead of the 3 s Retry-After"
        return detail

    def fails(
        self,
        fault: Fault,
        error: type[Exception],
        *,
        must_name_host: bool = False,
        max_requests: int | None = None,
        lenient: bool = False,
    ) -> str:
        transport_count: list[int] = []

        def counting(n: int, r: httpx.Request, f: Callable[[], httpx.Response]) -> httpx.Response:
            transport_count.append(n)
            return fault(n, r, f)

        try:
            items, conn = self.sync(counting)
        except error as exc:
            host = httpx.URL(str(self.url)).host
            assert not must_name_host or host in str(exc), f"message does not name {host}: {exc}"
            assert max_requests is None or len(transport_count) <= max_requests, (
                f"{len(transport_count)} requests: it was retried"
            )
            return f"{type(exc).__name__}: {str(exc)[:100]}"
        assert lenient and not items, f"no {error.__name__} raised ({len(items)} item(s))"
        return f"no items, {len(conn.stats.warnings)} warning(s)"

    def empty(self) -> str:
        if self.site is None:
            raise _Skip("needs a simulated site")
        site = self.make_site(0)
        assert site is not None
        items, _ = self.sync(site=site)
        assert items == [], f"{len(items)} item(s) from an empty site"
        return "0 items"


class _Skip(Exception):
    pass


def _timeout_once(n: int, request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
    if n == 0:
        raise httpx.ReadTimeout("simulated timeout", request=request)
    return forward()


def _truncate(n: int, request: httpx.Request, forward: Callable[[], httpx.Response]) -> httpx.Response:
    response = forward()
    body = response.content
    cut = max(1, len(body) // 2)
    while cut > 1 and body[cut - 1 : cut] in (b"\n", b"}", b"]", b">"):
        cut -= 1  # cut inside a token, as a dropped connection does
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")}
    return httpx.Response(response.status_code, content=body[:cut], headers=headers)


def run_kit(
    name: str, url: str | None = None, options: dict[str, Any] | None = None, cls: type[Connector] | None = None
) -> Report:
    """Run every check for connector `name` (or `cls`); see the module docstring."""
    if cls is None and ":" in name:  # an unregistered class, e.g. while writing it
        import importlib

        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise LookupError(f"cannot import {name!r}: {exc}") from None
        name = getattr(cls, "name", name) or name
    cls = cls or registry.get(name)
    kit = Kit(name, cls, url, dict(options or {}))
    if kit.url is None:
        return Report(
            name,
            "-",
            [
                Check(
                    "simulated site",
                    False,
                    f"no simulated site for {name!r}: pass --url, or give the class a conformance_site(n) classmethod",
                )
            ],
        )
    return kit.run()


def format_report(report: Report) -> str:
    marks = {True: "PASS", False: "FAIL", None: "SKIP"}
    lines = [f"conformance: {report.connector} against {report.target}"]
    lines += [f"  {marks[c.ok]}  {c.name}" + (f" — {c.detail}" if c.detail else "") for c in report.checks]
    failed = len(report.failures())
    lines.append(
        f"{len(report.checks) - failed} of {len(report.checks)} check(s) passed"
        + ("" if not failed else f", {failed} failed")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "conformance":
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="slotwise conformance", description="Check a catalog connector.")
    parser.add_argument("--connector", required=True, help="registered connector name")
    parser.add_argument("--url", help="run against this real site instead of a simulated one")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    # The kit makes dozens of deliberately failing requests; their INFO lines are noise.
    httpx_log = logging.getLogger("httpx")
    level = httpx_log.level
    httpx_log.setLevel(logging.WARNING)
    try:
        return _main(args)
    finally:
        httpx_log.setLevel(level)


def _main(args: argparse.Namespace) -> int:
    options = {}
    for pair in args.option:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            print(f"error: --option {pair!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        options[key.strip()] = value.strip()
    try:
        report = run_kit(args.connector, args.url, options)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
