# SPDX-License-Identifier: Apache-2.0
"""Baseline for bench/render_bench.py: a bare Starlette app that reads a JSON body and answers small JSON.

`python -m bench.bare_app PORT` serves it under the gateway's own uvicorn protocol (`slotwise
serve`'s, `http/server.py`); the bench runs it under stock uvicorn too."""

from __future__ import annotations

import json
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def render(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    return JSONResponse({"ok": True, "slots": len(body.get("slots", []))})


app = Starlette(routes=[Route("/v1/render", render, methods=["POST"])])


if __name__ == "__main__":
    from slotwise.gateway.http.server import Listen, serve

    serve(app, Listen("127.0.0.1", int(sys.argv[1]), log_level="warning"))
