# SPDX-License-Identifier: Apache-2.0
"""The store interface: an idempotent event log, profiles, attributes, consent, erasure.

Both backends (SQLite, Redis) implement it and pass one shared test suite. An event is
folded into its visitor's profile in the same transaction that first logs its event_id, so
an acknowledged event is in the log and in the profile, and a retried one in neither twice.
"""

from __future__ import annotations

import abc
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slotwise.gateway.measure.attribution import MeasureSettings
from slotwise.gateway.ops.outage import Outage
from slotwise.gateway.visitors.profiles import Profile
from slotwise.gateway.visitors.stores.decoded_profiles import DecodedProfiles


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
    measure: MeasureSettings = MeasureSettings()
    """Attribution windows; `ingest` aggregates exposures and KPIs unless `measure_enabled` is off."""
    measure_enabled: bool = True
    _decoded: DecodedProfiles | None = None

    @property
    def decoded(self) -> DecodedProfiles:
        """The profiles renders decoded, by visitor and stored text (`stores.decoded_profiles`)."""
        if self._decoded is None:
            self._decoded = DecodedProfiles()
        return self._decoded

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

    # --- measurement (gateway/measure): counters by scope and key, visitor attribution states ---

    @abc.abstractmethod
    async def ingest_anonymous(self, site: str, events: list[dict[str, Any]]) -> IngestResult:
        """Count events of visitors with consent `anonymous` into the aggregates only (once per
        event_id); nothing about the visitor is kept, and the events are not logged."""

    @abc.abstractmethod
    async def add_counts(self, site: str, counts: dict[tuple[str, str], float]) -> None:
        """Add to counters that do not come from the log (served impressions from renders)."""

    @abc.abstractmethod
    async def counters(self, site: str, scopes: list[str]) -> dict[str, dict[str, float]]:
        """`{scope: {key: value}}`: logged and other counters summed; absent scopes are left out."""

    @abc.abstractmethod
    async def measure_state(self, site: str, visitor_id: str) -> dict[str, Any] | None:
        """The visitor's attribution state (see `measure.attribution`), or None."""

    @abc.abstractmethod
    async def _replace_measures(self, site: str, states: dict[str, str], counts: dict[tuple[str, str], float]) -> None:
        """Replace the log-derived counters and all states of the site."""

    async def rebuild_measures(self, site: str) -> int:
        """Recompute the log-derived counters and states from the event log; the visitors seen."""
        from slotwise.gateway.measure.aggregate import rebuild

        visitors = await self.visitors(site)
        logged = [(v, await self.events(site, v)) for v in visitors]
        states, counts = rebuild(((v, evs) for v, evs in logged if evs), self.measure)
        await self._replace_measures(site, states, counts)
        return len(states)

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


K = TypeVar("K")
V = TypeVar("V")


class Lru(OrderedDict[K, V]):
    """A bounded map that drops its least recently put entry: `put` marks an entry recent, reads
    do not. The writers' caches, where every read is followed by a put. (`cachetools.LRUCache`
    costs a few Python calls per read and write; here reads, `in` and `pop` are the dict's own.)"""

    def __init__(self, maxsize: int):
        super().__init__()
        self.maxsize = maxsize

    def put(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.maxsize:
            self.popitem(last=False)


def group_by_visitor(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        out.setdefault(e["visitor_id"], []).append(e)
    return out
