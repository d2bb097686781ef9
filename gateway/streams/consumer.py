# SPDX-License-Identifier: Apache-2.0
"""The consumer loop: fetch a batch, validate, ingest, dead-letter the bad, ack what is handled.

At least once: a batch is acked only after the store accepted it (or it was dead-lettered),
so a crash redelivers it and the store's event_id idempotency keeps it stored once. Only one
batch is in flight: the next fetch waits until the store took the previous one, and while
the store fails the same batch is retried with backoff (the broker holds the rest).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.measure.exposures import refusal
from slotwise.gateway.streams.source import Message, Source
from slotwise.gateway.visitors.events import Invalid, Limits, validate_event
from slotwise.gateway.visitors.ingest import Origin, ingest_batch, origin_of

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import SiteConfig
    from slotwise.gateway.serving.runtime import Runtime
    from slotwise.gateway.visitors.stores import Store

log = logging.getLogger("slotwise.streams")


@dataclass
class Stats:
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    dead: int = 0
    batches: int = 0
    store_retries: int = 0
    source_errors: int = 0

    def describe(self) -> dict[str, int]:
        return dict(self.__dict__)


class Consumer:
    def __init__(
        self,
        source: Source,
        store: Store,
        runtime: Runtime,
        site: SiteConfig,
        *,
        batch: int = 100,
        limits: Limits | None = None,
        max_backoff: float = 5.0,
    ) -> None:
        self.source, self.store, self.runtime, self.site = source, store, runtime, site
        self.batch = batch
        settings = getattr(store, "settings", None)
        self.limits = limits or (
            Limits(max_future_s=settings.max_future_seconds, retention_days=settings.retention_days)
            if settings is not None
            else Limits()
        )
        self.max_backoff = max_backoff
        self.stats = Stats()
        self._origins: dict[tuple[Any, ...], Origin] = {}

    def origin(self, raw: dict[str, Any], now: float) -> Origin:
        """The event's own context decides bot and consent handling, as for a relayed HTTP batch."""
        ctx = raw.get("context")
        ctx = ctx if isinstance(ctx, dict) else {}
        key = (ctx.get("user_agent"), ctx.get("consent"), ctx.get("gpc"))
        origin = self._origins.get(key)
        if origin is None:
            resolved = resolve_context(
                body_context=ctx,
                headers={},
                peer=None,
                config=self.runtime.config,
                site=self.site,
                allow_simulation=False,
                now=now,
            )
            origin = origin_of(resolved)
            if len(self._origins) > 4096:
                self._origins.clear()
            self._origins[key] = origin
        return origin

    def parse(self, message: Message, now: float) -> tuple[dict[str, Any], Origin] | str:
        """(event, origin), or the reason the message goes to the dead letters."""
        if message.data is None:
            return "no 'event' field in the message"
        try:
            raw = json.loads(message.data)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"not JSON: {str(exc)[:200]}"
        try:
            event = validate_event(raw, now, self.limits)
        except Invalid as exc:
            return f"invalid event: {exc}"
        refused = refusal(event)  # what the events route rejects for the measurement's sake
        if refused:
            return f"invalid event: {refused}"
        return event, self.origin(raw, now)

    async def step(self, timeout: float = 1.0, stop: asyncio.Event | None = None) -> int:
        """Handle one batch; the number of messages it held (0 when the stream was idle)."""
        messages = await self.source.fetch(self.batch, timeout)
        if not messages:
            return 0
        now = time.time()
        items: list[tuple[dict[str, Any], Origin]] = []
        dead: list[tuple[Message, str]] = []
        for message in messages:
            parsed = self.parse(message, now)
            if isinstance(parsed, str):
                dead.append((message, parsed))
            else:
                items.append(parsed)
        if items and not await self._ingest(items, stop):
            return 0  # stopping while the store is down: nothing acked, all redelivered
        for message, reason in dead:
            await self.source.dead_letter(message, reason)
        await self.source.ack([m.id for m in messages])
        self.stats.messages += len(messages)
        self.stats.dead += len(dead)
        self.stats.batches += 1
        return len(messages)

    async def _ingest(self, items: list[tuple[dict[str, Any], Origin]], stop: asyncio.Event | None) -> bool:
        delay = 0.05
        while True:
            try:
                result = await ingest_batch(self.store, self.runtime, self.site, items)
            except Exception as exc:
                self.store.outage.failed(exc)
                self.stats.store_retries += 1
                if stop is not None and stop.is_set():
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            self.store.outage.succeeded()
            self.stats.stored += len(result.stored)
            self.stats.duplicates += len(result.duplicates)
            self.stats.ignored += len(result.ignored)
            return True

    async def run(
        self, stop: asyncio.Event | None = None, *, idle_exit: float | None = None, max_messages: int | None = None
    ) -> Stats:
        """Consume until `stop` is set, the stream was idle for `idle_exit` seconds, or
        `max_messages` were handled."""
        idle_since = time.monotonic()
        delay = 0.1
        while not (stop is not None and stop.is_set()):
            if max_messages is not None and self.stats.messages >= max_messages:
                break
            timeout = 1.0 if idle_exit is None else max(0.05, min(1.0, idle_exit))
            try:
                handled = await self.step(timeout, stop)
            except Exception:
                # The broker went away mid-batch: nothing unacked is lost, it is delivered again.
                self.stats.source_errors += 1
                log.warning("%s: fetch, ack or dead-letter failed; retrying", self.source.name, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            delay = 0.1
            if handled:
                idle_since = time.monotonic()
            elif idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                break
        return self.stats
