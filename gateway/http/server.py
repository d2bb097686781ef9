# SPDX-License-Identifier: Apache-2.0
"""Running the app under uvicorn with bounded connections, in one process or several workers.

uvicorn bounds idle keep-alive connections but not the time a client may take to send its
request, nor how many connections it holds open: 5,000 clients sending a byte a second were all
kept, and so was a body trickled a byte at a time. Nor, with httptools, the size of the headers:
a 2 MB header was read and served. The protocol here closes a connection whose request (headers
and body) is not complete `header_timeout` seconds after it opened (or after its previous
response), answers 431 to a request line and headers over `MAX_HEADER_BYTES`, and refuses
connections beyond `max_connections`. In production put nginx in front as well
(docs/deployment.md): it buffers slow clients so that the gateway never sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from slotwise.gateway.http.turn_writes import HeldTransport

HEADER_TIMEOUT = 10.0
MAX_CONNECTIONS = 2048
MAX_HEADER_BYTES = 64 * 1024  # request line and headers; nginx's default allows 32 KiB
TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def _base() -> type[Any]:
    if importlib.util.find_spec("httptools") is not None:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    return H11Protocol


def bounded_protocol(header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> type[Any]:
    """The fastest installed uvicorn HTTP protocol, with a request deadline, a bound on header
    bytes and a connection cap.

    A connection only notes when its deadline passes (a float per request); one sweep per event
    loop, every quarter of the timeout (at most a second), closes those past it. A timer per
    request (call_later and cancel) cost about 5 % of a cached render."""
    base = _base()
    period = max(0.05, min(1.0, header_timeout / 4))
    sweeping: set[int] = set()  # ids of the loops with a sweep scheduled

    class Bounded(base):  # type: ignore[misc, valid-type]
        _deadline_at: float | None = None  # set while a request (headers, body) is awaited
        _header_bytes: int | None = 0  # received while its headers are awaited; None once they are in

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()  # cheaper than a 503 for each request of a flood
                return
            self.transport = HeldTransport(transport, self.loop)
            self._deadline_at = self.loop.time() + header_timeout
            if id(self.loop) not in sweeping:
                sweeping.add(id(self.loop))
                self.loop.call_later(period, _sweep, self.loop, self.connections)

        def data_received(self, data: bytes) -> None:
            if self._header_bytes is not None:  # a request's headers are awaited
                size = self._header_bytes + len(data)
                if size > MAX_HEADER_BYTES:  # rare: only then look for where the headers end
                    end = data.find(b"\r\n\r\n")
                    if end < 0 or self._header_bytes + end + 4 > MAX_HEADER_BYTES:
                        self._deadline_at = None
                        self.transport.write(TOO_LARGE)
                        self.transport.close()
                        return
                self._header_bytes = size
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline_at = None
            super().connection_lost(exc)

        # httptools calls these when a request's headers, then its body, are in; h11 goes
        # through handle_events.
        def on_headers_complete(self) -> None:
            self._header_bytes = None
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._deadline_at = None
            super().on_message_complete()

        def handle_events(self) -> None:
            super().handle_events()
            state = self.conn.their_state
            if state is not h11.IDLE:
                self._header_bytes = None
                if state is not h11.SEND_BODY:
                    self._deadline_at = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._deadline_at = self.loop.time() + header_timeout
                self._header_bytes = 0

    def _sweep(loop: asyncio.AbstractEventLoop, connections: set[Any]) -> None:
        now = loop.time()
        for conn in list(connections):
            due = getattr(conn, "_deadline_at", None)
            if due is not None and due <= now:
                conn._deadline_at = None
                if not conn.transport.is_closing():
                    conn.transport.close()
        loop.call_later(period, _sweep, loop, connections)

    Bounded.__name__ = f"Bounded{base.__name__}"
    return Bounded


@dataclass(frozen=True)
class Listen:
    """Where and how a gateway process listens: `slotwise serve`'s options, for one process or many."""

    host: str
    port: int
    log_level: str = "info"
    header_timeout: float = HEADER_TIMEOUT
    max_connections: int = MAX_CONNECTIONS


def _config(app: Any, listen: Listen, **options: Any) -> Any:
    import uvicorn

    # No access log and no proxy-header rewriting: the gateway never logs raw IP addresses and
    # decides itself which forwarding headers to trust. Event loop and parser: uvloop and
    # httptools where installed (`slotwise[fast]`), asyncio and h11 otherwise.
    return uvicorn.Config(
        app,
        host=listen.host,
        port=listen.port,
        log_level=listen.log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        http=bounded_protocol(listen.header_timeout, listen.max_connections),
        timeout_keep_alive=5,
        **options,
    )


GC_THRESHOLD = 20_000


def tune_gc() -> None:
    """A serving process allocates and drops many containers per request (a batch of 100 events
    is about 1,000): with Python's default threshold of 700 allocations, collections took about
    a fifth of the gateway's CPU under event ingestion (docs/performance.md). Collections of the
    youngest generation every 20,000 allocations instead. What is alive once the app has started
    is frozen out of all of them by the lifespan (`serving.runtime.settle_heap`)."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def serve(app: Any, listen: Listen, **options: Any) -> None:
    """Serve `app` in this process; `options` are more of uvicorn's (the edge proxy: date_header)."""
    import uvicorn

    server = uvicorn.Server(_config(app, listen, **options))
    tune_gc()
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT after a clean shutdown, as uvicorn.run
        server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the lifespan or the bind failed


def serve_workers(make_app: Callable[[], Any], workers: int, listen: Listen) -> int:
    """`workers` processes forked after binding one listening socket; the kernel spreads the
    connections. Each builds its own app (caches, counters and store connections are per process).
    TERM, INT and HUP (reload) are passed on to every worker; the exit code is the first failure's."""
    import uvicorn

    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((listen.host, listen.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own event loop, app and lifespan
            code = 0
            try:
                config = _config(make_app(), listen)
                tune_gc()
                uvicorn.Server(config).run(sockets=[sock])
            except KeyboardInterrupt:
                pass  # SIGINT: uvicorn has shut down cleanly
            except BaseException as exc:  # a worker reports and exits, never returns to the parent's code
                print(f"worker {os.getpid()} failed: {exc}", file=sys.stderr)
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    sock.close()

    stopping: set[int] = set()  # signals passed on: a worker they end exited as asked

    def forward(signum: int, frame: Any) -> None:
        if signum != signal.SIGHUP:
            stopping.add(signum)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    status = 0
    for child in children:
        _, raw = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(raw)
        if code < 0 and -code in stopping:
            continue  # uvicorn re-raises the signal it shut down on
        if code and not status:
            status = code if code > 0 else 1
            forward(signal.SIGTERM, None)  # one worker down: stop the others, let a supervisor restart
    return status
