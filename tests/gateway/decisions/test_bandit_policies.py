# SPDX-License-Identifier: Apache-2.0
"""Bandit policies: learning, probabilities, floors, exploration, state, delays, discounting, hostile input.

Statistical tests run with fixed seeds and margins far from the observed figures, so they do
not flake; each can fail when the behaviour breaks.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from slotwise.gateway.decisions.bandits import (
    POLICIES,
    UCB1,
    Counters,
    EpsilonGreedy,
    ThompsonSampling,
    make_policy,
    policy_from_state,
)

NON_CONTEXTUAL = ["thompson", "ucb1", "epsilon_greedy"]


def play(policy, rates, steps, seed=0, delay=1):
    rng = np.random.default_rng(seed)
    pending = []
    chosen = []
    for _ in range(steps):
        arm = policy.choose()
        chosen.append(arm)
        pending.append((arm, float(rng.random() < rates[arm])))
        if len(pending) >= delay:
            for a, r in pending:
                policy.update(a, r)
            pending = []
    return np.bincount(chosen, minlength=len(rates))


@pytest.mark.parametrize("name", NON_CONTEXTUAL)
def test_each_policy_finds_the_best_arm_in_a_clear_setting(name):
    rates = [0.1, 0.1, 0.35, 0.1, 0.1]
    policy = make_policy(name, 5, seed=3)
    counts = play(policy, rates, 3000, seed=1)
    assert counts.argmax() == 2
    assert counts[2] / counts.sum() > 0.6
    assert np.argmax(policy.probabilities()) == 2


def test_thompson_with_delayed_rewards_still_finds_the_best_arm():
    policy = ThompsonSampling(10, seed=2)
    rates = [0.2] * 10
    rates[7] = 0.4
    counts = play(policy, rates, 4000, seed=2, delay=100)
    assert counts.argmax() == 7
    assert policy.probabilities()[7] > 0.9


def test_delayed_updates_give_the_same_state_as_immediate_ones():
    now, later = ThompsonSampling(3, seed=1), ThompsonSampling(3, seed=1)
    log = [(i % 3, float(i % 2)) for i in range(60)]
    for arm, reward in log:
        now.update(arm, reward)
    for _ in range(60):
        later.choose()  # decisions made while rewards are in flight
    for arm, reward in reversed(log):
        later.update(arm, reward)
    assert now.state() == later.state()


def test_revenue_thompson_finds_the_arm_with_the_highest_mean_order_value():
    rng = np.random.default_rng(4)
    means = [20.0, 35.0, 25.0]
    policy = ThompsonSampling(3, seed=4, reward="revenue")
    chosen = []
    for _ in range(3000):
        arm = policy.choose()
        chosen.append(arm)
        # most visits pay nothing; a purchase pays an exponential amount around the arm's value
        value = float(rng.exponential(means[arm] * 5)) if rng.random() < 0.2 else 0.0
        policy.update(arm, value)
    counts = np.bincount(chosen, minlength=3)
    assert counts.argmax() == 1
    assert policy.probabilities()[1] > 0.5


@pytest.mark.parametrize("name", [*NON_CONTEXTUAL, "contextual_thompson"])
@pytest.mark.parametrize("settings", [{}, {"min_share": 0.05}, {"min_share": 0.2, "explore": 2}])
def test_probabilities_sum_to_one_respect_the_floor_and_match_the_choices(name, settings):
    policy = make_policy(name, 5, seed=11, **settings)
    rng = np.random.default_rng(5)
    for _ in range(40):  # some learning, so the policy is no longer uniform
        arm = int(rng.integers(4))  # arm 4 never pulled: stays inside the exploration window
        policy.update(arm, float(rng.random() < 0.2 + 0.15 * arm))
    p = np.array(policy.probabilities())
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(p >= settings.get("min_share", 0.0) - 1e-12)
    freq = np.bincount([policy.choose() for _ in range(20000)], minlength=5) / 20000
    assert np.abs(freq - p).max() < 0.02, (freq, p)


def test_exploration_window_is_uniform_over_the_arms_still_in_it():
    policy = UCB1(4, seed=0, explore=3)
    for _ in range(3):
        policy.update(0, 1.0)
        policy.update(1, 0.0)
    assert policy.probabilities() == [0.0, 0.0, 0.5, 0.5]
    assert {policy.choose() for _ in range(200)} == {2, 3}
    for arm in (2, 3):
        for _ in range(3):
            policy.update(arm, 0.0)
    assert policy.probabilities() == [1.0, 0.0, 0.0, 0.0]  # window over: UCB takes the best mean


def test_epsilon_greedy_probabilities_are_exact():
    policy = EpsilonGreedy(4, seed=0, epsilon=0.2, min_share=0.05)
    for arm, reward in [(0, 0.0), (1, 1.0), (2, 0.0), (3, 0.0)]:
        policy.update(arm, reward)
    inner = [0.05, 0.85, 0.05, 0.05]  # ε/K everywhere, 1 - ε more on the greedy arm
    expected = [0.05 + 0.8 * q for q in inner]
    assert policy.probabilities() == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_state_round_trips_through_json(name):
    policy = make_policy(name, 4, seed=9, min_share=0.02, explore=1, discount=0.999)
    rng = np.random.default_rng(1)
    for _ in range(200):
        ctx = {"device": ["mobile", "desktop"][int(rng.integers(2))]}
        arm = policy.choose(ctx)
        policy.update(arm, float(rng.random() < 0.3), ctx)
    state = json.loads(json.dumps(policy.state()))
    again = policy_from_state(state, seed=9)
    assert type(again) is type(policy)
    assert again.state() == policy.state()
    for ctx in (None, {"device": "mobile"}, {"device": "tablet"}):
        assert again.probabilities(ctx) == pytest.approx(policy.probabilities(ctx), abs=1e-12)


def test_counters_passed_in_are_the_state():
    counters = Counters(3)
    policy = ThompsonSampling(3, seed=0, counters=counters)
    policy.update(2, 1.0)
    assert counters.to_dict() == {"pulls": [0, 0, 1], "n": [0.0, 0.0, 1.0], "sum": [0.0, 0.0, 1.0],
                                  "sum_squares": [0.0, 0.0, 1.0]}  # fmt: skip


def share_of_new_best(discount, seed):
    policy = ThompsonSampling(2, seed=seed, discount=discount)
    rng = np.random.default_rng(seed)
    late = []
    for t in range(6000):
        rates = (0.6, 0.3) if t < 4000 else (0.3, 0.6)  # preferences drift
        arm = policy.choose()
        policy.update(arm, float(rng.random() < rates[arm]))
        if t >= 4500:
            late.append(arm)
    return float(np.mean(late)), policy


def test_discounting_forgets_old_preferences():
    kept, _ = share_of_new_best(1.0, seed=1)
    forgot, discounted = share_of_new_best(0.99, seed=1)
    assert forgot > 0.85
    assert forgot > kept + 0.1
    assert discounted.counters.n.sum() <= 1 / (1 - 0.99) + 1e-6  # the weight of the past is bounded
    assert discounted.counters.pulls.sum() == 6000  # lifetime pulls are never discounted


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_arms": 0}, "n_arms"),
        ({"n_arms": -3}, "n_arms"),
        ({"n_arms": 2.5}, "n_arms"),
        ({"n_arms": True}, "n_arms"),
        ({"n_arms": 3, "min_share": 0.4}, "min_share"),
        ({"n_arms": 3, "min_share": -0.1}, "min_share"),
        ({"n_arms": 3, "min_share": math.nan}, "min_share"),
        ({"n_arms": 3, "explore": -1}, "explore"),
        ({"n_arms": 3, "discount": 0.0}, "discount"),
        ({"n_arms": 3, "discount": 1.5}, "discount"),
        ({"n_arms": 3, "reward": "likes"}, "reward"),
        ({"n_arms": 3, "seed": "x"}, "seed"),
    ],
)
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_hostile_settings_name_the_field(name, kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        make_policy(name, **kwargs)


@pytest.mark.parametrize(
    ("name", "settings", "field"),
    [
        ("epsilon_greedy", {"epsilon": 1.5}, "epsilon"),
        ("epsilon_greedy", {"epsilon": -0.1}, "epsilon"),
        ("epsilon_greedy", {"epsilon": math.nan}, "epsilon"),
        ("ucb1", {"c": -1}, "c"),
        ("thompson", {"prior": (0, 1)}, "prior"),
        ("thompson", {"mc_draws": 5}, "mc_draws"),
        ("contextual_thompson", {"keys": "device"}, "keys"),
        ("contextual_thompson", {"shrinkage": -1}, "shrinkage"),
        ("thompson", {"colour": "blue"}, "settings"),
        ("bogus", {}, "policy"),
    ],
)
def test_hostile_policy_settings(name, settings, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        make_policy(name, 3, **settings)


@pytest.mark.parametrize(
    ("arm", "reward", "field", "kind"),
    [
        (0, math.nan, "reward", "click"),
        (0, math.inf, "reward", "revenue"),
        (0, -1.0, "reward", "click"),
        (0, -5.0, "reward", "revenue"),
        (0, 1e13, "reward", "revenue"),
        (0, 2.0, "reward", "conversion"),
        (0, "1", "reward", "click"),
        (3, 1.0, "arm", "click"),
        (-1, 1.0, "arm", "click"),
        (1.0, 1.0, "arm", "click"),
    ],
)
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_hostile_updates_are_refused_and_leave_the_state_alone(name, arm, reward, field, kind):
    policy = make_policy(name, 3, seed=0, reward=kind)
    before = policy.state()
    with pytest.raises(ValueError, match=f"^{field}:"):
        policy.update(arm, reward)
    assert policy.state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s["arms"].update(n=[1.0]), "arms.n"),
        (lambda s: s["arms"].update(sum=[math.nan, 0.0, 0.0]), "arms.sum"),
        (lambda s: s["arms"].update(pulls=[-1, 0, 0]), "arms.pulls"),
        (lambda s: s.update(policy="other"), "policy"),
        (lambda s: s["settings"].update(min_share=0.9), "min_share"),
    ],
)
def test_hostile_state_is_refused(change, field):
    state = ThompsonSampling(3, seed=0).state()
    change(state)
    with pytest.raises(ValueError, match=f"^{field}"):
        policy_from_state(state)


@pytest.mark.parametrize("name", sorted(POLICIES))
@pytest.mark.parametrize("reward", ["click", "revenue"])
def test_extreme_counters_never_give_nan_probabilities(name, reward):
    policy = make_policy(name, 3, seed=0, reward=reward)
    big = 1e12 if reward == "revenue" else 1.0
    for arm, value in [(0, 0.0), (1, big), (2, 0.0)] * 3:
        policy.update(arm, value)
    p = policy.probabilities()
    assert all(math.isfinite(x) for x in p) and sum(p) == pytest.approx(1.0)
    assert 0 <= policy.choose() < 3


def test_one_arm_is_always_chosen():
    policy = ThompsonSampling(1, seed=0, min_share=1.0)
    assert policy.choose() == 0 and policy.probabilities() == [1.0]
