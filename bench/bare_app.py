# SPDX-License-Identifier: Apache-2.0
"""Baseline for bench/render_bench.py: a bare Starlette app that reads a JSON body and answers small JSON."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def render(request: Request) -> JSONResponse:
    body = json.loads(await request.body())
    return JSONResponse({"ok": True, "slots": len(body.get("slots", []))})


app = Starlette(routes=[Route("/v1/render", render, methods=["POST"])])
