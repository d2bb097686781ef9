# SPDX-License-Identifier: Apache-2.0
"""`http.server.OneWrite`: a response's status line and headers leave with its body in one write,
so a gateway killed between the two never leaves a proxy holding headers without a body."""

from __future__ import annotations

import asyncio

from slotwise.gateway.http.server import OneWrite


class Recorded(asyncio.Transport):
    """A transport that keeps what it is asked to write, as the socket would receive it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_headers_and_body_in_one_turn_are_one_write() -> None:
    async def run() -> list[bytes]:
        raw = Recorded()
        out = OneWrite(raw, asyncio.get_running_loop())
        out.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        out.write(b"{}")
        await asyncio.sleep(0)
        return raw.writes

    assert asyncio.run(run()) == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_a_lone_write_leaves_on_the_next_turn_and_close_sends_what_is_held() -> None:
    async def run() -> tuple[list[bytes], list[bytes], list[bytes], bool]:
        raw = Recorded()
        out = OneWrite(raw, asyncio.get_running_loop())
        out.write(bytearray(b"HTTP/1.1 100 Continue\r\n\r\n"))
        before = list(raw.writes)
        await asyncio.sleep(0)
        after_turn = list(raw.writes)
        out.write(b"last")
        out.close()
        await asyncio.sleep(0)  # the flush scheduled by that write finds nothing left to send
        return before, after_turn, raw.writes, out.is_closing()

    before, after_turn, final, closing = asyncio.run(run())
    assert before == [] and after_turn == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert final == [b"HTTP/1.1 100 Continue\r\n\r\n", b"last"] and closing
