# SPDX-License-Identifier: Apache-2.0
"""Rule segments and the context names editors' expressions can read.

Every name that depends on the clock calls `env.bound(t)` with the moment its value next
changes, so a rendered block's ttl never outlives the decision it was based on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slotwise.gateway.common.vocabulary import UTM_KEYS, WEEKDAYS
from slotwise.gateway.context.clock import next_business_change, next_local
from slotwise.gateway.rules.expr import Compiled, Env, NameSpec, name_spec


@dataclass(frozen=True)
class Segment:
    name: str
    rule: Compiled
    description: str = ""

    def evaluate(self, env: Env) -> bool:
        return self.rule.evaluate(env)


def _ctx(getter: Any) -> Any:
    def resolve(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> Any:
        return getter(env.ctx)

    resolve.context_getter = getter  # type: ignore[attr-defined]  # the parser calls it directly
    return resolve


def _hour(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> int:
    env.bound(next_local(env.ctx.local, hour=True))
    return int(env.ctx.local.hour)


def _minute(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> int:
    env.bound(next_local(env.ctx.local, minute=True))
    return int(env.ctx.local.minute)


def _day_value(attr: str) -> Any:
    def resolve(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> Any:
        env.bound(next_local(env.ctx.local, day=True))
        return getattr(env.ctx.local, attr)

    return resolve


def _month(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> int:
    env.bound(next_local(env.ctx.local, day=True))
    return int(env.ctx.local.dt.month)


def _daypart(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> str:
    env.bound(next_local(env.ctx.local, hour=True))
    return str(env.ctx.local.daypart)


def _business(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> bool:
    env.bound(next_business_change(env.ctx.local, env.site))
    return bool(env.ctx.local.business_hours)


def _attr(env: Env, wild: tuple[str, ...], args: tuple[Any, ...]) -> Any:
    return env.attributes.get(wild[0])


# Registered by config.registries (never on import).
CONTEXT_NAMES: tuple[NameSpec, ...] = (
    name_spec("device.class", "str", _ctx(lambda c: c.device.cls), doc="mobile, tablet, desktop or bot"),
    name_spec("device.os", "str", _ctx(lambda c: c.device.os), doc="operating system family, e.g. iOS"),
    name_spec("device.browser", "str", _ctx(lambda c: c.device.browser), doc="browser family"),
    name_spec("device.bot", "bool", _ctx(lambda c: c.device.is_bot), doc="a crawler or bot"),
    name_spec("local.hour", "num", _hour, doc="visitor's local hour, 0-23"),
    name_spec("local.minute", "num", _minute, doc="visitor's local minute, 0-59"),
    name_spec("local.weekday", "str", _day_value("weekday"), doc=f"one of {', '.join(WEEKDAYS)}"),
    name_spec("local.date", "str", _day_value("date"), doc="local date, YYYY-MM-DD"),
    name_spec("local.month", "num", _month, doc="local month, 1-12"),
    name_spec("local.daypart", "str", _daypart, doc="night (0-5), morning (6-11), afternoon (12-17), evening (18-23)"),
    name_spec("local.business_hours", "bool", _business, doc="within the site's business hours"),
    name_spec("geo.country", "str", _ctx(lambda c: c.geo.country), doc="ISO 3166-1 alpha-2, from trusted sources only"),
    name_spec("geo.region", "str", _ctx(lambda c: c.geo.region), doc="region code from a trusted CDN header"),
    name_spec(
        "referrer.class", "str", _ctx(lambda c: c.referrer.cls), doc="search, social, email, internal, direct or other"
    ),
    name_spec("referrer.host", "str", _ctx(lambda c: c.referrer.host), doc="referring host name"),
    *(
        name_spec(f"utm.{_key}", "str", _ctx(lambda c, k=_key: c.utm.get(k)), doc=f"utm_{_key} of the page URL")
        for _key in UTM_KEYS
    ),
    name_spec("language", "str", _ctx(lambda c: c.language), doc="primary language subtag, e.g. de"),
    name_spec("page.url", "str", _ctx(lambda c: c.url), doc="the page URL"),
    name_spec("page.path", "str", _ctx(lambda c: c.path), doc="the page path"),
    name_spec("page.item_id", "str", _ctx(lambda c: c.item_id), doc="the catalog item of the page"),
    name_spec("consent.level", "str", _ctx(lambda c: c.consent.level), doc="none, anonymous or full"),
    name_spec("consent.gpc", "bool", _ctx(lambda c: c.consent.gpc), doc="Global Privacy Control signal"),
    name_spec("attr.*", "any", _attr, doc="an attribute declared under `attributes` (CRM data)"),
)
