# SPDX-License-Identifier: Apache-2.0
"""The connector base class: HTTP with retries, backoff and timeouts, paging, incremental cursors.

A catalog connector subclasses `Connector`, sets `name`, and implements `fetch(cursor)`, which
yields raw items already mapped to the items shape of the catalog (item_id, title, url, image,
price, currency, categories, tags, text, updated_at). `sync(cursor)` wraps it: it normalizes and
de-duplicates items, counts what happened in `self.stats`, and leaves the cursor for the next
incremental run in `self.cursor`.

All HTTP goes through `request()` / `get_json()` so every connector gets the same behaviour:
retry on 429, 5xx and transport errors with exponential backoff honouring `Retry-After`, a hard
timeout per request, `If-None-Match` for URLs whose ETag the cursor remembers, and errors that
name the URL and status at fault.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from slotwise.gateway.common.items import ITEM_FIELDS, normalize_item
from slotwise.gateway.common.types import Item as Item

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ConnectorError(Exception):
    """A sync failed: the message names the URL and the reason."""


class AuthError(ConnectorError):
    """401/403: credentials missing or wrong (never retried)."""


class MalformedResponse(ConnectorError):
    """The far side answered 2xx with something that is not the JSON shape we need."""


class NotJSON(MalformedResponse):
    """The body is not JSON at all (often an HTML page: a wrong URL or a login wall)."""


class NotModified(Exception):
    """Internal signal: the URL answered 304 to our If-None-Match."""


@dataclass
class Cursor:
    """What an incremental sync resumes from; JSON-serializable through to_dict/from_dict."""

    modified_after: str | None = None  # RFC 3339, the newest `updated_at` seen so far
    etags: dict[str, str] = field(default_factory=dict)  # request key -> ETag

    def to_dict(self) -> dict[str, Any]:
        return {"modified_after": self.modified_after, "etags": dict(self.etags)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Cursor:
        if not data:
            return cls()
        etags = data.get("etags") or {}
        return cls(
            data.get("modified_after") or None,
            {str(k): str(v) for k, v in etags.items()} if isinstance(etags, dict) else {},
        )


@dataclass
class SyncStats:
    items: int = 0  # items yielded
    skipped: int = 0  # raw items without id/title, or unusable
    pages: int = 0  # 2xx pages read
    not_modified: int = 0  # 304 answers (nothing new behind that URL)
    retries: int = 0
    requests: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # a copy: the warnings list is not shared


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_http_date(value)
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_http_date(value: str) -> datetime | None:
    """An RFC 822 / HTTP date as an aware datetime (UTC when it names no zone), or None."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def to_rfc3339(value: Any) -> str | None:
    """A CMS date (ISO 8601, maybe without zone: taken as UTC) as RFC 3339 UTC, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize(raw: Mapping[str, Any]) -> Item | None:
    """The catalog shape of a mapped item (`gateway.common.items` rules, every field present),
    or None when the gateway would not take it as an item."""
    item = normalize_item(raw)
    if item is None:
        return None
    return {**dict.fromkeys(ITEM_FIELDS), "price": None, **item}


class Connector:
    """Base class of catalog connectors; see the module docstring."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        page_size: int = 100,
        max_pages: int = 10_000,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConnectorError(f"url must start with http:// or https://, got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.page_size = page_size
        self.max_pages = max_pages
        self.options: dict[str, Any] = dict(options or {})
        self._sleep = sleep
        self._own_client = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            auth=auth,
            headers={"User-Agent": "slotwise-connector/0.1", "Accept": "application/json", **dict(headers or {})},
        )
        self.cursor = Cursor()
        self.stats = SyncStats()
        self.last_response: httpx.Response | None = None  # of the latest get_json()

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what subclasses implement -----------------------------------------------------------
    def fetch(self, cursor: Cursor) -> Iterator[Item]:
        """Yield items in the catalog shape changed since `cursor` (everything when empty)."""
        raise NotImplementedError

    # -- the sync loop ----------------------------------------------------------------------
    def sync(self, cursor: Cursor | None = None) -> Iterator[Item]:
        """Normalized, de-duplicated items; afterwards `self.cursor` resumes from here."""
        start = cursor or Cursor()
        self.stats = SyncStats()
        # New ETags are collected into a fresh cursor so stale ones do not pile up.
        self.cursor = Cursor(start.modified_after, {})
        self._previous_etags = dict(start.etags)
        # A connector whose items carry no date may set this (e.g. from the server's Date
        # header at the start of the run) to move the cursor on anyway.
        self.high_water: str | None = None
        newest = start.modified_after
        seen: set[str] = set()
        for raw in self.fetch(start):
            item = normalize(raw)
            if item is None:
                self.stats.skipped += 1
                continue
            if item["item_id"] in seen:
                continue
            seen.add(item["item_id"])
            updated = to_rfc3339(item.get("updated_at"))
            item["updated_at"] = updated
            if updated and (newest is None or updated > newest):
                newest = updated
            self.stats.items += 1
            yield item
        if self.high_water and (newest is None or self.high_water > newest):
            newest = self.high_water
        self.cursor.modified_after = newest

    # -- HTTP ------------------------------------------------------------------------------
    def absolute(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request with retries on 429/5xx/transport errors; raises ConnectorError otherwise."""
        url = self.absolute(path)
        attempt = 0
        while True:
            attempt += 1
            self.stats.requests += 1
            try:
                response = self.client.request(method, url, params=params, headers=headers)
            except httpx.TimeoutException:
                reason, wait = f"timed out after {self.timeout:g}s", None
            except httpx.TransportError as exc:
                reason, wait = f"connection failed ({exc.__class__.__name__}: {exc})", None
            else:
                status = response.status_code
                if status in (401, 403):
                    raise AuthError(
                        f"{url}: HTTP {status} — check the credentials (this endpoint refused them or needs some)"
                    )
                if status not in RETRY_STATUSES:
                    if status == 304 or 200 <= status < 300:
                        return response
                    raise ConnectorError(f"{url}: HTTP {status} {_snippet(response)}")
                reason = f"HTTP {status}"
                wait = parse_retry_after(response.headers.get("Retry-After"))
            if attempt > self.retries:
                raise ConnectorError(f"{url}: {reason} (gave up after {attempt} attempts)")
            if wait is None:
                wait = self.backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.25)
            self.stats.retries += 1
            self._sleep(min(wait, self.max_backoff))

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, etag_key: str | None = None
    ) -> tuple[Any, httpx.Response]:
        """GET and decode JSON. With `etag_key`, a remembered ETag is sent as If-None-Match and
        a 304 raises NotModified; the response's ETag is remembered for the next run."""
        headers: dict[str, str] = {}
        previous = getattr(self, "_previous_etags", {}).get(etag_key) if etag_key else None
        if previous:
            headers["If-None-Match"] = previous
        response = self.request("GET", path, params=params, headers=headers)
        self.last_response = response
        if response.status_code == 304:
            self.stats.not_modified += 1
            if etag_key and previous:
                self.cursor.etags[etag_key] = previous
            raise NotModified(etag_key or path)
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise NotJSON(
                f"{response.request.url}: not JSON ({exc.__class__.__name__}: {exc}) {_snippet(response)}"
            ) from None
        etag = response.headers.get("ETag")
        if etag_key and etag:
            self.cursor.etags[etag_key] = etag
        self.stats.pages += 1
        return data, response

    def paginate(
        self, path: str, params: Mapping[str, Any] | None = None, *, etag_key: str | None = None
    ) -> Iterator[list[Any]]:
        """Pages of a `page`/`per_page` list endpoint (WordPress style: `X-WP-TotalPages`).

        Stops at the announced total, at a short or empty page, or at the out-of-range 400 that
        WordPress answers for `page` past the end. Only the first page carries If-None-Match:
        when it is unchanged the whole listing is taken as unchanged."""
        page = 1
        while page <= self.max_pages:
            query = {**dict(params or {}), "per_page": self.page_size, "page": page}
            try:
                data, response = self.get_json(path, query, etag_key=etag_key if page == 1 else None)
            except NotModified:
                return
            except ConnectorError as exc:
                if page > 1 and "HTTP 400" in str(exc) and "rest_post_invalid_page_number" in str(exc):
                    return
                raise
            if not isinstance(data, list):
                raise MalformedResponse(f"{response.request.url}: expected a JSON list, got {type(data).__name__}")
            yield data
            total = _int_header(response, "X-WP-TotalPages")
            if not data or (total is not None and page >= total) or (total is None and len(data) < self.page_size):
                return
            page += 1
        self.stats.warnings.append(f"{path}: stopped after max_pages={self.max_pages}")


def shift(rfc3339: str, seconds: float) -> str:
    """An RFC 3339 UTC time moved by `seconds` (overlap windows for modified-after queries)."""
    dt = datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() + seconds
    return datetime.fromtimestamp(dt, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date_to_rfc3339(value: str | None) -> str | None:
    when = parse_http_date(value) if value else None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers.get(name, ""))
    except ValueError:
        return None


def _snippet(response: httpx.Response) -> str:
    text = response.text[:200].replace("\n", " ").strip()
    return f"— {text}" if text else ""
