# SPDX-License-Identifier: Apache-2.0
"""The render handler alone, called in process (ASGI, no server, no sockets), against the bare
app: part of `bench/render_bench.py`'s output (`handler_us`)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any


def handler_micros(config: Path, bodies: list[dict], n: int) -> dict[str, Any]:
    """CPU microseconds per request of each app called in process (ASGI, no server, no sockets):
    `render` and `bare` over `n` calls (process CPU time, the store's threads included); then
    `fastest_batch`: the fastest of 30 batches of 200 calls (this thread's CPU time; another
    process taking the core only ever slows a batch down) per kind of request, `hit` (visitors
    without a profile, from the page cache), `profile` (full renders of those with one), `all`
    (the population in order) and `bare`, the kinds alternating batch by batch."""
    from bench.bare_app import app as bare_app
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.http.app import create_app

    render_app = create_app(load_config(config), config)
    raw = [json.dumps(b).encode() for b in bodies]

    async def call(app: Any, body: bytes) -> None:
        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            pass

        headers = [(b"content-type", b"application/json"), (b"x-slotwise-key", b"pk_demo")]
        scope = {
            **{"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http"},
            **{"path": "/v1/render", "raw_path": b"/v1/render", "query_string": b"", "root_path": ""},
            **{"headers": [*headers, (b"content-length", str(len(body)).encode())], "client": ("127.0.0.1", 5000)},
            **{"server": ("127.0.0.1", 80)},
        }
        await app(scope, receive, send)

    async def kinds(store: Any) -> dict[str, list[bytes]]:
        await asyncio.sleep(1.5)  # the served exposures written: the experiment's visitors have profiles
        out: dict[str, list[bytes]] = {"hit": [], "profile": []}
        for person, body in zip(bodies, raw, strict=True):
            profile, attributes = await store.load_for_render(person["site"], person["visitor_id"])
            out["profile" if profile is not None or attributes else "hit"].append(body)
        return {**{k: v for k, v in out.items() if v}, "all": raw}

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with render_app.router.lifespan_context(render_app):
            for name, app in (("render", render_app), ("bare", bare_app)):
                for body in raw:  # warm: every body once (user agents parsed, pages cached)
                    await call(app, body)
                started = time.process_time()  # CPU time: waiting for a core on a busy machine is not counted
                for i in range(n):
                    await call(app, raw[i % len(raw)])
                out[name] = round((time.process_time() - started) / n * 1e6, 1)
            groups = {**(await kinds(render_app.state.services.store)), "bare": raw}
            for body in raw:  # the pages of visitors without a profile kept (a page is kept on its second miss)
                await call(render_app, body)
            fastest = dict.fromkeys(groups, float("inf"))
            for batch in range(30):
                for name, group in groups.items():
                    app = bare_app if name == "bare" else render_app
                    started = time.thread_time()
                    for i in range(200):
                        await call(app, group[(batch * 200 + i) % len(group)])
                    fastest[name] = min(fastest[name], (time.thread_time() - started) / 200 * 1e6)
            out["fastest_batch"] = {name: round(us, 1) for name, us in fastest.items()}
        return out

    return asyncio.run(run())
