# SPDX-License-Identifier: Apache-2.0
"""Simulations: peeking every day with and without sequential testing; CUPED bias and variance."""

from __future__ import annotations

import numpy as np

from slotwise.gateway.measure import stats

ALPHA = 0.05


def test_daily_peeking_in_aa_tests_keeps_false_positives_within_alpha_only_when_sequential() -> None:
    rng = np.random.default_rng(42)
    experiments, days, daily, rate = 400, 28, 300, 0.1
    conversions = rng.binomial(daily, rate, size=(experiments, days, 2)).cumsum(axis=1)
    fixed_hits = sequential_hits = 0
    for e in range(experiments):
        fixed_hit = sequential_hit = False
        for day in range(days):
            n = daily * (day + 1)
            a, b = (stats.Sample(n, float(c), float(c), True) for c in conversions[e, day])
            lift = stats.relative_lift(stats.moments(a), stats.moments(b))
            fixed_hit |= stats.t_interval(lift, ALPHA).p_value < ALPHA
            sequential_hit |= stats.sequential_interval(lift, 2 * n, ALPHA, tuning=5000).p_value < ALPHA
        fixed_hits += fixed_hit
        sequential_hits += sequential_hit
    fixed_rate, sequential_rate = fixed_hits / experiments, sequential_hits / experiments
    margin = 2 * np.sqrt(ALPHA * (1 - ALPHA) / experiments)
    assert sequential_rate <= ALPHA + margin, sequential_rate
    assert fixed_rate > 2 * ALPHA, fixed_rate  # peeking a fixed-horizon test inflates errors


def test_cuped_is_unbiased_and_shrinks_the_variance_of_the_lift() -> None:
    rng = np.random.default_rng(7)
    true_lift, n = 0.05, 2000
    plain, adjusted, covered = [], [], 0
    for _ in range(300):
        pre = rng.gamma(2.0, 10.0, 2 * n)
        noise = rng.normal(0.0, 6.0, 2 * n)
        post = 0.8 * pre + 4.0 + noise
        post[n:] *= 1 + true_lift  # the treatment multiplies the outcome
        arms = []
        for sl in (slice(0, n), slice(n, 2 * n)):
            y, x = post[sl], pre[sl]
            sample = stats.Sample(n, float(y.sum()), float((y**2).sum()))
            arms.append((sample, stats.Covariate(float(x.sum()), float((x**2).sum()), float((x * y).sum()))))
        (a, a_pre), (b, b_pre) = arms
        plain.append(stats.relative_lift(stats.moments(a), stats.moments(b)).estimate)
        theta = stats.cuped_theta(a, a_pre, b, b_pre)
        lift = stats.relative_lift(stats.cuped_moments(a, a_pre, theta), stats.cuped_moments(b, b_pre, theta))
        adjusted.append(lift.estimate)
        low, high = stats.t_interval(lift, ALPHA).ci
        covered += low <= true_lift <= high
    plain_arr, adjusted_arr = np.array(plain), np.array(adjusted)
    se = adjusted_arr.std(ddof=1) / np.sqrt(len(adjusted_arr))
    assert abs(adjusted_arr.mean() - true_lift) < 3 * se + 1e-3
    assert adjusted_arr.var(ddof=1) < 0.5 * plain_arr.var(ddof=1)
    assert 0.9 <= covered / len(adjusted) <= 0.99
