# SPDX-License-Identifier: Apache-2.0
"""The interface between a broker and the consumer loop: small enough for Kafka to fit behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Message:
    id: str
    """The broker's id of the message (Redis entry id, JetStream stream sequence)."""
    data: bytes | None
    """The event JSON; None when the broker lost the payload (e.g. a trimmed Redis entry)."""


@dataclass(frozen=True)
class SourceURL:
    server: str
    """scheme://[user:password@]host:port, the broker to connect to."""
    name: str
    """The URL's path: the Redis stream or the NATS subject."""
    query: dict[str, str]
    """The options after `?`, the last value of each."""


def parse_source_url(url: str, kind: str, expected: str, default_port: int) -> SourceURL:
    """`url` as a broker, a stream name and options; ValueError unless it has a host and a name
    (`kind` and the `expected` form name the source in the message)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or not parts.hostname:
        raise ValueError(f"{kind} source {url!r}: expected {expected}")
    auth = f"{parts.username or ''}:{parts.password}@" if parts.password else ""
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return SourceURL(f"{parts.scheme}://{auth}{parts.hostname}:{parts.port or default_port}", name, query)


class Source(Protocol):
    """A durable position in a stream: what is fetched and not acked is delivered again."""

    name: str

    async def open(self) -> None:
        """Connect, and create the consumer group / durable consumer when missing."""

    async def fetch(self, max_count: int, timeout: float) -> list[Message]:
        """Up to `max_count` messages: first those delivered earlier and never acked (also a
        crashed consumer's), then new ones; [] after `timeout` seconds without any."""

    async def ack(self, ids: list[str]) -> None:
        """Commit: these messages are handled and are never delivered again."""

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Keep a message that cannot be ingested, with the reason, where an operator finds it."""

    async def close(self) -> None: ...


def open_source(url: str, site: str) -> Source:
    """The source for `redis://HOST:PORT/STREAM` or `nats://HOST:PORT/SUBJECT` (query options
    in docs/streams.md); ValueError names what is wrong with the URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss"):
        from slotwise.gateway.streams.redis_source import RedisStreamSource

        return RedisStreamSource.from_url(url, site)
    if scheme in ("nats", "tls"):
        from slotwise.gateway.streams.nats_source import NatsSource

        return NatsSource.from_url(url, site)
    raise ValueError(f"unsupported stream source {url!r}: use redis://HOST:PORT/STREAM or nats://HOST:PORT/SUBJECT")
