# SPDX-License-Identifier: Apache-2.0
"""The store interface: an idempotent event log, profiles, attributes, consent, erasure.

Both backends (SQLite, Redis) implement it and pass one shared test suite. An event is
folded into its visitor's profile in the same transaction that first logs its event_id, so
an acknowledged event is in the log and in the profile, and a retried one in neither twice.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slotwise.gateway.ops.outage import Outage
from slotwise.gateway.visitors.profiles import Profile


@dataclass
class IngestResult:
    stored: list[str] = field(default_factory=list)
    """event_ids logged and folded now."""
    duplicates: list[str] = field(default_factory=list)
    """event_ids already in the log (a retry): acknowledged, counted once."""
    ignored: list[str] = field(default_factory=list)
    """event_ids of visitors whose stored consent forbids profiling: not kept."""


class Store(abc.ABC):
    """Async interface used by routes, resolvers, the CLI and the demo."""

    retention_days: float = 365.0
    _outage: Outage | None = None

    @property
    def outage(self) -> Outage:
        """The store's availability as seen by its callers: failures are logged by change of state."""
        if self._outage is None:
            self._outage = Outage(f"{type(self).__name__}", logging.getLogger("slotwise.store"))
        return self._outage

    @abc.abstractmethod
    async def ingest(self, site: str, events: list[dict[str, Any]]) -> IngestResult:
        """Log new events (by event_id) and fold them into profiles, atomically."""

    @abc.abstractmethod
    async def profile(self, site: str, visitor_id: str) -> Profile | None: ...

    @abc.abstractmethod
    async def events(self, site: str, visitor_id: str) -> list[dict[str, Any]]:
        """The visitor's logged events, oldest first."""

    @abc.abstractmethod
    async def attributes(self, site: str, keys: list[str]) -> dict[str, Any]:
        """Attributes stored under these keys ('visitor:<id>', 'email:<sha256>'), later keys win.

        The prefixes keep the two namespaces apart: a visitor id can never name an e-mail key."""

    @abc.abstractmethod
    async def put_attributes(self, site: str, rows: list[tuple[str, dict[str, Any]]]) -> None: ...

    @abc.abstractmethod
    async def consent(self, site: str, visitor_id: str) -> str | None: ...

    @abc.abstractmethod
    async def set_consent(self, site: str, visitor_id: str, level: str) -> None:
        """Store the level; below 'full' the profile and events are erased (attributes stay)."""

    @abc.abstractmethod
    async def erase(self, site: str, visitor_id: str) -> int:
        """Remove every trace of the visitor (events, profile, attributes, consent); count of events."""

    @abc.abstractmethod
    async def expire(self, now: float) -> int:
        """Delete events older than the retention window; rebuild the profiles they touched."""

    @abc.abstractmethod
    async def visitors(self, site: str) -> list[str]: ...

    @abc.abstractmethod
    async def replace_profile(self, site: str, visitor_id: str, profile: Profile | None) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    def ready(self) -> bool:
        return True

    async def load_for_render(self, site: str, visitor_id: str) -> tuple[Profile | None, dict[str, Any]]:
        """The profile and the attributes (by visitor id, then by the e-mail hash it signed up with).

        A store failure never fails a render: it gets no profile, only context personalization."""
        try:
            return await self._load_for_render(site, visitor_id)
        except Exception:
            logging.getLogger("slotwise.store").warning("profile load failed for render", exc_info=True)
            return None, {}

    async def _load_for_render(self, site: str, visitor_id: str) -> tuple[Profile | None, dict[str, Any]]:
        profile = await self.profile(site, visitor_id)
        keys = ["visitor:" + visitor_id]
        if profile is not None and profile.email_sha256:
            keys.insert(0, "email:" + profile.email_sha256)
        return profile, await self.attributes(site, keys)

    async def rebuild_profile(self, site: str, visitor_id: str) -> Profile | None:
        from slotwise.gateway.visitors.profiles import rebuild

        events = await self.events(site, visitor_id)
        profile = rebuild(events) if events else None
        await self.replace_profile(site, visitor_id, profile)
        return profile

    async def rebuild_all(self, site: str) -> int:
        count = 0
        for visitor in await self.visitors(site):
            await self.rebuild_profile(site, visitor)
            count += 1
        return count


def group_by_visitor(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e["visitor_id"], []).append(e)
    return out
