# SPDX-License-Identifier: Apache-2.0
"""The offline event log: one JSON object per line, `ts` as RFC 3339 (or unix seconds).

One reader for everything that replays events from a file: the gateway's profile rebuild
and export, and `models/` training. The rules for a line:

- blank lines are skipped;
- a line must be a JSON object with a non-empty string `visitor_id` and `type`;
- `ts` is unix seconds (a number) or RFC 3339 with an offset (`Z` or `+01:00`); a time
  without an offset is refused, since it could be any of 24 hours;
- a line without `event_id` gets `line:<n>`, so duplicates by id still count once;
- types the reader does not know are kept (the fold and the trainers ignore them).

A bad line stops the read with `EventLogError` naming the file, the line and the reason:
an offline file half read would train a model on part of the data without saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from slotwise.gateway.common.jsoncodec import dumps, loads

# RFC 3339 date-time: full date, 'T' (or space), time, optional fraction, mandatory offset.
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


class Invalid(ValueError):
    """A rejection reason for one event."""


class EventLogError(ValueError):
    """A line of an event log that cannot be read: `path:line: reason`."""


def parse_ts(raw: Any) -> float:
    """RFC 3339 text to unix seconds; the offset is mandatory so no time is ambiguous."""
    if not isinstance(raw, str):
        raise Invalid("'ts' must be an RFC 3339 string such as 2026-01-31T12:00:00Z")
    m = RFC3339.match(raw)
    if not m:
        raise Invalid(f"'ts' is not RFC 3339 with an offset: {raw[:40]!r}")
    try:
        return datetime.fromisoformat(raw).timestamp()  # the fast path; the checks below explain failures
    except ValueError:
        pass
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = float(m.group(7) or 0.0)
    off = m.group(8).upper()
    try:
        tz = UTC
        if off != "Z":
            sign = 1 if off[0] == "+" else -1
            oh, om = int(off[1:3]), int(off[4:6])
            if oh > 23 or om > 59:
                raise ValueError("offset")
            tz = timezone(sign * timedelta(hours=oh, minutes=om))
        dt = datetime(y, mo, d, h, mi, min(s, 59), tzinfo=tz)  # a leap second reads as :59
    except ValueError:
        raise Invalid(f"'ts' is not a valid date and time: {raw[:40]!r}") from None
    return dt.timestamp() + frac


def format_ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_line(event: dict[str, Any]) -> str:
    """The offline JSON-lines shape of a validated event (ts back to RFC 3339), keys sorted."""
    return dumps({**event, "ts": format_ts(event["ts"])}, sort_keys=True)


def _ts(raw: Any) -> float:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return round(float(raw), 3)
    return round(parse_ts(raw), 3)


def parse_event_line(line: str, number: int = 0) -> dict[str, Any]:
    """One line back to the in-memory shape (ts as unix seconds); `Invalid` says why not."""
    try:
        event = loads(line)
    except ValueError:
        raise Invalid("not JSON") from None
    if not isinstance(event, dict):
        raise Invalid("not a JSON object")
    for key in ("visitor_id", "type"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise Invalid(f"'{key}' must be a non-empty string")
    if "ts" not in event:
        raise Invalid("'ts' is missing")
    event["ts"] = _ts(event["ts"])
    if event.get("event_id") in (None, ""):
        event["event_id"] = f"line:{number}"
    return event


def read_event_lines(lines: Iterable[str], source: str = "events") -> Iterator[dict[str, Any]]:
    """Events of a JSON-lines log in file order; the first bad line raises `EventLogError`."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield parse_event_line(line, number)
        except Invalid as exc:
            raise EventLogError(f"{source}:{number}: {exc}") from None


def read_event_log(path: Path) -> list[dict[str, Any]]:
    """Every event of the file at `path`, sorted by time."""
    with open(path, encoding="utf-8") as fh:
        events = list(read_event_lines(fh, str(path)))
    events.sort(key=lambda e: e["ts"])  # stable: file order among equal times
    return events
