# SPDX-License-Identifier: Apache-2.0
"""A small origin site for trying the proxy and Varnish: one cacheable page shell with Slotwise
placeholders (`/`, `/gz`, `/stream`), the same shell with `<esi:include>` tags (`/esi`), and
the odd cases a proxy must pass through untouched (`/redirect`, `/data.json`, `/plain`,
`/cookie`, `/echo`). `python -m slotwise.gateway.edge.sample --port 8081 --site shop --key pk`.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
from collections import Counter
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from slotwise.gateway.edge.esi import esi_include

SHELL_CACHE = {"Cache-Control": "public, max-age=300", "ETag": '"shell-1"'}


def _filler(size_kb: int) -> str:
    para = "<p>" + "Honest materials, fair prices, and a shop that remembers what you like. " * 6 + "</p>\n"
    return para * max(0, (size_kb * 1024) // len(para))


def page(slots: dict[str, str], size_kb: int = 20, item_id: str | None = None) -> tuple[str, str]:
    """The page's top (up to the first slot) and its rest; `slots` maps names to the markup."""
    item = f' data-slotwise-item-id="{item_id}"' if item_id else ""
    top = (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>Sample shop</title>"
        '<script>window.x = "<div data-slotwise-slot=not-a-tag>";</script></head>\n'
        f"<body{item}><header><h1>Sample shop</h1><nav><a href=/>Home</a></nav></header>\n"
    )
    markup = list(slots.values())
    rest = f"<main>{markup[0] if markup else ''}\n{_filler(size_kb // 2)}"
    rest += "".join(f"<aside>{m}</aside>\n" for m in markup[1:])
    rest += f"{_filler(size_kb - size_kb // 2)}</main>\n<footer>Sample shop &copy; 2025</footer></body></html>\n"
    return top, rest


def placeholder(slot: str, fallback: str) -> str:
    return f'<div class="slotwise-slot" data-slotwise-slot="{slot}">{fallback}</div>'


def sample_app(site: str = "shop", key: str = "pk_shop", size_kb: int = 20) -> Starlette:
    served: Counter[str] = Counter()
    fallbacks = {"hero": "<p>Welcome to the shop</p>", "recs": "<p>Our bestsellers</p>"}

    def shell() -> tuple[str, str]:
        return page({s: placeholder(s, f) for s, f in fallbacks.items()}, size_kb, item_id="sku-1")

    async def index(request: Request) -> Response:
        served["index"] += 1
        top, rest = shell()
        return Response(top + rest, media_type="text/html; charset=utf-8", headers=SHELL_CACHE)

    async def gz(request: Request) -> Response:
        top, rest = shell()
        if "gzip" not in request.headers.get("accept-encoding", ""):
            return Response(top + rest, media_type="text/html; charset=utf-8", headers=SHELL_CACHE)
        body = gzip.compress((top + rest).encode())
        return Response(
            body, media_type="text/html; charset=utf-8", headers={**SHELL_CACHE, "Content-Encoding": "gzip"}
        )

    async def stream(request: Request) -> Response:
        """Chunked: the top at once, the rest after `delay` ms (a CMS still building the page)."""
        delay = float(request.query_params.get("delay", "200")) / 1000
        top, rest = shell()

        async def body() -> AsyncIterator[bytes]:
            yield top.encode()
            await asyncio.sleep(delay)
            half = len(rest) // 2
            yield rest[:half].encode()
            yield rest[half:].encode()

        return StreamingResponse(body(), media_type="text/html; charset=utf-8", headers=SHELL_CACHE)

    async def esi(request: Request) -> Response:
        served["esi"] += 1
        slots = dict(fallbacks)
        if request.query_params.get("extra"):  # a slot the gateway does not know: its fallback shows
            slots[request.query_params["extra"]] = "<p>Extra fallback &amp; more</p>"
        top, rest = page({s: esi_include(s, site, key, f) for s, f in slots.items()}, size_kb, item_id="sku-1")
        return Response(top + rest, media_type="text/html; charset=utf-8", headers=SHELL_CACHE)

    async def plain(request: Request) -> Response:
        top, rest = page({}, size_kb)
        return Response(top + rest, media_type="text/html; charset=utf-8", headers=SHELL_CACHE)

    async def data(request: Request) -> Response:
        body = json.dumps({"html": placeholder("hero", "not a page")}).encode()
        return Response(body, media_type="application/json")

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse({"headers": dict(request.headers), "method": request.method, "body": body.decode()})

    async def cookie(request: Request) -> Response:
        top, rest = shell()
        response = Response(top + rest, media_type="text/html; charset=utf-8")
        response.set_cookie("cms_session", request.query_params.get("v", "x"))
        return response

    async def stats(request: Request) -> Response:
        return JSONResponse(dict(served))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/gz", gz),
            Route("/stream", stream),
            Route("/esi", esi),
            Route("/plain", plain),
            Route("/data.json", data),
            Route("/echo", echo, methods=["GET", "POST", "PUT"]),
            Route("/cookie", cookie),
            Route("/redirect", lambda r: RedirectResponse("/plain?from=redirect", 302)),
            Route("/stats", stats),
            Route("/healthz", healthz),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slotwise.gateway.edge.sample")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--site", default="shop")
    parser.add_argument("--key", default="pk_shop")
    parser.add_argument("--size-kb", type=int, default=20)
    args = parser.parse_args(argv)
    import uvicorn

    app = sample_app(args.site, args.key, args.size_kb)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
