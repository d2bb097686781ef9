# SPDX-License-Identifier: Apache-2.0
"""Event validation: one reason per rejected event, never an exception for bad input.

An event is `{event_id, visitor_id, type, ts (RFC 3339), item_id?, value?, currency?,
quantity?, properties?, context?}`. `validate_event` turns a raw JSON value into a clean,
normalized dict (ts as unix seconds) or a short reason naming the field at fault.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from slotwise.gateway.visitors.profiles import dumps

EVENT_TYPES = frozenset(
    {
        "page_view",
        "item_view",
        "click",
        "impression",
        "add_to_cart",
        "remove_from_cart",
        "purchase",
        "conversion",
        "signup",
        "engagement",
    }
)
FIELDS = frozenset(
    {"event_id", "visitor_id", "type", "ts", "item_id", "value", "currency", "quantity", "properties", "context"}
)
# No user agent and no address: a device class and a country are all a profile needs.
CONTEXT_KEYS = frozenset(
    {"device", "country", "url", "referrer", "timezone", "daypart", "hour", "language", "consent", "gpc"}
)
DEVICES = frozenset({"mobile", "tablet", "desktop"})
DAYPARTS = frozenset({"night", "morning", "afternoon", "evening"})
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
ITEM_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
# RFC 3339 date-time: full date, 'T' (or space), time, optional fraction, mandatory offset.
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Limits:
    max_future_s: float = 300.0
    retention_days: float = 365.0
    max_properties_bytes: int = 4096
    max_properties_keys: int = 50
    max_string: int = 1000
    max_value: float = 1e9
    max_quantity: int = 10000


class Invalid(ValueError):
    """A rejection reason for one event."""


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


def safe_text(text: str) -> str:
    """Without control characters and lone surrogates (which cannot be stored or echoed)."""
    if text.isascii():
        return _CONTROL.sub("", text) if _CONTROL.search(text) else text
    return _CONTROL.sub("", text).encode("utf-8", "replace").decode("utf-8")


def _text(raw: Any, field: str, limit: int, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(raw, str):
        raise Invalid(f"'{field}' must be a string")
    if pattern is not ID and safe_text(raw) != raw:  # ID admits only safe ASCII anyway
        raise Invalid(f"'{field}' holds control characters or invalid Unicode")
    if not raw or len(raw) > limit:
        raise Invalid(f"'{field}' must be 1-{limit} characters")
    if pattern is not None and not pattern.match(raw):
        raise Invalid(f"'{field}' has characters outside the allowed set: {raw[:40]!r}")
    return raw


def _number(raw: Any, field: str, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise Invalid(f"'{field}' must be a finite number")
    if not low <= raw <= high:
        raise Invalid(f"'{field}' must be between {low:g} and {high:g}")
    return float(raw)


def _clean_json(value: Any, limits: Limits, depth: int = 0) -> Any:
    """Properties are data: strings lose control characters, depth and size are bounded."""
    if depth > 4:
        raise Invalid("'properties' nested deeper than 4 levels")
    if isinstance(value, str):
        if len(value) > limits.max_string:
            raise Invalid(f"a 'properties' string is longer than {limits.max_string} characters")
        return value if value.isalnum() and value.isascii() else safe_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid("'properties' holds a non-finite number")
        return value
    if isinstance(value, list):
        if len(value) > 100:
            raise Invalid("a 'properties' list holds more than 100 values")
        return [_clean_json(v, limits, depth + 1) for v in value]
    if isinstance(value, dict):
        if len(value) > limits.max_properties_keys:
            raise Invalid(f"'properties' has more than {limits.max_properties_keys} keys")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not k or len(k) > 100 or safe_text(k) != k:
                raise Invalid("'properties' keys must be 1-100 printable characters")
            out[k] = _clean_json(v, limits, depth + 1)
        return out
    raise Invalid("'properties' holds a value that is not JSON")


def _context(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid("'context' must be an object")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in CONTEXT_KEYS:
            continue  # unknown page-context keys are ignored, never stored
        if isinstance(value, str):
            value = safe_text(value)[:2048]
        elif not isinstance(value, (bool, int, float)) or value is None:
            continue
        out[key] = value
    if "device" in out and out["device"] not in DEVICES:
        raise Invalid(f"'context.device' must be one of {', '.join(sorted(DEVICES))}")
    if "country" in out and not (isinstance(out["country"], str) and COUNTRY.match(out["country"].upper())):
        raise Invalid("'context.country' must be an ISO 3166-1 alpha-2 code")
    if "country" in out:
        out["country"] = out["country"].upper()
    if "daypart" in out and out["daypart"] not in DAYPARTS:
        raise Invalid(f"'context.daypart' must be one of {', '.join(sorted(DAYPARTS))}")
    return out


def validate_event(raw: Any, now: float, limits: Limits = Limits()) -> dict[str, Any]:
    """A clean event dict, or `Invalid` with the reason. `ts` comes back as unix seconds."""
    if not isinstance(raw, dict):
        raise Invalid("an event must be a JSON object")
    if not FIELDS.issuperset(raw):
        raise Invalid(f"unknown field '{str(sorted(set(raw) - FIELDS)[0])[:40]}'")
    event: dict[str, Any] = {
        "event_id": _text(raw.get("event_id"), "event_id", 128, ID),
        "visitor_id": _text(raw.get("visitor_id"), "visitor_id", 128, ID),
    }
    etype = raw.get("type")
    if not isinstance(etype, str) or etype not in EVENT_TYPES:
        shown = etype[:40] if isinstance(etype, str) else type(etype).__name__
        raise Invalid(f"unknown event type {shown!r}; one of {', '.join(sorted(EVENT_TYPES))}")
    event["type"] = etype
    ts = parse_ts(raw.get("ts"))
    if ts > now + limits.max_future_s:
        raise Invalid(f"'ts' is more than {limits.max_future_s:g} s in the future")
    if ts < now - limits.retention_days * 86400:
        raise Invalid(f"'ts' is older than the retention window of {limits.retention_days:g} days")
    event["ts"] = round(ts, 3)
    if raw.get("item_id") is not None:
        if isinstance(raw["item_id"], int) and not isinstance(raw["item_id"], bool):
            raw = {**raw, "item_id": str(raw["item_id"])}
        event["item_id"] = _text(raw["item_id"], "item_id", 200, ITEM_ID)
    elif etype in {"item_view", "add_to_cart", "remove_from_cart"}:
        raise Invalid(f"a '{etype}' event needs an 'item_id'")
    if raw.get("value") is not None:
        event["value"] = _number(raw["value"], "value", -limits.max_value, limits.max_value)
    if raw.get("currency") is not None:
        event["currency"] = _text(raw["currency"], "currency", 3, CURRENCY)
    if raw.get("quantity") is not None:
        q = _number(raw["quantity"], "quantity", 0, limits.max_quantity)
        if not q.is_integer():
            raise Invalid("'quantity' must be a whole number")
        event["quantity"] = int(q)
    props = raw.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            raise Invalid("'properties' must be an object")
        clean = _clean_json(props, limits)
        size = len(dumps(clean).encode())
        if size > limits.max_properties_bytes:
            raise Invalid(f"'properties' is {size} bytes, over {limits.max_properties_bytes}")
        if clean:
            event["properties"] = clean
    ctx = _context(raw.get("context"))
    if ctx:
        event["context"] = ctx
    return event


def event_line(event: dict[str, Any]) -> str:
    """The offline JSON-lines shape (ts back to RFC 3339)."""
    return json.dumps({**event, "ts": format_ts(event["ts"])}, separators=(",", ":"), sort_keys=True)


def parse_event_line(line: str) -> dict[str, Any]:
    """One offline JSON line back to the in-memory shape (ts as unix seconds) for `Profile.fold`."""
    event = json.loads(line)
    if isinstance(event.get("ts"), str):
        event["ts"] = round(parse_ts(event["ts"]), 3)
    return event  # type: ignore[no-any-return]
