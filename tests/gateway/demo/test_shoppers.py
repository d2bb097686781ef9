# SPDX-License-Identifier: Apache-2.0
"""The simulation's hidden ground truth: exact chances agree with the drawn behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from slotwise.gateway.demo.catalog import build_catalog
from slotwise.gateway.demo.shoppers import (
    Page,
    Shopper,
    behave,
    conversion_chance,
    hero_fits,
    oracle_chance,
    population,
)
from slotwise.gateway.demo.simulate import simulate

PRICES = {it["item_id"]: float(it["price"]) for it in build_catalog()}
FAN = Shopper("v1", "high-value", "shoes", "mobile", 23, "wed", "DE")


def test_the_drawn_purchases_match_the_exact_chance() -> None:
    pages = [Page("default", ("jeans-003", "bags-001")), Page("mobile-night", ("shoes-001", "shoes-002", "boots-003"))]
    for page in pages:
        rng = np.random.default_rng(5)
        draws = 40_000
        bought = sum(behave(FAN, page, PRICES, rng).order_value is not None for _ in range(draws))
        p = conversion_chance(FAN, page)
        assert bought / draws == pytest.approx(p, abs=4 * (p * (1 - p) / draws) ** 0.5)
    # A fitting banner and favourite items convert more; nothing beats the oracle's page.
    assert conversion_chance(FAN, pages[1]) > conversion_chance(FAN, pages[0])
    assert oracle_chance(FAN, 3) >= conversion_chance(FAN, pages[1]) - 1e-12


def test_planted_lift_is_the_only_difference_between_arms() -> None:
    page = Page("default", ())
    treated, control = conversion_chance(FAN, page, 0.2, True), conversion_chance(FAN, page, 0.2, False)
    assert treated / control == pytest.approx(1.2)


def test_context_decides_which_banner_fits() -> None:
    assert hero_fits(FAN, "mobile-night") and hero_fits(FAN, "mobile") and hero_fits(FAN, "shoe-fan")
    office = Shopper("v2", "casual", "jeans", "desktop", 11, "tue", "FR")
    assert hero_fits(office, "desktop-office") and hero_fits(office, "abroad") and not hero_fits(office, "mobile")
    assert not hero_fits(office, "default")


def test_population_is_seeded() -> None:
    history = simulate(build_catalog(), 40, 1_793_500_000.0, 3)
    assert population(history, 1) == population(history, 1)
    assert population(history, 1) != population(history, 2)
    assert {s.persona for s in population(history, 1)} == set(history.planted.values())
