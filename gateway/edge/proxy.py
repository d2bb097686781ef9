# SPDX-License-Identifier: Apache-2.0
"""The reverse proxy (ASGI): everything passes through to the upstream untouched, except HTML
pages with Slotwise placeholders, whose blocks are rendered in one in-process call and filled in.

A page is streamed to the visitor up to its first placeholder at once; from there it is read to
the end (one render call needs every slot name), filled and sent. The response head is held
until the first placeholder shows (or the page ends, or `hold_bytes` pass without one, or
`hold_ms` pass after the first byte), because a filled page must not carry the shell's
shared-cache headers: a page still unsure when `hold_ms` runs out is sent as personalized.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import http.cookiejar
import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.types import Receive, Scope, Send

from slotwise.gateway.edge.render import prepare_visit, render_slots
from slotwise.gateway.edge.slots import SlotScanner, fill

log = logging.getLogger("slotwise.edge")

HOP_BY_HOP = frozenset(
    b"connection keep-alive proxy-authenticate proxy-authorization proxy-connection te trailer "
    b"transfer-encoding upgrade host".split()
)
# Dropped from a filled page: its length and validators changed, and these tell shared caches
# (CDNs, Varnish) to keep it whatever Cache-Control says.
FILLED_DROP = frozenset(b"content-length etag last-modified content-md5 surrogate-control cdn-cache-control".split())
SHARED_DIRECTIVES = ("public", "s-maxage", "proxy-revalidate")
FILLABLE_STATUS = frozenset({200, 203, 404, 410})


def private_cache_control(value: str | None) -> str:
    """The upstream's directives minus the shared-cache ones, plus `private`."""
    kept = [d.strip() for d in (value or "").split(",") if d.strip()]
    kept = [d for d in kept if d.split("=", 1)[0].strip().lower() not in SHARED_DIRECTIVES and d.lower() != "private"]
    return ", ".join(["private", *kept])


def _accepts_gzip(value: str) -> bool:
    for part in value.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class _Gzip:
    """Re-encodes the filled page as one gzip stream, flushed at each piece so bytes go out."""

    def __init__(self, enabled: bool):
        self.z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if enabled else None

    def piece(self, data: bytes) -> bytes:
        return self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH) if self.z else data

    def last(self) -> bytes:
        return self.z.flush() if self.z else b""


class EdgeProxy:
    def __init__(
        self,
        upstream: str,
        gateway: Any,
        site: str,
        *,
        budget_ms: float = 150.0,
        hold_bytes: int = 256 * 1024,
        hold_ms: float = 30.0,
        max_page_bytes: int = 8 * 1024 * 1024,
        timeout: float = 30.0,
    ):
        self.upstream = upstream.rstrip("/")
        self.upstream_host = urlsplit(self.upstream).netloc
        self.gateway = gateway  # the gateway app: its state has runtime, services, metrics
        self.site = site
        self.budget = budget_ms / 1000.0
        self.hold_bytes = hold_bytes
        self.hold = hold_ms / 1000.0
        self.max_page_bytes = max_page_bytes
        self.timeout = timeout
        self.client: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        # A cookie jar that stores nothing: a shared client must never carry one visitor's
        # upstream cookies into another visitor's request.
        jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        return httpx.AsyncClient(
            follow_redirects=False,
            cookies=jar,
            trust_env=False,
            timeout=httpx.Timeout(self.timeout, connect=5.0),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=64),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(self.gateway.router.lifespan_context(self.gateway))
                self.client = await stack.enter_async_context(self._client())
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        except Exception as exc:
            log.exception("edge proxy startup failed")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})

    # --- request ----------------------------------------------------------------------------

    def _upstream_request(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> httpx.Request:
        out = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP and k.lower() != b"accept-encoding"]
        out.append((b"host", self.upstream_host.encode()))
        # Only encodings the proxy can decode to fill a page: gzip when the visitor takes it.
        out.append((b"accept-encoding", b"gzip" if _accepts_gzip(headers.get("accept-encoding", "")) else b"identity"))
        peer = scope["client"][0] if scope.get("client") else None
        if peer:
            prior = headers.get("x-forwarded-for")
            out = [(k, v) for k, v in out if k.lower() != b"x-forwarded-for"]
            out.append((b"x-forwarded-for", f"{prior}, {peer}".encode() if prior else peer.encode()))
        if "host" in headers:
            out.append((b"x-forwarded-host", headers["host"].encode("latin-1")))
        out.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        has_body = "content-length" in headers or "transfer-encoding" in headers

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                yield message.get("body", b"")
                if not message.get("more_body"):
                    return

        assert self.client is not None, "the proxy's lifespan has not run"
        return self.client.build_request(
            scope["method"], self.upstream + target.decode("latin-1"), headers=out, content=body() if has_body else None
        )

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            name = k.decode("latin-1").lower()
            headers[name] = f"{headers[name]}, {v.decode('latin-1')}" if name in headers else v.decode("latin-1")
        assert self.client is not None, "the proxy's lifespan has not run"
        try:
            response = await self.client.send(self._upstream_request(scope, receive, headers), stream=True)
        except httpx.HTTPError as exc:
            log.warning("upstream %s failed: %s", self.upstream, type(exc).__name__)
            await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"bad gateway\n"})
            return
        try:
            if self._fillable(scope, response):
                await self._fill(scope, headers, response, send)
            else:
                await self._pass(scope, response, send)
        finally:
            await response.aclose()

    def _fillable(self, scope: Scope, response: httpx.Response) -> bool:
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if scope["method"] != "GET" or response.status_code not in FILLABLE_STATUS:
            return False
        if ctype not in ("text/html", "application/xhtml+xml") or encoding not in ("identity", "gzip", "x-gzip"):
            return False
        try:
            codecs.lookup(response.charset_encoding or "utf-8")
        except LookupError:
            return False
        return self.site in self.gateway.state.runtime.config.sites

    # --- response ---------------------------------------------------------------------------

    @staticmethod
    def _head(response: httpx.Response, drop: frozenset[bytes] = frozenset()) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP and k.lower() not in drop]

    async def _pass(self, scope: Scope, response: httpx.Response, send: Send) -> None:
        await send({"type": "http.response.start", "status": response.status_code, "headers": self._head(response)})
        if scope["method"] != "HEAD":
            async for chunk in response.aiter_raw():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _fill(self, scope: Scope, headers: dict[str, str], response: httpx.Response, send: Send) -> None:
        charset = response.charset_encoding or "utf-8"
        gzipped = response.headers.get("content-encoding", "identity").strip().lower() != "identity"
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
        decoder = codecs.getincrementaldecoder(charset)(errors="surrogateescape")
        scanner = SlotScanner()
        text, base = "", 0  # the decoded page from offset `base` on, not sent yet

        def decode(chunk: bytes | None) -> str:
            if chunk is None:
                return decoder.decode(inflate.flush() if inflate else b"", final=True)
            return decoder.decode(inflate.decompress(chunk) if inflate else chunk)

        # 1. Hold the head until a placeholder shows, the page ends, `hold_bytes` pass (then it
        # is not personalized) or `hold` seconds pass after the first byte (then it may be).
        raw: list[bytes] = []
        held = 0
        chunks = response.aiter_raw()
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        pending: asyncio.Future[bytes | None] | None = None
        ended = False
        while scanner.first_start is None:
            pending = asyncio.ensure_future(anext(chunks, None))
            done, _ = await asyncio.wait({pending}, timeout=None if deadline is None else deadline - loop.time())
            if not done:
                break  # slow upstream: the head goes out as personalized; `pending` is read below
            chunk, pending = pending.result(), None
            part = decode(chunk)
            text += part
            scanner.feed(part)
            if chunk is None:
                scanner.close()
                ended = True
                break
            raw.append(chunk)
            held += len(chunk)
            deadline = deadline or loop.time() + self.hold
            if held > self.hold_bytes and scanner.first_start is None:
                await self._pass_rest(response, raw, chunks, send)
                return
        if ended and scanner.first_start is None:
            await send({"type": "http.response.start", "status": response.status_code, "headers": self._head(response)})
            await send({"type": "http.response.body", "body": b"".join(raw)})
            return

        # 2. This response is personalized: private, no validators, the visitor cookie.
        secure = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"
        url = f"{'https' if secure else 'http'}://{headers.get('host', self.upstream_host)}{scope.get('path', '/')}"
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        state = self.gateway.state
        peer = scope["client"][0] if scope.get("client") else None
        visit = prepare_visit(state.runtime, self.site, headers, peer, url, secure)
        head = self._head(response, FILLED_DROP | {b"cache-control"})
        head.append((b"cache-control", private_cache_control(response.headers.get("cache-control")).encode()))
        if visit.set_cookie:
            head.append((b"set-cookie", visit.set_cookie.encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": head})
        out = _Gzip(gzipped)

        async def emit(upto: int) -> None:
            nonlocal text, base
            piece, text, base = text[: upto - base], text[upto - base :], upto
            if piece:
                body = out.piece(piece.encode(charset, "surrogateescape"))
                await send({"type": "http.response.body", "body": body, "more_body": True})

        # 3. Stream on up to the first placeholder, then read to the end (one render call needs
        # every name on the page).
        await emit(scanner.first_start if scanner.first_start is not None else scanner.consumed)
        too_big = False
        while not ended:
            if pending is not None:
                chunk, pending = await pending, None
            else:
                chunk = await anext(chunks, None)
            part = decode(chunk)
            text += part
            if not too_big:
                scanner.feed(part)
                too_big = len(text) > self.max_page_bytes
            if chunk is None:
                ended = True
                if not too_big:
                    scanner.close()
            elif scanner.first_start is None:
                await emit(scanner.consumed)
        names = scanner.slot_names()
        blocks: dict[str, dict[str, Any]] = {}
        if names and not too_big:  # over the size limit the fallbacks stay
            blocks = await render_slots(state, self.site, visit, names, scanner.item_id, self.budget)
        for block in blocks.values():
            block["html"] = block["html"].encode(charset, "xmlcharrefreplace").decode(charset)
        filled, _count = fill(text, base, scanner.placeholders, blocks)
        text = filled
        await emit(base + len(filled))
        await send({"type": "http.response.body", "body": out.last()})

    async def _pass_rest(
        self, response: httpx.Response, raw: list[bytes], chunks: AsyncIterator[bytes], send: Send
    ) -> None:
        """No placeholder near the top: the page goes out exactly as the upstream sent it."""
        await send({"type": "http.response.start", "status": response.status_code, "headers": self._head(response)})
        await send({"type": "http.response.body", "body": b"".join(raw), "more_body": True})
        async for piece in chunks:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
