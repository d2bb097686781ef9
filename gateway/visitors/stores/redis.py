# SPDX-License-Identifier: Apache-2.0
"""Redis store: one shared store for several gateway replicas (`redis` extra).

Keys (all under `prefix`): `ids:{site}` hash event_id → visitor, `ev:{site}:{visitor}` hash
event_id → event, `ts:{site}` sorted set of "visitor\\x1fevent_id" by ts (retention),
`pr:{site}:{visitor}` profile, `at:{site}:{key}` attributes, `cs:{site}:{visitor}` consent,
`sites` the sites seen, `log:{site}` the same members by insertion sequence (`seq:{site}`, for
exports); measurement: `ms:{site}:{visitor}` attribution state, `mc:{site}:{scope}`
log-derived counters, `mx:{site}:{scope}` other counters, `mi:{site}` anonymous event ids by ts.
A batch is folded in Python and committed by one Lua script that
compares each visitor's profile with the one read (compare-and-set), so two replicas never
lose an update and a retried event is never folded twice. One Redis (not Cluster).
Durability of acknowledged events is Redis's: run it with `appendonly yes` and
`appendfsync everysec` (or `always`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, cast

from redis import asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from slotwise.gateway.common.jsoncodec import dumps, loads
from slotwise.gateway.measure.aggregate import anonymous_counts, fold_visitor, nonzero
from slotwise.gateway.measure.kpis import Counts
from slotwise.gateway.visitors.profiles import Profile, rebuild
from slotwise.gateway.visitors.stores.base import IngestResult, Store, group_by_visitor
from slotwise.gateway.visitors.stores.redis_reads import TurnReads

SEP = "\x1f"
RENDER_BUDGET = 0.05  # seconds a render waits for a profile before going without
log = logging.getLogger("slotwise.store")
# KEYS: ids, ts, sites, seq, log, then per visitor: profile, events, consent, measure state.
# ARGV: site, sep, '1' to number events into log (exports) or '0', then per visitor: id, sha1 of
# the profile read ('' if none), new profile, n, n times (event_id, event json, ts), sha1 of the
# measure state read, new measure state, m, and m times (counter hash, field, delta).
# Returns the visitors that must be retried.
COMMIT = """
local ids, tskey, sites, seqkey, logkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local site, sep, logged = ARGV[1], ARGV[2], ARGV[3] == '1'
local a, k, conflicts = 4, 6, {}
while a <= #ARGV do
  local visitor, want, body, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local pkey, ekey, ckey, mkey = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local b = a + 4 + 3 * n
  local mwant, mbody, m = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])
  local cur = redis.call('GET', pkey)
  local ok = ((cur and redis.sha1hex(cur)) or '') == want
  local mcur = redis.call('GET', mkey)
  if ((mcur and redis.sha1hex(mcur)) or '') ~= mwant then ok = false end
  local level = redis.call('GET', ckey)
  if level and level ~= 'full' then ok = false end
  if ok then
    for i = 0, n - 1 do
      if redis.call('HEXISTS', ids, ARGV[a + 4 + 3 * i]) == 1 then ok = false break end
    end
  end
  if ok then
    for i = 0, n - 1 do
      local id, ev, ts = ARGV[a + 4 + 3 * i], ARGV[a + 5 + 3 * i], ARGV[a + 6 + 3 * i]
      redis.call('HSET', ids, id, visitor)
      redis.call('HSET', ekey, id, ev)
      redis.call('ZADD', tskey, ts, visitor .. sep .. id)
      if logged then redis.call('ZADD', logkey, redis.call('INCR', seqkey), visitor .. sep .. id) end
    end
    redis.call('SET', pkey, body)
    redis.call('SADD', sites, site)
    if mbody ~= '' then redis.call('SET', mkey, mbody) end
    for i = 0, m - 1 do
      redis.call('HINCRBYFLOAT', ARGV[b + 3 + 3 * i], ARGV[b + 4 + 3 * i], ARGV[b + 5 + 3 * i])
    end
  else
    table.insert(conflicts, visitor)
  end
  a = b + 3 + 3 * m
  k = k + 4
end
return conflicts
"""
# KEYS: ids (logged events), anonymous ids. ARGV: n, n times (event_id, ts, m, m times
# (counter hash, field, delta)). Counts each event_id once; returns the ids counted now.
ANONYMOUS = """
local counted, a = {}, 2
for _ = 1, tonumber(ARGV[1]) do
  local id, ts, m = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  if redis.call('HEXISTS', KEYS[1], id) == 0 and redis.call('ZADD', KEYS[2], 'NX', ts, id) == 1 then
    for i = 0, m - 1 do
      redis.call('HINCRBYFLOAT', ARGV[a + 3 + 3 * i], ARGV[a + 4 + 3 * i], ARGV[a + 5 + 3 * i])
    end
    table.insert(counted, id)
  end
  a = a + 3 + 3 * m
end
return counted
"""


class RedisStore(Store):
    def __init__(self, url: str, *, prefix: str = "slotwise:", retention_days: float = 365.0, export_log: bool = True):
        self.url = url
        self.export_log = export_log  # number events into log:{site} for `slotwise export` (~120 B an event)
        self.prefix = prefix
        self.retention_days = retention_days
        self.r = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=10)
        self._reads = TurnReads(self.r, RENDER_BUDGET)
        self._commit = self.r.register_script(COMMIT)
        self._anonymous = self.r.register_script(ANONYMOUS)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def ingest(self, site: str, events: list[dict[str, Any]]) -> IngestResult:
        """Read profiles, fold in Python, then commit per visitor with a compare-and-set script.

        The script (atomic in Redis) writes a visitor's events and profile only if the profile
        is still the one that was read and none of its event_ids was logged meanwhile; other
        visitors of the batch commit regardless, and only the conflicting ones are retried.
        """
        result = IngestResult()
        pending = group_by_visitor(events)
        ids_key = self._k("ids", site)
        while pending:
            visitors = list(pending)
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.mget([self._k("pr", site, v) for v in visitors])
                pipe.mget([self._k("cs", site, v) for v in visitors])
                pipe.hmget(ids_key, [e["event_id"] for v in visitors for e in pending[v]])
                pipe.mget([self._k("ms", site, v) for v in visitors])
                bodies, consents, known_list, measures = await pipe.execute()
            known = {
                i
                for i, hit in zip([e["event_id"] for v in visitors for e in pending[v]], known_list, strict=False)
                if hit
            }
            keys: list[str] = [ids_key, self._k("ts", site), self._k("sites"), self._k("seq", site)]
            keys.append(self._k("log", site))  # insertion order, for incremental exports
            args: list[Any] = [site, SEP, "1" if self.export_log else "0"]
            staged: dict[str, tuple[list[str], list[str]]] = {}
            for visitor, body, level, mbody in zip(visitors, bodies, consents, measures, strict=False):
                evs = pending[visitor]
                if level is not None and level != "full":
                    result.ignored.extend(e["event_id"] for e in evs)
                    continue
                new, dups, seen = [], [], set()
                for e in evs:
                    if e["event_id"] in known or e["event_id"] in seen:
                        dups.append(e["event_id"])
                    else:
                        seen.add(e["event_id"])
                        new.append(e)
                if not new:
                    result.duplicates.extend(dups)
                    continue
                profile = Profile.from_json(body) if body else Profile()
                for e in new:
                    profile.fold(e)
                keys += [self._k("pr", site, visitor), self._k("ev", site, visitor), self._k("cs", site, visitor)]
                keys.append(self._k("ms", site, visitor))
                args += [visitor, hashlib.sha1(body.encode()).hexdigest() if body else "", profile.to_json(), len(new)]
                for e in new:
                    args += [e["event_id"], dumps(e), e["ts"]]
                args += self._measure_args(site, mbody, new)
                staged[visitor] = ([e["event_id"] for e in new], dups)
            if not staged:
                break
            conflicts = set(await self._commit(keys=keys, args=args))
            for visitor, (stored, dups) in staged.items():
                if visitor not in conflicts:
                    result.stored.extend(stored)
                    result.duplicates.extend(dups)
            pending = {v: pending[v] for v in conflicts}
        return result

    def _measure_args(self, site: str, body: str | None, new: list[dict[str, Any]]) -> list[Any]:
        want = hashlib.sha1(body.encode()).hexdigest() if body else ""
        if not self.measure_enabled:
            return [want, "", 0]
        deltas: Counts = {}
        state = fold_visitor(body, new, self.measure, deltas)
        return [want, state, *self._increments(site, deltas, "mc")]

    def _increments(self, site: str, deltas: Counts, kind: str) -> list[Any]:
        rows = nonzero(deltas)
        out: list[Any] = [len(rows)]
        for scope, key, value in rows:
            out += [self._k(kind, site, scope), key, repr(value)]
        return out

    async def ingest_anonymous(self, site: str, events: list[dict[str, Any]]) -> IngestResult:
        args: list[Any] = [len(events)]
        for e in events:
            counts = anonymous_counts([e]) if self.measure_enabled else {}
            args += [e["event_id"], e["ts"], *self._increments(site, counts, "mx")]
        counted = set(await self._anonymous(keys=[self._k("ids", site), self._k("mi", site)], args=args))
        result = IngestResult()
        for e in events:
            (result.stored if e["event_id"] in counted else result.duplicates).append(e["event_id"])
        return result

    async def add_counts(self, site: str, counts: dict[tuple[str, str], float]) -> None:
        async with self.r.pipeline(transaction=False) as pipe:
            for scope, key, value in nonzero(counts):
                pipe.hincrbyfloat(self._k("mx", site, scope), key, value)
            await pipe.execute()

    async def counters(self, site: str, scopes: list[str]) -> dict[str, dict[str, float]]:
        async with self.r.pipeline(transaction=False) as pipe:
            for scope in scopes:
                pipe.hgetall(self._k("mc", site, scope))
                pipe.hgetall(self._k("mx", site, scope))
            found = await pipe.execute()
        out: dict[str, dict[str, float]] = {}
        for i, scope in enumerate(scopes):
            merged: dict[str, float] = {}
            for raw in (found[2 * i], found[2 * i + 1]):
                for key, value in raw.items():
                    merged[key] = merged.get(key, 0.0) + float(value)
            if merged:
                out[scope] = merged
        return out

    async def measure_state(self, site: str, visitor_id: str) -> dict[str, Any] | None:
        body = await self.r.get(self._k("ms", site, visitor_id))
        return loads(body) if body else None

    async def _replace_measures(self, site: str, states: dict[str, str], counts: dict[tuple[str, str], float]) -> None:
        old = [k async for k in self.r.scan_iter(match=_glob_escape(self._k("mc", site, "")) + "*", count=1000)]
        old += [k async for k in self.r.scan_iter(match=_glob_escape(self._k("ms", site, "")) + "*", count=1000)]
        async with self.r.pipeline(transaction=True) as pipe:
            if old:
                pipe.delete(*old)
            for visitor, body in states.items():
                pipe.set(self._k("ms", site, visitor), body)
            for scope, key, value in nonzero(counts):
                pipe.hincrbyfloat(self._k("mc", site, scope), key, value)
            await pipe.execute()

    async def profile(self, site: str, visitor_id: str) -> Profile | None:
        body = await self.r.get(self._k("pr", site, visitor_id))
        return Profile.from_json(body) if body else None

    async def load_for_render(self, site: str, visitor_id: str) -> tuple[Profile | None, dict[str, Any]]:
        try:
            # asyncio.timeout: on Python 3.11, wait_for makes a task per call (a fifth of a look-up)
            async with asyncio.timeout(RENDER_BUDGET):
                loaded = await self._load_for_render(site, visitor_id)
        except (TimeoutError, RedisError, OSError) as exc:
            # Redis down or slow: the page renders with context personalization only.
            self.outage.failed(exc if str(exc) else TimeoutError(f"no answer within {RENDER_BUDGET * 1000:.0f} ms"))
            return None, {}
        self.outage.succeeded()
        return loaded

    async def _load_for_render(self, site: str, visitor_id: str) -> tuple[Profile | None, dict[str, Any]]:
        # One round trip for the common case (no e-mail link): profile and visitor attributes,
        # in one MGET with the other renders of this turn of the loop (`redis_reads`).
        keys = self._k("pr", site, visitor_id), self._k("at", site, "visitor:" + visitor_id)
        body, attrs = await self._reads.mget(*keys)
        profile = self.decoded.decode(site, visitor_id, body) if body else None
        out: dict[str, Any] = {}
        if profile is not None and profile.email_sha256:
            linked = await self.r.get(self._k("at", site, "email:" + profile.email_sha256))
            if linked:
                out.update(loads(linked))
        if attrs:
            out.update(loads(attrs))
        return profile, out

    async def events(self, site: str, visitor_id: str) -> list[dict[str, Any]]:
        raw = await self.r.hvals(self._k("ev", site, visitor_id))
        return sorted((loads(v) for v in raw), key=lambda e: (e["ts"], e["event_id"]))

    async def attributes(self, site: str, keys: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for body in await self.r.mget([self._k("at", site, k) for k in keys]):
            if body:
                out.update(loads(body))
        return out

    async def put_attributes(self, site: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        async with self.r.pipeline(transaction=False) as pipe:
            for key, attrs in rows:
                pipe.set(self._k("at", site, key), dumps(attrs))
            await pipe.execute()

    async def consent(self, site: str, visitor_id: str) -> str | None:
        value = await self.r.get(self._k("cs", site, visitor_id))
        return str(value) if value else None

    async def _wipe(self, site: str, visitor_id: str, level: str | None) -> int:
        """Drop the visitor's events and profile (and, for erasure, everything else) atomically.
        WATCH on the events and profile keys makes a concurrent ingest restart this, so no
        event id or ts entry of the visitor can be left behind."""
        ev, pr = self._k("ev", site, visitor_id), self._k("pr", site, visitor_id)
        async with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(ev, pr)
                    ids = cast("list[str]", await pipe.hkeys(ev))  # decode_responses: str, not bytes
                    body = await pipe.get(pr)
                    email = Profile.from_json(body).email_sha256 if body else None
                    pipe.multi()
                    if ids:
                        pipe.hdel(self._k("ids", site), *ids)
                        pipe.zrem(self._k("ts", site), *[visitor_id + SEP + i for i in ids])
                        pipe.zrem(self._k("log", site), *[visitor_id + SEP + i for i in ids])
                    pipe.delete(ev, pr, self._k("ms", site, visitor_id))
                    if level is not None:
                        pipe.set(self._k("cs", site, visitor_id), level)
                    else:
                        pipe.delete(self._k("cs", site, visitor_id), self._k("at", site, "visitor:" + visitor_id))
                        if email:
                            pipe.delete(self._k("at", site, "email:" + email))
                    await pipe.execute()
                    self.decoded.forget(site, visitor_id)
                    return len(ids)
                except WatchError:
                    continue

    async def set_consent(self, site: str, visitor_id: str, level: str) -> None:
        if level == "full":
            await self.r.set(self._k("cs", site, visitor_id), level)
        else:
            await self._wipe(site, visitor_id, level)

    async def erase(self, site: str, visitor_id: str) -> int:
        return await self._wipe(site, visitor_id, None)

    async def expire(self, now: float) -> int:
        cutoff = now - self.retention_days * 86400
        removed = 0
        sites = cast("set[str]", await self.r.smembers(self._k("sites")))  # decode_responses: str, not bytes
        for site in sorted(sites):
            members = cast("list[str]", await self.r.zrangebyscore(self._k("ts", site), "-inf", f"({cutoff}"))
            await self.r.zremrangebyscore(self._k("mi", site), "-inf", f"({cutoff}")
            by_visitor: dict[str, list[str]] = {}
            for m in members:
                visitor, _, event_id = m.partition(SEP)
                by_visitor.setdefault(visitor, []).append(event_id)
            for visitor, ids in by_visitor.items():
                async with self.r.pipeline(transaction=True) as pipe:
                    pipe.hdel(self._k("ev", site, visitor), *ids)
                    pipe.hdel(self._k("ids", site), *ids)
                    pipe.zrem(self._k("ts", site), *[visitor + SEP + i for i in ids])
                    pipe.zrem(self._k("log", site), *[visitor + SEP + i for i in ids])
                    await pipe.execute()
                removed += len(ids)
                await self.rebuild_profile(site, visitor)
        return removed

    async def rebuild_profile(self, site: str, visitor_id: str) -> Profile | None:
        key = self._k("pr", site, visitor_id)
        async with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key, self._k("ev", site, visitor_id))
                    raw = await pipe.hvals(self._k("ev", site, visitor_id))
                    profile = rebuild(loads(v) for v in raw) if raw else None
                    pipe.multi()
                    if profile is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, profile.to_json())
                    await pipe.execute()
                    return profile
                except WatchError:
                    continue

    async def replace_profile(self, site: str, visitor_id: str, profile: Profile | None) -> None:
        key = self._k("pr", site, visitor_id)
        if profile is None:
            await self.r.delete(key)
        else:
            await self.r.set(key, profile.to_json())

    async def visitors(self, site: str) -> list[str]:
        out: set[str] = set()
        for kind in ("ev", "pr"):
            head = self._k(kind, site, "")
            async for key in self.r.scan_iter(match=_glob_escape(head) + "*", count=1000):
                out.add(key[len(head) :])
        return sorted(out)

    async def count_events(self, site: str) -> int:
        return int(await self.r.hlen(self._k("ids", site)))

    async def close(self) -> None:
        await self.r.aclose()

    async def ping(self) -> bool:
        return bool(await self.r.ping())


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
