# SPDX-License-Identifier: Apache-2.0
"""Read access to a Redis store's events, with the interface of `rows.SQLiteEvents`.

Events live in `ev:{site}:{visitor}` hashes and `ts:{site}` (a sorted set of
`visitor\\x1fevent_id` by ts); `log:{site}` (a sorted set by insertion sequence, written by the
store's commit script) gives the same watermark the SQLite rowid gives, so late events are
exported too. Reads use a synchronous client in the export's own process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from slotwise.gateway.export.rows import event_row

SEP = "\x1f"


class RedisEvents:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.r = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5)
        self.r.ping()
        self.prefix = prefix

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def raw_events(self, site: str, since: float | None = None) -> Iterator[dict[str, Any]]:
        """The site's events, optionally only those with `ts` > since, in chunks of 1,000 by ts."""
        low = f"({since}" if since is not None else "-inf"
        start = 0
        while True:
            members = cast("list[str]", self.r.zrangebyscore(self._k("ts", site), low, "+inf", start=start, num=1000))
            if not members:
                return
            yield from self._bodies(site, members)
            start += len(members)

    def _bodies(self, site: str, members: list[str]) -> Iterator[dict[str, Any]]:
        pipe = self.r.pipeline(transaction=False)
        for m in members:
            visitor, _, event_id = m.partition(SEP)
            pipe.hget(self._k("ev", site, visitor), event_id)
        for body in pipe.execute():
            if body is not None:  # erased between the two reads
                yield json.loads(body)

    def count_since(self, site: str, since: float | None) -> int:
        return int(self.r.zcount(self._k("ts", site), f"({since}" if since is not None else "-inf", "+inf"))

    def chunks(self, site: str, after: int, size: int = 50_000) -> Iterator[list[dict[str, Any]]]:
        """Rows with seq > `after`, in insertion order, in chunks of at most `size`."""
        while True:
            page = cast(
                "list[tuple[str, float]]",
                self.r.zrangebyscore(self._k("log", site), f"({after}", "+inf", start=0, num=size, withscores=True),
            )
            if not page:
                return
            members = [m for m, _ in page]
            seqs = [int(s) for _, s in page]
            pipe = self.r.pipeline(transaction=False)
            for m in members:
                visitor, _, event_id = m.partition(SEP)
                pipe.hget(self._k("ev", site, visitor), event_id)
            rows = [event_row(seq, site, json.loads(b)) for seq, b in zip(seqs, pipe.execute(), strict=True) if b]
            if rows:
                yield rows
            after = seqs[-1]

    def aggregates(self, site: str) -> dict[str, list[dict[str, Any]]]:
        from slotwise.gateway.export.aggregates import rows_from_counters

        sums: dict[tuple[str, str], float] = {}
        for kind in ("mc", "mx"):
            head = self._k(kind, site, "")
            for key in cast("list[str]", self.r.scan_iter(match=_glob_escape(head) + "*", count=1000)):
                scope = key[len(head) :]
                for field, value in cast("dict[str, str]", self.r.hgetall(key)).items():
                    sums[(scope, field)] = sums.get((scope, field), 0.0) + float(value)
        return rows_from_counters(site, sorted((s, k, v) for (s, k), v in sums.items()))

    def close(self) -> None:
        self.r.close()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
