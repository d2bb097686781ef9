# SPDX-License-Identifier: Apache-2.0
"""Running the app under uvicorn with bounded connections.

uvicorn bounds idle keep-alive connections but not the time a client may take to send its
request headers, nor how many connections it holds open: 5,000 clients sending a byte a second
were all kept. The protocol here closes a connection whose request headers are not complete
`header_timeout` seconds after it opened (or after its previous response), and refuses
connections beyond `max_connections`. In production put nginx in front as well
(docs/deployment.md): it buffers slow clients so that the gateway never sees them.
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
MAX_CONNECTIONS = 2048


def _base() -> type[Any]:
    if importlib.util.find_spec("httptools") is not None:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    return H11Protocol


def bounded_protocol(header_timeout: float = HEADER_TIMEOUT, max_connections: int = MAX_CONNECTIONS) -> type[Any]:
    """The fastest installed uvicorn HTTP protocol, with a header deadline and a connection cap."""
    base = _base()

    class Bounded(base):  # type: ignore[misc, valid-type]
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()  # cheaper than a 503 for each request of a flood
                return
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._deadline_passed)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _deadline_passed(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        # httptools calls this when a request's headers are in; h11 goes through handle_events.
        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

    Bounded.__name__ = f"Bounded{base.__name__}"
    return Bounded


def serve(
    app: Any,
    host: str,
    port: int,
    log_level: str,
    *,
    header_timeout: float = HEADER_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> None:
    import uvicorn

    # No access log and no proxy-header rewriting: the gateway never logs raw IP addresses and
    # decides itself which forwarding headers to trust.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        http=bounded_protocol(header_timeout, max_connections),
        timeout_keep_alive=5,
    )
