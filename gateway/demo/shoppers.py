# SPDX-License-Identifier: Apache-2.0
"""The hidden ground truth of `slotwise simulate`: how each simulated shopper answers a page.

A shopper has a planted persona, a favourite category, a device, a day part and a country. What
they click and buy depends only on these and on what the gateway showed them, through the rates
below, which the gateway never sees. Every purchase has one of three independent causes: an
organic one (the persona's base rate), a click on the hero banner, or a click on a recommended
item, so the chance that a visit converts is known exactly for any page (`conversion_chance`),
including the page the visitor did not get (the default blocks) and the best possible page
(`oracle_chance`). That is where the simulation's lift comes from, and what it is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slotwise.gateway.common.vocabulary import daypart
from slotwise.gateway.demo.simulate import EASY, HOURS, Simulation

# Per persona: organic purchase chance of a visit, and purchase chance after a recommended item click.
BASE_RATE = {"high-value": 0.08, "casual": 0.04, "browsers": 0.01, "lapsed": 0.025}
BUY_AFTER_ITEM = {"high-value": 0.45, "casual": 0.25, "browsers": 0.04, "lapsed": 0.12}
HERO_CLICK = (0.03, 0.06)  # a banner that does not / does fit the visitor's context
BUY_AFTER_HERO = (0.10, 0.15)
ITEM_CLICK = (0.02, 0.05)  # an item outside / inside the visitor's favourite category
# The demo hero's bandit (`season`): each banner's click chance, more when it shows the favourite.
BANDIT_ARMS = {"colours": (("jackets",), 0.02), "denim": (("jeans",), 0.04), "sneakers": (("shoes", "boots"), 0.07)}
BANDIT_FAVOURITE = 0.03
# `--planted-lift`: the whole visit converts at this rate in the holdout, times (1 + lift) otherwise.
PLANTED_RATE = {"high-value": 0.30, "casual": 0.20, "browsers": 0.10, "lapsed": 0.15}
HOME = ("DE", "AT")


@dataclass(frozen=True)
class Shopper:
    visitor_id: str
    persona: str
    favourite: str
    device: str
    hour: int
    weekday: str
    country: str

    @property
    def daypart(self) -> str:
        return daypart(self.hour)


def population(history: Simulation, seed: int) -> list[Shopper]:
    """One returning visit per visitor of the history, on their usual device and day part (mostly)."""
    rng = np.random.default_rng([seed, 1])
    countries = {e["visitor_id"]: e["context"]["country"] for e in history.events if "context" in e}
    shoppers = []
    for vid in sorted(history.planted):
        persona = history.planted[vid]
        p = EASY[persona]
        habit = rng.random() < 0.8
        device = p.device if habit else str(rng.choice(["mobile", "desktop", "tablet"]))
        part = p.daypart if habit else str(rng.choice(list(HOURS)))
        hour = (HOURS[part] + int(rng.integers(0, 3))) % 24
        weekday = str(rng.choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
        shoppers.append(Shopper(vid, persona, history.favourite[vid], device, hour, weekday, countries.get(vid, "DE")))
    return shoppers


def hero_fits(shopper: Shopper, variant: str) -> bool:
    """Whether the hero banner `variant` (the demo's ids) speaks to this shopper's situation."""
    business = shopper.weekday not in ("sat", "sun") and 9 <= shopper.hour < 17
    return {
        "mobile-night": shopper.device == "mobile" and (shopper.daypart == "night" or shopper.hour >= 22),
        "mobile": shopper.device == "mobile",
        "abroad": shopper.country not in HOME,
        "desktop-office": shopper.device != "mobile" and business,
        "shoe-fan": shopper.favourite in ("shoes", "boots"),
    }.get(variant, False)


def bandit_arm(variant: str) -> str | None:
    """The bandit arm of a hero variant id `season:<arm>` (the demo's bandit), else None."""
    _, _, arm = variant.partition(":")
    return arm if variant.startswith("season:") and arm in BANDIT_ARMS else None


def bandit_click(shopper: Shopper, arm: str) -> float:
    """The hidden click chance of a bandit banner for this shopper: the bandit's reward."""
    categories, base = BANDIT_ARMS[arm]
    return base + (BANDIT_FAVOURITE if shopper.favourite in categories else 0.0)


def hero_chances(shopper: Shopper, variant: str) -> tuple[float, float]:
    """(click, purchase after the click) of the hero banner `variant` for this shopper."""
    arm = bandit_arm(variant)
    if arm is not None:
        return bandit_click(shopper, arm), BUY_AFTER_HERO[shopper.favourite in BANDIT_ARMS[arm][0]]
    fit = hero_fits(shopper, variant)
    return HERO_CLICK[fit], BUY_AFTER_HERO[fit]


@dataclass(frozen=True)
class Page:
    """What one render showed: the hero's variant and the recommended items."""

    hero: str
    items: tuple[str, ...]


def item_category(item_id: str) -> str:
    return item_id.rsplit("-", 1)[0]  # demo item ids are `<category>-<nnn>`


def path_chances(shopper: Shopper, page: Page) -> tuple[float, tuple[float, float], list[tuple[float, float]]]:
    """(organic purchase, (hero click, purchase after it), [(item click, purchase after it)])."""
    items = [(ITEM_CLICK[item_category(i) == shopper.favourite], BUY_AFTER_ITEM[shopper.persona]) for i in page.items]
    return BASE_RATE[shopper.persona], hero_chances(shopper, page.hero), items


def conversion_chance(shopper: Shopper, page: Page, planted: float | None = None, treated: bool = False) -> float:
    """The exact chance that this visit ends in a purchase (the causes are independent)."""
    if planted is not None:
        return min(1.0, PLANTED_RATE[shopper.persona] * ((1.0 + planted) if treated else 1.0))
    base, (hero, hero_buy), items = path_chances(shopper, page)
    stay = (1.0 - base) * (1.0 - hero * hero_buy)
    for click, buy in items:
        stay *= 1.0 - click * buy
    return 1.0 - stay


def oracle_chance(shopper: Shopper, n_items: int, planted: float | None = None) -> float:
    """The chance under the best page for this shopper: the best banner, favourite items only."""
    if planted is not None:
        return conversion_chance(shopper, Page("", ()), planted, treated=planted > 0)
    banners = [HERO_CLICK[True] * BUY_AFTER_HERO[True]]
    banners += [click * buy for click, buy in (hero_chances(shopper, f"season:{arm}") for arm in BANDIT_ARMS)]
    stay = (1.0 - BASE_RATE[shopper.persona]) * (1.0 - max(banners))
    stay *= (1.0 - ITEM_CLICK[True] * BUY_AFTER_ITEM[shopper.persona]) ** n_items
    return 1.0 - stay


@dataclass
class Behaviour:
    """What the shopper did on the page: clicks (None: the hero), carted items, an order."""

    hero_click: bool
    item_clicks: list[str]
    carted: list[str]
    order_value: float | None


def behave(
    shopper: Shopper,
    page: Page,
    prices: dict[str, float],
    rng: np.random.Generator,
    planted: float | None = None,
    treated: bool = False,
) -> Behaviour:
    """Draw one visit's clicks and purchase from the hidden rates."""
    base, (hero_p, hero_buy), items = path_chances(shopper, page)
    hero_click = bool(rng.random() < hero_p)
    clicks, carted, value = [], [], 0.0
    bought = False
    if planted is None and hero_click and rng.random() < hero_buy:
        bought, value = True, value + float(rng.gamma(4.0, EASY[shopper.persona].value / 4))
    for item, (click_p, buy_p) in zip(page.items, items, strict=True):
        if rng.random() < click_p:
            clicks.append(item)
            if rng.random() < buy_p and planted is None:
                carted.append(item)
                bought, value = True, value + prices.get(item, 0.0) * (1 + int(rng.poisson(0.3)))
    organic = conversion_chance(shopper, page, planted, treated) if planted is not None else base
    if rng.random() < organic:
        bought, value = True, value + float(rng.gamma(4.0, EASY[shopper.persona].value / 4))
    return Behaviour(hero_click, clicks, carted, round(value, 2) if bought else None)
