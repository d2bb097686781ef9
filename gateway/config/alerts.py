# SPDX-License-Identifier: Apache-2.0
"""Schema of the `alerts` section: the channels alerts go to and the rules that raise them.

alerts:
  every_seconds: 60
  webhooks: [{url: https://hooks.slack.com/services/..., headers: {}}]
  email: {host: smtp.example.com, port: 587, starttls: true, sender: a@x, to: [ops@x], password: ${PW}}
  rules:
    - {name: hero-ctr, kind: kpi, metric: ctr, slot: hero, below: 0.01, drop: 0.3}
    - {name: offer-srm, kind: srm, experiment: offer-x}
    - {name: fallbacks, kind: fallback_rate, above: 0.05}
    - {name: slow, kind: render_p99, above_ms: 250}
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from slotwise.gateway.config.errors import fail
from slotwise.gateway.config.fields import Name, Strict, between

RULE_KINDS = ("kpi", "srm", "fallback_rate", "render_p99")
KPI_METRICS = ("ctr", "conversion_rate")


def _url(value: Any) -> str:
    if not re.fullmatch(r"https?://[^\s/]+\S*", value):
        fail(f"expected an http:// or https:// URL, got {value[:80]!r}")
    return str(value)


def _address(value: Any) -> str:
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", value):
        fail(f"expected an e-mail address, got {value[:80]!r}")
    return str(value)


Address = Annotated[str, AfterValidator(_address)]
_Rate = Annotated[float, Field(ge=0, le=1)]
# The fields each kind reads; any other field set on a rule of that kind is a mistake worth naming.
_FIELDS = {
    "kpi": {
        "metric",
        "site",
        "slot",
        "variant",
        "segment",
        "below",
        "drop",
        "window_days",
        "baseline_days",
        "min_volume",
    },
    "srm": {"site", "experiment"},
    "fallback_rate": {"above", "min_renders"},
    "render_p99": {"above_ms", "min_renders"},
}


class WebhookChannel(Strict):
    """POSTs `{"text": ..., "alert": {...}}` (Slack, Mattermost, Teams workflows, ... read `text`)."""

    url: Annotated[str, AfterValidator(_url)]
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: between(0.1, 60) = 5.0  # type: ignore[valid-type]


class EmailChannel(Strict):
    host: Annotated[str, Field(min_length=1)]
    port: between(1, 65535, int) = 25  # type: ignore[valid-type]
    sender: Address
    to: Annotated[list[Address], Field(min_length=1)]
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout_seconds: between(0.1, 120) = 10.0  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _tls(self) -> EmailChannel:
        if self.ssl and self.starttls:
            fail("choose one of ssl (implicit TLS) and starttls")
        return self


class AlertRule(Strict):
    name: Name
    kind: Literal["kpi", "srm", "fallback_rate", "render_p99"]
    # kpi
    metric: Literal["ctr", "conversion_rate"] | None = None
    site: Name | None = None
    slot: Name | None = None
    variant: str | None = None
    segment: str | None = None
    below: _Rate | None = None
    drop: Annotated[float, Field(gt=0, lt=1)] | None = None
    window_days: between(1, 90, int) = 1  # type: ignore[valid-type]
    baseline_days: between(1, 365, int) = 7  # type: ignore[valid-type]
    min_volume: between(0, 1e12) = 100.0  # type: ignore[valid-type]
    # srm
    experiment: str | None = None
    # health of this process
    above: _Rate | None = None
    above_ms: between(0.01, 600000) | None = None  # type: ignore[valid-type]
    min_renders: between(1, 1e12, int) = 50  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _fits_kind(self) -> AlertRule:
        allowed = _FIELDS[self.kind] | {"name", "kind"}
        stray = sorted(k for k in self.model_fields_set if k not in allowed)
        if stray:
            fail(f"a {self.kind} rule does not read {', '.join(stray)} (it reads {', '.join(sorted(allowed))})")
        if self.kind == "kpi":
            if self.metric is None:
                fail(f"a kpi rule needs metric ({', '.join(KPI_METRICS)})")
            if self.below is None and self.drop is None:
                fail("a kpi rule needs below (a threshold) or drop (a fall against its trailing baseline), or both")
            if self.metric == "ctr" and self.slot is None:
                fail("metric ctr needs a slot (impressions and clicks are counted per slot)")
        if self.kind == "fallback_rate" and self.above is None:
            fail("a fallback_rate rule needs above (a rate between 0 and 1)")
        if self.kind == "render_p99" and self.above_ms is None:
            fail("a render_p99 rule needs above_ms")
        return self


class AlertsSettings(Strict):
    every_seconds: between(1, 86400) = 60.0  # type: ignore[valid-type]
    webhooks: list[WebhookChannel] = Field(default_factory=list)
    email: EmailChannel | None = None
    rules: list[AlertRule] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[AlertRule]) -> list[AlertRule]:
        names = [r.name for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            fail(f"rule names must be unique: {', '.join(twice)}")
        return rules

    @property
    def channels(self) -> int:
        return len(self.webhooks) + (1 if self.email else 0)
