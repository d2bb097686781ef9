# SPDX-License-Identifier: Apache-2.0
"""Bandit rewards from the measurement pipeline: one suite for SQLite and a real Redis.

Each viewable impression with a propensity is a pull; the click or outcome after it is its
reward, counted once whatever the order, duplicates or delay; the policy rebuilt from the
counters moves toward the arm that earns."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from slotwise.gateway.config.model import Arm, Bandit
from slotwise.gateway.decisions.bandit_choice import BanditStates, policy_from_counts
from slotwise.gateway.measure.attribution import DAY, MeasureSettings
from slotwise.gateway.measure.bandit_rewards import UNKNOWN_ARM, BanditRule, parse_key, scope
from slotwise.gateway.visitors.stores.base import Store
from tests.gateway.store_backends import Backend

NOW = 1_790_000_000.0
KEY = "hero-season"
ARMS = ("a", "b", "c")


def bandit(reward: str = "click", window_days: float = 1.0, **settings: Any) -> Bandit:
    arms = tuple(Arm(name, 1.0, {}) for name in ARMS)
    policy = settings.pop("policy", "thompson")
    half_life = settings.pop("half_life_days", None)
    return Bandit(KEY, policy, reward, arms, settings, "running", window_days, half_life)


def settings_for(*bandits: Bandit) -> MeasureSettings:
    return MeasureSettings(
        bandits={
            b.key: BanditRule(b.reward, b.window_days * DAY, frozenset(b.arm_names), b.policy == "contextual_thompson")
            for b in bandits
        }
    )


_ids = iter(range(10**9))


def event(visitor: str, etype: str, ts: float, **fields: Any) -> dict[str, Any]:
    return {"event_id": f"b{next(_ids)}", "visitor_id": visitor, "type": etype, "ts": round(ts, 3), **fields}


def shown(arm: str, **extra: Any) -> dict[str, Any]:
    return {"slot": "home-hero", "variant": f"season:{arm}", "experiment": KEY, "arm": arm, "propensity": 0.25, **extra}


def impression(visitor: str, ts: float, arm: str, **extra: Any) -> dict[str, Any]:
    return event(visitor, "impression", ts, properties=shown(arm, **extra))


def click(visitor: str, ts: float, arm: str) -> dict[str, Any]:
    return event(visitor, "click", ts, properties=shown(arm))


def table(raw: dict[str, float]) -> dict[tuple[str, str], float]:
    """(arm, stat) → total over buckets and days."""
    out: dict[tuple[str, str], float] = {}
    for name, value in raw.items():
        parsed = parse_key(name)
        if parsed:
            arm, _bucket, _day, stat = parsed
            out[(arm, stat)] = out.get((arm, stat), 0.0) + value
    return out


async def counts_of(store: Store) -> dict[str, float]:
    return (await store.counters("shop", [scope(KEY)])).get(scope(KEY), {})


def test_a_click_rewards_the_impression_before_it_once(backend: Backend) -> None:
    async def go(store: Store) -> dict[str, float]:
        first = impression("v1", NOW, "a")
        clicked = click("v1", NOW + 3, "a")
        await store.ingest("shop", [first, clicked, click("v1", NOW + 4, "a")])  # two clicks, one view
        await store.ingest("shop", [first, clicked])  # delivered again: deduplicated by event_id
        await store.ingest("shop", [impression("v2", NOW, "b"), impression("v2", NOW + 60, "b")])
        # A click may arrive before its impression (client.js waits for a visible second).
        await store.ingest("shop", [click("v3", NOW + 100, "c"), impression("v3", NOW + 101, "c")])
        return await counts_of(store)

    got = table(backend.run(go, measure=settings_for(bandit())))
    assert got[("a", "pulls")] == 1 and got[("a", "sum")] == 1
    assert got[("b", "pulls")] == 2 and ("b", "sum") not in got
    assert got[("c", "pulls")] == 1 and got[("c", "sum")] == 1


def test_a_delayed_conversion_in_the_window_counts_once_and_later_ones_do_not(backend: Backend) -> None:
    async def go(store: Store) -> tuple[dict[str, float], dict[str, float]]:
        await store.ingest("shop", [impression("v1", NOW, "a"), impression("v2", NOW, "b")])
        before = dict(await counts_of(store))
        await store.ingest(
            "shop",
            [
                event("v1", "purchase", NOW + 3600, value=50.0),
                event("v1", "signup", NOW + 3700),  # a second outcome of the same impression
                event("v2", "purchase", NOW + 2 * DAY, value=80.0),  # outside the one-day window
                event("v3", "purchase", NOW, value=10.0),  # no impression at all
            ],
        )
        return before, await counts_of(store)

    before, after = backend.run(go, measure=settings_for(bandit("conversion")))
    assert table(before)[("a", "pulls")] == 1 and ("a", "sum") not in table(before)
    got = table(after)
    assert got[("a", "pulls")] == 1 and got[("a", "sum")] == 1 and got[("a", "sumsq")] == 1
    assert got[("b", "pulls")] == 1 and ("b", "sum") not in got


def test_revenue_sums_the_purchases_attributed_to_the_latest_impression(backend: Backend) -> None:
    async def go(store: Store) -> dict[str, float]:
        # Shuffled: the counters are a function of the set of events, not of their order.
        events = [
            impression("v1", NOW, "a"),
            event("v1", "purchase", NOW + 10, value=30.0),
            impression("v1", NOW + 100, "b"),
            event("v1", "purchase", NOW + 200, value=20.0),
            event("v1", "purchase", NOW + 300, value=5.0),
        ]
        random.Random(3).shuffle(events)
        for e in events:
            await store.ingest("shop", [e])
        return await counts_of(store)

    got = table(backend.run(go, measure=settings_for(bandit("revenue"))))
    assert got[("a", "sum")] == 30 and got[("b", "sum")] == 25 and got[("b", "sumsq")] == 625


def test_unknown_arms_and_other_events_never_update_the_bandit(backend: Backend) -> None:
    async def go(store: Store) -> dict[str, float]:
        await store.ingest(
            "shop",
            [
                impression("v1", NOW, "zz"),  # an arm the configuration does not have
                click("v1", NOW + 1, "zz"),
                event("v2", "impression", NOW, properties={**shown("a"), "propensity": 0}),  # no propensity
                event("v3", "impression", NOW, properties={**shown("a"), "kind": "served"}),  # not viewable
                event("v4", "click", NOW, properties=shown("a")),  # a click without any impression
            ],
        )
        return await counts_of(store)

    raw = backend.run(go, measure=settings_for(bandit()))
    assert raw.get(UNKNOWN_ARM) == 1
    assert table(raw) == {}


def test_rebuild_from_the_log_equals_the_incremental_counters(backend: Backend) -> None:
    rng = random.Random(11)
    events = []
    for v in range(30):
        t = NOW + v
        for k in range(rng.randint(1, 4)):
            arm = rng.choice(ARMS)
            events.append(impression(f"v{v}", t + 100 * k, arm))
            if rng.random() < 0.4:
                events.append(click(f"v{v}", t + 100 * k + 2, arm))

    async def go(store: Store) -> tuple[dict[str, float], dict[str, float]]:
        for start in range(0, len(events), 7):
            await store.ingest("shop", events[start : start + 7])
        incremental = dict(await counts_of(store))
        await store.rebuild_measures("shop")
        return incremental, await counts_of(store)

    incremental, rebuilt = backend.run(go, measure=settings_for(bandit()))
    assert table(incremental) == pytest.approx(table(rebuilt))
    assert sum(v for (arm, stat), v in table(rebuilt).items() if stat == "pulls") == sum(
        1 for e in events if e["type"] == "impression"
    )


def test_replicas_choose_from_the_same_state_within_a_second(backend: Backend) -> None:
    """Two processes' caches over one store: after clicks on arm `b`, both move toward it."""
    config = bandit(min_share=0.01)

    async def go(store: Store) -> tuple[list[float], list[float], list[float]]:
        one, two = BanditStates(refresh=0.2), BanditStates(refresh=0.2)
        start = one.view("shop", config, store).probabilities(None)
        two.view("shop", config, store)
        events = []
        for i in range(40):
            arm = ARMS[i % 3]
            events.append(impression(f"r{i}", NOW + i, arm))
            if arm == "b":
                events.append(click(f"r{i}", NOW + i + 1, arm))
        await store.ingest("shop", events)
        await asyncio.sleep(0.3)
        for states in (one, two):
            states.view("shop", config, store)  # past the refresh time: reload in the background
        await asyncio.sleep(0.3)
        return (
            start,
            one.view("shop", config, store).probabilities(None),
            two.view("shop", config, store).probabilities(None),
        )

    start, first, second = backend.run(go, measure=settings_for(config))
    assert start == pytest.approx([1 / 3] * 3, abs=0.02)
    assert first == second  # the same counters give the same figures on every replica
    assert first[1] > 0.9


def test_discounting_halves_old_days_and_leaves_lifetime_pulls() -> None:
    today = int(NOW // DAY)
    raw = {
        f"a\x1f\x1f{today}\x1fpulls": 10.0,
        f"a\x1f\x1f{today}\x1fsum": 5.0,
        f"a\x1f\x1f{today - 7}\x1fpulls": 100.0,
        f"a\x1f\x1f{today - 7}\x1fsum": 0.0,
        "a\x1f\x1fnot-a-day\x1fpulls": 5.0,  # malformed keys are skipped
        f"a\x1f\x1f{today}\x1fsum_nan": float("nan"),
    }
    plain = policy_from_counts(bandit(), raw, today)
    fading = policy_from_counts(bandit(half_life_days=7.0), raw, today)
    assert plain.counters.n[0] == 110 and fading.counters.n[0] == pytest.approx(60)
    assert fading.counters.pulls[0] == plain.counters.pulls[0] == 110
    assert fading.counters.mean()[0] == pytest.approx(5 / 60)


def test_contextual_counters_keep_their_bucket() -> None:
    today = int(NOW // DAY)
    raw = {}
    for bucket, best in (("mobile", "a"), ("desktop", "c")):
        for arm in ARMS:
            raw[f"{arm}\x1f{bucket}\x1f{today}\x1fpulls"] = 200.0
            raw[f"{arm}\x1f{bucket}\x1f{today}\x1fsum"] = 120.0 if arm == best else 20.0
    policy = policy_from_counts(bandit(policy="contextual_thompson", keys=["device"]), raw, today)
    assert policy.counters.n.tolist() == [400.0, 400.0, 400.0]
    assert max(range(3), key=lambda i: policy.probabilities("mobile")[i]) == 0
    assert max(range(3), key=lambda i: policy.probabilities("desktop")[i]) == 2


def test_clicks_on_consecutive_pages_reward_their_own_views(backend: Backend) -> None:
    """Page views two seconds apart: each click belongs to the view of its arm before it."""

    async def go(store: Store) -> dict[str, float]:
        events = []
        for k, arm in enumerate(["a", "a", "b", "a", "c"]):
            t = NOW + 2 * k
            events.append(impression("v1", t + 1.0, arm))
            if arm == "a":
                events.append(click("v1", t + 1.4, arm))
        await store.ingest("shop", events)
        return await counts_of(store)

    got = table(backend.run(go, measure=settings_for(bandit())))
    assert got[("a", "pulls")] == 3 and got[("a", "sum")] == 3
    assert got[("b", "pulls")] == 1 and ("b", "sum") not in got and ("c", "sum") not in got


def test_only_a_contextual_bandit_keeps_buckets(backend: Backend) -> None:
    async def go(store: Store) -> dict[str, float]:
        await store.ingest("shop", [impression(f"v{i}", NOW + i, "a", bucket=f"made-up-{i}") for i in range(5)])
        return await counts_of(store)

    raw = backend.run(go, measure=settings_for(bandit()))
    assert {parse_key(k)[1] for k in raw if parse_key(k)} == {""}  # type: ignore[index]
    raw = backend.run(go, measure=settings_for(bandit(policy="contextual_thompson", keys=["device"])))
    assert {parse_key(k)[1] for k in raw if parse_key(k)} >= {"made-up-0", "made-up-4"}  # type: ignore[index]


@pytest.mark.parametrize("policy", ["thompson", "ucb1", "epsilon_greedy"])
def test_views_are_drawn_with_the_propensities_they_log(policy: str) -> None:
    from slotwise.gateway.decisions.bandit_choice import BanditView

    today = int(NOW // DAY)
    raw = {f"{arm}\x1f\x1f{today}\x1fpulls": 100.0 for arm in ARMS}
    raw |= {f"a\x1f\x1f{today}\x1fsum": 30.0, f"b\x1f\x1f{today}\x1fsum": 25.0, f"c\x1f\x1f{today}\x1fsum": 10.0}
    config = bandit(policy=policy, min_share=0.05)
    view = BanditView(config, policy_from_counts(config, raw, today), 0.0)
    n = 20_000
    picks = [view.choose(None) for _ in range(n)]
    for i, arm in enumerate(config.arms):
        logged = {p for a, p, _ in picks if a is arm}
        assert logged == {view.propensities(None)[i]}  # one state, one propensity per arm
        share = sum(1 for a, _, _ in picks if a is arm) / n
        assert share == pytest.approx(view.probabilities(None)[i], abs=0.012)
    assert view.probabilities(None)[2] >= 0.05  # the floor
