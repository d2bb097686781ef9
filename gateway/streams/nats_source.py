# SPDX-License-Identifier: Apache-2.0
"""NATS JetStream: a durable pull consumer, the message body is the event JSON, ack after the store.

    nats://127.0.0.1:4222/events.shop?durable=slotwise-shop&stream=EVENTS&dead=events.shop.dead&ack_wait=30

The stream holding SUBJECT is looked up (created when none exists, named after the subject);
the dead-letter subject gets a stream of its own when none holds it. A message fetched and not
acked within `ack_wait` seconds (the consumer crashed) is delivered again by the server.
"""

from __future__ import annotations

import re
from typing import Any

from slotwise.gateway.streams.source import Message, parse_source_url

_NAME = re.compile(r"[^A-Za-z0-9_-]")


def stream_name(subject: str) -> str:
    """A JetStream name for a subject (names allow no dots or wildcards)."""
    return _NAME.sub("_", subject).upper()


class NatsSource:
    def __init__(
        self,
        server: str,
        subject: str,
        *,
        durable: str,
        stream: str | None = None,
        dead: str | None = None,
        ack_wait: float = 30.0,
        max_ack_pending: int = 10_000,
    ) -> None:
        if ("*" in subject or ">" in subject) and dead is None:
            raise ValueError(f"nats subject {subject!r} has wildcards: name a dead-letter subject with ?dead=")
        self.server, self.subject, self.durable = server, subject, durable
        self.stream, self.dead = stream, dead or f"{subject}.dead"
        self.ack_wait, self.max_ack_pending = ack_wait, max_ack_pending
        self.name = f"nats subject {subject!r} (durable {durable!r})"
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._unacked: dict[str, Any] = {}

    @classmethod
    def from_url(cls, url: str, site: str) -> NatsSource:
        parsed = parse_source_url(url, "nats", "nats://HOST:PORT/SUBJECT", 4222)
        query = parsed.query
        try:
            ack_wait = float(query.get("ack_wait", "30"))
        except ValueError:
            raise ValueError(f"nats source {url!r}: 'ack_wait' must be a number of seconds") from None
        return cls(
            parsed.server,
            parsed.name,
            durable=_NAME.sub("_", query.get("durable") or f"slotwise-{site}"),
            stream=query.get("stream"),
            dead=query.get("dead"),
            ack_wait=ack_wait,
        )

    async def _stream_for(self, subject: str, name: str | None) -> str:
        from nats.js.errors import NotFoundError

        try:
            return str(await self._js.find_stream_name_by_subject(subject))
        except NotFoundError:
            name = name or stream_name(subject)
            await self._js.add_stream(name=name, subjects=[subject])
            return name

    async def open(self) -> None:
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        self._nc = await nats.connect(self.server, connect_timeout=5, max_reconnect_attempts=-1)
        self._js = self._nc.jetstream()
        self.stream = await self._stream_for(self.subject, self.stream)
        await self._stream_for(self.dead, None)
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=self.max_ack_pending,
        )
        self._sub = await self._js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream, config=config)

    async def fetch(self, max_count: int, timeout: float) -> list[Message]:
        from nats.errors import TimeoutError as NatsTimeout

        try:
            msgs = await self._sub.fetch(batch=max_count, timeout=timeout)
        except NatsTimeout:
            return []
        out = []
        for msg in msgs:
            key = str(msg.metadata.sequence.stream)
            self._unacked[key] = msg
            out.append(Message(key, msg.data))
        return out

    async def ack(self, ids: list[str]) -> None:
        for key in ids:
            msg = self._unacked.pop(key, None)
            if msg is not None:
                await msg.ack()
        await self._nc.flush()  # the acks reached the server before the consumer moves on

    async def dead_letter(self, message: Message, reason: str) -> None:
        headers = {
            "Slotwise-Reason": " ".join(reason.split())[:1000],
            "Slotwise-Source": self.subject,
            "Slotwise-Sequence": message.id,
        }
        await self._js.publish(self.dead, message.data or b"", headers=headers)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
