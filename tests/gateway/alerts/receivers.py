# SPDX-License-Identifier: Apache-2.0
"""Real local receivers for alert tests: an HTTP server recording webhook POSTs, an SMTP server."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import free_port


@dataclass
class Hook:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200

    def states(self) -> list[tuple[str, str]]:
        return [(b["alert"]["name"], b["alert"]["state"]) for b in self.bodies]


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Hook]:
    port = free_port()
    hook = Hook(f"http://127.0.0.1:{port}/hooks/T000/B000/secret")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.bodies.append(json.loads(body))
            self.send_response(hook.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    port: int
    messages: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            message = message_from_bytes(envelope.original_content)
            box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
