# SPDX-License-Identifier: Apache-2.0
"""The responses written in one turn of the event loop, sent together at the start of the next.

uvicorn writes a response's status line and headers when the app starts it and its body when
the app sends it, each at once: two system calls, and a gateway killed between them (a replica
lost under load) left nginx with headers and no body, too late to retry elsewhere. Here a
connection's writes are held (`HeldTransport`) and the loop's next turn sends each connection's
bytes in one write, every connection's one after another (`TurnWrites`, as Redis sends its
replies before it waits for more). Sending the turn's responses back to back wakes the client
(nginx, a load generator) once for all of them instead of once a response: on a 2-core VM,
waking the other core from idle was half the kernel's time per render, and the render's
throughput rose by 25 to 100 % a round (docs/performance.md). A turn is the loop's ready
callbacks, so a response waits at most for the renders that were already ready beside it.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

MAX_HELD = 64 * 1024  # past this a connection's held bytes leave at once (a large or streamed body)


class TurnWrites:
    """A loop's connections with bytes held in this turn; one callback sends them all."""

    __slots__ = ("_held", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # weak: the registry below keys on the loop
        self._held: list[HeldTransport] = []

    def hold(self, out: HeldTransport) -> None:
        if not self._held:
            loop = self._loop()
            if loop is not None:
                loop.call_soon(self.send)
        self._held.append(out)

    def send(self) -> None:
        held, self._held = self._held, []
        for out in held:
            out.flush()


_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnWrites] = weakref.WeakKeyDictionary()


def turn_writes(loop: asyncio.AbstractEventLoop) -> TurnWrites:
    """The loop's `TurnWrites` (one per loop: every connection of a loop shares its turns)."""
    turns = _TURNS.get(loop)
    if turns is None:
        turns = _TURNS[loop] = TurnWrites(loop)
    return turns


class HeldTransport:
    """A connection's transport whose writes wait for the loop's next turn and leave as one."""

    __slots__ = ("_held", "_size", "_transport", "_turns")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._turns = turn_writes(loop)
        self._held: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = [bytes(data)]
            self._size = len(data)
            self._turns.hold(self)
        else:
            self._held.append(bytes(data))
            self._size += len(data)
        if self._size > MAX_HELD:
            self.flush()

    def flush(self) -> None:
        """Send what is held (the turn's callback finds nothing left if a close or a large body sent it)."""
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:  # asked on every response: not through __getattr__'s slow path
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, pause_reading, set_protocol, ...
        return getattr(self._transport, name)
