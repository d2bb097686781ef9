# SPDX-License-Identifier: Apache-2.0
"""`http.turn_writes`: a response's status line and headers leave with its body in one write, so
a gateway killed between the two never leaves a proxy holding headers without a body; and the
responses of one turn of the loop leave together at the start of the next."""

from __future__ import annotations

import asyncio
import gc
import weakref

from slotwise.gateway.http.turn_writes import MAX_HELD, HeldTransport


class Recorded(asyncio.Transport):
    """A transport that keeps what it is asked to write, as the socket would receive it."""

    def __init__(self, log: list[tuple[str, bytes]] | None = None, name: str = "") -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.log = log if log is not None else []
        self.name = name
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))
        self.log.append((self.name, bytes(data)))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_headers_and_body_in_one_turn_are_one_write_at_the_next_turn() -> None:
    async def run() -> tuple[list[bytes], list[bytes]]:
        raw = Recorded()
        out = HeldTransport(raw, asyncio.get_running_loop())
        out.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        out.write(b"{}")
        during = list(raw.writes)
        await asyncio.sleep(0)
        return during, raw.writes

    during, after = asyncio.run(run())
    assert during == []
    assert after == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_a_turn_of_several_connections_leaves_together_each_in_one_write() -> None:
    async def run() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
        loop = asyncio.get_running_loop()
        log: list[tuple[str, bytes]] = []
        outs = {name: HeldTransport(Recorded(log, name), loop) for name in ("a", "b", "c")}
        outs["b"].write(b"B1")
        outs["a"].write(b"A1")
        outs["b"].write(b"B2")
        outs["c"].write(b"C1")
        outs["a"].write(b"A2")
        during = list(log)
        await asyncio.sleep(0)
        first_turn = list(log)
        outs["c"].write(b"C3")  # the next turn's own batch
        await asyncio.sleep(0)
        return during, first_turn + log[len(first_turn) :]

    during, sent = asyncio.run(run())
    assert during == []
    assert sent == [("b", b"B1B2"), ("a", b"A1A2"), ("c", b"C1"), ("c", b"C3")]


def test_a_large_body_leaves_at_once_and_what_follows_at_the_next_turn() -> None:
    async def run() -> tuple[list[bytes], list[bytes]]:
        raw = Recorded()
        out = HeldTransport(raw, asyncio.get_running_loop())
        out.write(b"HTTP/1.1 200 OK\r\n\r\n")
        out.write(b"x" * MAX_HELD)
        out.write(b"tail")
        during = list(raw.writes)
        await asyncio.sleep(0)
        return during, raw.writes

    during, after = asyncio.run(run())
    assert during == [b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * MAX_HELD]
    assert after == [*during, b"tail"]


def test_close_sends_what_is_held_and_a_closed_transport_gets_nothing_more() -> None:
    async def run() -> tuple[list[bytes], bool, list[bytes]]:
        loop = asyncio.get_running_loop()
        raw = Recorded()
        out = HeldTransport(raw, loop)
        out.write(bytearray(b"HTTP/1.1 100 Continue\r\n\r\n"))
        out.write(b"last")
        out.close()
        sent = list(raw.writes)
        await asyncio.sleep(0)  # the turn's callback finds nothing left to send
        gone = Recorded()
        late = HeldTransport(gone, loop)
        late.write(b"never")
        gone.closed = True  # the peer went away before the turn ended
        await asyncio.sleep(0)
        return sent, out.is_closing(), gone.writes

    sent, closing, dropped = asyncio.run(run())
    assert sent == [b"HTTP/1.1 100 Continue\r\n\r\nlast"] and closing
    assert dropped == []


def test_a_finished_loop_is_not_kept_alive_by_its_turns() -> None:
    loop = asyncio.new_event_loop()
    HeldTransport(Recorded(), loop).write(b"x")
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    ref = weakref.ref(loop)
    del loop
    gc.collect()
    assert ref() is None
