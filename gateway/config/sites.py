# SPDX-License-Identifier: Apache-2.0
"""Schema of one entry under `sites:` (keys, origins, time zone, business hours, consent)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from slotwise.gateway.common.vocabulary import CONSENT_LEVELS, WEEKDAYS
from slotwise.gateway.config.errors import fail
from slotwise.gateway.config.fields import ENV_REF, Strict
from slotwise.gateway.config.model import BusinessHours, SiteConfig
from slotwise.gateway.context.clock import zone

_ORIGIN = re.compile(r"https?://[^/\s]+|\*")


def _origin(value: str) -> str:
    if not _ORIGIN.fullmatch(value):
        fail(f"expected an origin like https://example.com, got {value!r}")
    return value


def minutes(value: Any) -> int | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value))
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or (int(m.group(1)) == 24 and m.group(2) != "00"):
        return None
    return int(m.group(1)) * 60 + int(m.group(2))


def weekdays(value: Any) -> frozenset[str] | None:
    days: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        text = str(item).strip().lower()
        if ".." in text:
            a, _, b = text.partition("..")
            if a not in WEEKDAYS or b not in WEEKDAYS:
                return None
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            days.extend(WEEKDAYS[(i + k) % 7] for k in range((j - i) % 7 + 1))
        elif text in WEEKDAYS:
            days.append(text)
        else:
            return None
    return frozenset(days)


class BusinessHoursSchema(Strict):
    days: Any = "mon..fri"
    start: Any = "09:00"
    end: Any = "17:00"

    @field_validator("days")
    @classmethod
    def _days(cls, value: Any) -> frozenset[str]:
        days = weekdays(value)
        if days is None:
            fail("expected weekdays like mon..fri or [mon, tue]")
        return days

    @model_validator(mode="after")
    def _order(self) -> BusinessHoursSchema:
        start, end = minutes(self.start), minutes(self.end)
        if start is None or end is None or end <= start:
            fail("start and end are HH:MM with start before end")
        return self

    def runtime(self) -> BusinessHours:
        return BusinessHours(frozenset(self.days), minutes(self.start) or 0, minutes(self.end) or 0)


class SiteSchema(Strict):
    publishable_key: str
    secret_key: str
    origins: list[Annotated[str, AfterValidator(_origin)]] = Field(default_factory=list)
    timezone: str = "UTC"
    business_hours: BusinessHoursSchema | None = None
    default_consent: str = "full"
    honour_dnt: bool = False
    allow_simulation: bool = False
    internal_hosts: list[str] = Field(default_factory=list)
    visitor_secrets: Annotated[list[str], Field(max_length=2)] = Field(default_factory=list)
    require_signed_visitor: bool = False

    @field_validator("visitor_secrets")
    @classmethod
    def _secrets(cls, value: list[str]) -> list[str]:
        for secret in value:
            if ENV_REF.search(secret):
                fail(f"environment variable in {secret!r} is not set")
            if len(secret) < 16:
                fail("each visitor secret needs at least 16 characters")
        return value

    @model_validator(mode="after")
    def _signed_needs_secrets(self) -> SiteSchema:
        if self.require_signed_visitor and not self.visitor_secrets:
            fail("require_signed_visitor needs visitor_secrets")
        return self

    @field_validator("publishable_key", "secret_key")
    @classmethod
    def _env_set(cls, value: str) -> str:
        if ENV_REF.search(value):
            fail(f"environment variable in {value!r} is not set")
        return value

    @field_validator("secret_key")
    @classmethod
    def _differs(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("publishable_key"):
            fail("must differ from the publishable key")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if zone(value) is None:
            fail(f"unknown IANA time zone {value!r}")
        return value

    @field_validator("default_consent")
    @classmethod
    def _consent(cls, value: str) -> str:
        if value not in CONSENT_LEVELS:
            fail(f"must be one of {', '.join(CONSENT_LEVELS)}")
        return value

    def runtime(self, name: str) -> SiteConfig:
        return SiteConfig(
            name,
            self.publishable_key,
            self.secret_key,
            tuple(self.origins),
            self.timezone,
            self.business_hours.runtime() if self.business_hours else BusinessHours(),
            self.default_consent,
            self.honour_dnt,
            self.allow_simulation,
            tuple(h.lower() for h in self.internal_hosts),
            tuple(self.visitor_secrets),
            self.require_signed_visitor,
        )
