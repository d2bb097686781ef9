# SPDX-License-Identifier: Apache-2.0
"""Event validation: one reason per rejected event, never an exception for bad input.

An event is `{event_id, visitor_id, type, ts (RFC 3339), item_id?, value?, currency?,
quantity?, properties?, context?}`. `validate_event` turns a raw JSON value into a clean,
normalized dict (ts as unix seconds) or a short reason naming the field at fault.

Most events take a fast path (`_fast`: plain ASCII ids and text, flat properties, the
common context keys) that builds the same dict as the full checks; anything it does not
recognise goes through the full checks, which alone give the reasons.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slotwise.gateway.common.eventlog import RFC3339, parse_ts

# Re-exported: an event's wire rules and its offline line format belong together.
from slotwise.gateway.common.eventlog import Invalid as Invalid
from slotwise.gateway.common.eventlog import event_line as event_line
from slotwise.gateway.common.eventlog import format_ts as format_ts
from slotwise.gateway.common.jsoncodec import dumps
from slotwise.gateway.common.vocabulary import (
    DAYPART_SET,
    DEVICE_SET,
    EVENT_TYPE_SET,
    FEEDBACK_RATINGS,
    ITEM_EVENT_TYPES,
)

EVENT_TYPES = EVENT_TYPE_SET

FIELDS = frozenset(
    {"event_id", "visitor_id", "type", "ts", "item_id", "value", "currency", "quantity", "properties", "context"}
)
# No user agent and no address: a device class and a country are all a profile needs.
CONTEXT_KEYS = frozenset(
    {"device", "country", "url", "referrer", "timezone", "daypart", "hour", "language", "consent", "gpc"}
)
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
ITEM_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Both ids at once, "event_id visitor_id" (a space is in neither): ID without its `$`, which admits a final newline.
_PLAIN_IDS = re.compile(r"[A-Za-z0-9_.:-]{1,128} [A-Za-z0-9_.:-]{1,128}")
_SCALARS = (bool, int, type(None))


@dataclass(frozen=True)
class Limits:
    max_future_s: float = 300.0
    retention_days: float = 365.0
    max_properties_bytes: int = 4096
    max_properties_keys: int = 50
    max_string: int = 1000
    max_value: float = 1e9
    max_quantity: int = 10000


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
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise Invalid(f"'{field}' must be a finite number")
    # Compare before any float conversion: an integer beyond a float's range would overflow.
    if isinstance(raw, float) and not math.isfinite(raw):
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
    if "device" in out and out["device"] not in DEVICE_SET:
        raise Invalid(f"'context.device' must be one of {', '.join(sorted(DEVICE_SET))}")
    if "country" in out and not (isinstance(out["country"], str) and COUNTRY.match(out["country"].upper())):
        raise Invalid("'context.country' must be an ISO 3166-1 alpha-2 code")
    if "country" in out:
        out["country"] = out["country"].upper()
    if "daypart" in out and out["daypart"] not in DAYPART_SET:
        raise Invalid(f"'context.daypart' must be one of {', '.join(sorted(DAYPART_SET))}")
    return out


def validate_event(raw: Any, now: float, limits: Limits = Limits()) -> dict[str, Any]:
    """A clean event dict, or `Invalid` with the reason. `ts` comes back as unix seconds."""
    event = _fast(raw, now, limits)
    return _validate(raw, now, limits) if event is None else event


def _printable(text: Any, limit: int) -> bool:
    """Printable ASCII of 1-`limit` characters: what every check of text lets through unchanged."""
    return type(text) is str and 0 < len(text) <= limit and text.isascii() and text.isprintable()


def _plain(value: Any, limits: Limits) -> int:
    """For a properties value `_clean_json` returns as it is (printable ASCII, a finite number,
    a short list of those) a bound on the bytes of its JSON; -1 for any other value."""
    kind = type(value)
    if kind is str:
        ok = len(value) <= limits.max_string and value.isascii() and value.isprintable()
        return 2 * len(value) + 2 if ok else -1  # each character escaped at worst
    if kind is list:
        if len(value) > 100:
            return -1
        size = 2
        for v in value:
            if type(v) is str and len(v) <= limits.max_string and v.isascii() and v.isprintable():
                size += 2 * len(v) + 3  # the common element, without a call
                continue
            n = -1 if type(v) is list else _plain(v, limits)
            if n < 0:
                return -1
            size += n + 1
        return size
    if kind is float:
        return 32 if math.isfinite(value) else -1
    if kind is int:
        return 24 if -(10**18) < value < 10**18 else -1
    return 5 if kind is bool or value is None else -1


def _fast(raw: Any, now: float, limits: Limits) -> dict[str, Any] | None:
    """`_validate`'s answer for the common shape of a valid event, or None (then `_validate` decides)."""
    if type(raw) is not dict or not FIELDS.issuperset(raw):
        return None
    event_id, visitor_id, etype, ts_text = raw.get("event_id"), raw.get("visitor_id"), raw.get("type"), raw.get("ts")
    if type(event_id) is not str or type(visitor_id) is not str or type(etype) is not str or type(ts_text) is not str:
        return None
    if etype not in EVENT_TYPES:
        return None
    if not (_PLAIN_IDS.fullmatch(f"{event_id} {visitor_id}") and RFC3339.match(ts_text)):
        return None
    try:
        ts = datetime.fromisoformat(ts_text).timestamp()
    except ValueError:
        return None
    if ts > now + limits.max_future_s or ts < now - limits.retention_days * 86400:
        return None
    event: dict[str, Any] = {"event_id": event_id, "visitor_id": visitor_id, "type": etype, "ts": round(ts, 3)}
    item_id = raw.get("item_id")
    if item_id is not None:
        if not _printable(item_id, 200):
            return None
        event["item_id"] = item_id
    elif etype in ITEM_EVENT_TYPES:
        return None
    value = raw.get("value")
    if value is not None:
        if type(value) not in (int, float) or not -limits.max_value <= value <= limits.max_value:
            return None
        event["value"] = float(value)
    currency = raw.get("currency")
    if currency is not None:
        if not (_printable(currency, 3) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
            return None
        event["currency"] = currency
    quantity = raw.get("quantity")
    if quantity is not None:
        if type(quantity) is not int or not 0 <= quantity <= limits.max_quantity:
            return None
        event["quantity"] = quantity
    props = raw.get("properties")
    if props is not None:
        if type(props) is not dict or len(props) > limits.max_properties_keys:
            return None
        size = 2
        for key, value in props.items():
            n = _plain(value, limits)
            if n < 0 or not _printable(key, 100):
                return None
            size += 2 * len(key) + 4 + n
        if props:
            clean = {k: list(v) if type(v) is list else v for k, v in props.items()}
            # Over the bound, the exact size (ASCII: characters are bytes).
            if size > limits.max_properties_bytes and len(dumps(clean)) > limits.max_properties_bytes:
                return None
            event["properties"] = clean
    if etype == "feedback" and (event.get("properties") or {}).get("rating") not in FEEDBACK_RATINGS:
        return None
    context = raw.get("context")
    if context is not None:
        if type(context) is not dict:
            return None
        ctx = {}
        for key, value in context.items():
            if key in CONTEXT_KEYS:
                kind = type(value)
                if kind is str:
                    if len(value) > 2048 or not (value.isascii() and value.isprintable()):
                        return None
                elif kind not in (bool, int, float):
                    if isinstance(value, (str, int, float)):  # a subclass: `_validate` decides
                        return None
                    continue
                ctx[key] = value
        if not (ctx.get("device", "desktop") in DEVICE_SET and ctx.get("daypart", "morning") in DAYPART_SET):
            return None
        if "country" in ctx:
            country = ctx["country"]
            if not (type(country) is str and len(country) == 2 and country.isalpha()):
                return None
            ctx["country"] = country.upper()
        if ctx:
            event["context"] = ctx
    return event


def _validate(raw: Any, now: float, limits: Limits) -> dict[str, Any]:
    """Every check, in order: the first that fails gives the reason."""
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
    elif etype in ITEM_EVENT_TYPES:
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
    if etype == "feedback" and (event.get("properties") or {}).get("rating") not in FEEDBACK_RATINGS:
        raise Invalid(f"a 'feedback' event needs 'properties.rating': one of {', '.join(FEEDBACK_RATINGS)}")
    ctx = _context(raw.get("context"))
    if ctx:
        event["context"] = ctx
    return event
