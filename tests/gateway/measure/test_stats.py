# SPDX-License-Identifier: Apache-2.0
"""Each statistic against an independent implementation (scipy, statsmodels) to 1e-6 or better."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp
from statsmodels.regression.linear_model import OLS
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats._delta_method import NonlinearDeltaCov
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from slotwise.gateway.measure import stats

RNG = np.random.default_rng(20260501)


def sample_of(values: np.ndarray, binomial: bool = False) -> stats.Sample:
    return stats.Sample(len(values), float(values.sum()), float((values**2).sum()), binomial)


@pytest.mark.parametrize("seed", range(5))
def test_welch_on_means_matches_scipy_and_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 3.0, int(rng.integers(20, 3000)))
    y = rng.gamma(2.1, 3.0, int(rng.integers(20, 3000)))
    diff, result = stats.welch_test(sample_of(x), sample_of(y), alpha=0.05)
    ref = sp.ttest_ind(y, x, equal_var=False)
    assert diff == pytest.approx(y.mean() - x.mean(), abs=1e-12)
    assert result.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    low, high = CompareMeans(DescrStatsW(y), DescrStatsW(x)).tconfint_diff(alpha=0.05, usevar="unequal")
    assert result.ci == pytest.approx((low, high), abs=1e-9)
    dof = stats.welch_dof(float(x.var(ddof=1)), len(x), float(y.var(ddof=1)), len(y))
    assert dof == pytest.approx(CompareMeans(DescrStatsW(y), DescrStatsW(x)).ttest_ind(usevar="unequal")[2], rel=1e-9)


@pytest.mark.parametrize(
    ("n_a", "c_a", "n_b", "c_b"), [(5000, 100, 5100, 130), (800, 400, 700, 300), (100000, 2000, 99000, 2100)]
)
def test_two_proportions_match_statsmodels(n_a: int, c_a: int, n_b: int, c_b: int) -> None:
    a, b = stats.Sample(n_a, c_a, c_a, True), stats.Sample(n_b, c_b, c_b, True)
    diff, result = stats.proportions_ztest(a, b, alpha=0.05)
    ref = sm_proportion.test_proportions_2indep(c_b, n_b, c_a, n_a, method="wald", compare="diff", correction=False)
    assert diff == pytest.approx(c_b / n_b - c_a / n_a, abs=1e-15)
    assert result.p_value == pytest.approx(ref.pvalue, abs=1e-10)
    low, high = sm_proportion.confint_proportions_2indep(c_b, n_b, c_a, n_a, method="wald", compare="diff", alpha=0.05)
    assert result.ci == pytest.approx((low, high), abs=1e-10)


@pytest.mark.parametrize("binomial", [True, False])
def test_relative_lift_delta_method_matches_statsmodels(binomial: bool) -> None:
    for _ in range(5):
        if binomial:
            n_a, n_b = (int(n) for n in RNG.integers(1000, 90000, 2))
            c_a, c_b = float(RNG.binomial(n_a, 0.03)), float(RNG.binomial(n_b, 0.033))
            a, b = stats.Sample(n_a, c_a, c_a, True), stats.Sample(n_b, c_b, c_b, True)
        else:
            a = sample_of(RNG.lognormal(1.0, 1.0, int(RNG.integers(100, 5000))))
            b = sample_of(RNG.lognormal(1.05, 1.0, int(RNG.integers(100, 5000))))
        lift = stats.relative_lift(stats.moments(a), stats.moments(b))
        delta = NonlinearDeltaCov(
            lambda p: np.array([(p[1] - p[0]) / p[0]]),
            np.array([a.mean, b.mean]),
            np.diag([a.variance / a.n, b.variance / b.n]),
        )
        assert lift.estimate == pytest.approx(float(delta.predicted()[0]), rel=1e-12)
        assert lift.variance == pytest.approx(float(delta.cov()[0, 0]), rel=1e-6)
        result = stats.t_interval(lift, alpha=0.05)
        se = math.sqrt(lift.variance)
        assert result.p_value == pytest.approx(2 * sp.t.sf(abs(lift.estimate) / se, lift.dof), abs=1e-10)
        width = sp.t.ppf(0.975, lift.dof) * se
        assert result.ci == pytest.approx((lift.estimate - width, lift.estimate + width), abs=1e-10)


def test_bayesian_posterior_matches_scipy() -> None:
    for _ in range(20):
        lift = stats.Lift(float(RNG.normal(0, 0.1)), float(RNG.uniform(1e-4, 0.02)), 1000.0)
        prior = (float(RNG.normal(0, 0.05)), float(RNG.uniform(0.01, 0.3))) if RNG.random() < 0.5 else None
        post = stats.posterior(lift, alpha=0.05, prior=prior)
        if prior is None:
            mean, var = lift.estimate, lift.variance
        else:  # conjugate normal update
            var = 1 / (1 / lift.variance + 1 / prior[1])
            mean = var * (lift.estimate / lift.variance + prior[0] / prior[1])
        sd = math.sqrt(var)
        assert post.mean == pytest.approx(mean, abs=1e-12)
        assert post.chance_to_win == pytest.approx(sp.norm.sf(0, mean, sd), abs=1e-12)
        assert post.ci == pytest.approx(tuple(sp.norm.ppf([0.025, 0.975], mean, sd)), abs=1e-10)
        # Risk = P(loss) × E[loss | loss] with the truncated normal's mean, as gbstats defines it.
        neg = sp.truncnorm.mean(-np.inf, (0 - mean) / sd, loc=mean, scale=sd)
        pos = sp.truncnorm.mean((0 - mean) / sd, np.inf, loc=mean, scale=sd)
        assert post.risk == pytest.approx(-sp.norm.cdf(0, mean, sd) * neg, abs=1e-9)
        assert post.risk_control == pytest.approx(sp.norm.sf(0, mean, sd) * pos, abs=1e-9)
        inverse = stats.posterior(lift, alpha=0.05, prior=prior, inverse=True)
        assert inverse.chance_to_win == pytest.approx(1 - post.chance_to_win, abs=1e-15)
        assert (inverse.risk, inverse.risk_control) == (post.risk_control, post.risk)


def test_srm_matches_scipy_chisquare() -> None:
    for arms in (2, 3, 5):
        counts = RNG.integers(900, 1100, arms).tolist()
        weights = RNG.dirichlet(np.ones(arms)).tolist()
        expected = np.array(weights) / sum(weights) * sum(counts)
        assert stats.srm_p_value(counts, weights) == pytest.approx(sp.chisquare(counts, expected).pvalue, abs=1e-12)
    assert stats.srm_p_value([0, 0], [1, 1]) == 1.0
    assert stats.srm_p_value([5000, 5600], [1, 1]) < 0.001


@pytest.mark.parametrize(("ours", "method"), [(stats.holm, "holm"), (stats.benjamini_hochberg, "fdr_bh")])
def test_corrections_match_statsmodels(ours: object, method: str) -> None:
    for m in (1, 2, 5, 17):
        p = np.concatenate([RNG.uniform(0, 0.05, m // 2), RNG.uniform(0, 1, m - m // 2)])
        p[0] = p[-1] if m > 2 else p[0]  # a tie
        assert ours(p.tolist()) == pytest.approx(multipletests(p, method=method)[1].tolist(), abs=1e-15)  # type: ignore[operator]


def test_adjusted_ci_inverts_the_adjusted_p_value() -> None:
    low, high = stats.adjusted_ci(0.05, 0.01, 0.05)
    sd = 0.05 / sp.norm.ppf(1 - 0.005)
    assert (low, high) == pytest.approx((0.05 - 1.959964 * sd, 0.05 + 1.959964 * sd), abs=1e-6)
    assert low > 0  # adjusted p below alpha: the adjusted interval excludes 0
    assert stats.adjusted_ci(0.05, 0.2, 0.05)[0] < 0


def test_sequential_interval_and_p_value_are_dual_and_wider_than_fixed() -> None:
    for _ in range(50):
        lift = stats.Lift(float(RNG.normal(0, 0.1)), float(RNG.uniform(1e-4, 0.01)), 5000.0)
        n_total = int(RNG.integers(200, 200000))
        seq = stats.sequential_interval(lift, n_total, alpha=0.05, tuning=5000)
        fixed = stats.t_interval(lift, alpha=0.05)
        assert seq.ci[0] < fixed.ci[0] and seq.ci[1] > fixed.ci[1]
        assert seq.p_value >= fixed.p_value
        # The always-valid p-value is below alpha exactly when 0 is outside the sequence.
        assert (seq.p_value < 0.05) == (seq.ci[0] > 0 or seq.ci[1] < 0)


def test_cuped_theta_and_variance_match_ols_on_raw_data() -> None:
    n_a, n_b = 3000, 3200
    pre = RNG.gamma(2.0, 5.0, n_a + n_b)
    post = 0.7 * pre + RNG.normal(0, 3, n_a + n_b) + np.r_[np.zeros(n_a), np.full(n_b, 0.5)]
    y_a, y_b, x_a, x_b = post[:n_a], post[n_a:], pre[:n_a], pre[n_a:]

    def cov(y: np.ndarray, x: np.ndarray) -> stats.Covariate:
        return stats.Covariate(float(x.sum()), float((x**2).sum()), float((x * y).sum()))

    theta = stats.cuped_theta(sample_of(y_a), cov(y_a, x_a), sample_of(y_b), cov(y_b, x_b))
    slope = OLS(post, np.c_[np.ones_like(pre), pre]).fit().params[1]
    assert theta == pytest.approx(slope, rel=1e-9)
    adjusted = stats.cuped_moments(sample_of(y_b), cov(y_b, x_b), theta)
    residual = y_b - theta * x_b
    assert adjusted.mean == pytest.approx(residual.mean(), rel=1e-10)
    assert adjusted.raw_mean == pytest.approx(y_b.mean(), rel=1e-12)
    assert adjusted.variance == pytest.approx(residual.var(ddof=1), rel=1e-8)
    assert adjusted.variance < 0.5 * y_b.var(ddof=1)


def test_sample_size_matches_statsmodels_power() -> None:
    for effect, unit_var in [(0.05, 2.0), (0.1, 0.5), (-0.02, 8.0)]:
        ours = stats.sample_size_per_arm(effect, unit_var, alpha=0.05, power=0.8)
        d = abs(effect) * math.sqrt(2 / unit_var)  # standardised effect for a two-arm z-test
        ref = NormalIndPower().solve_power(effect_size=d, alpha=0.025, power=0.8, ratio=1, alternative="larger")
        assert ours == pytest.approx(ref, rel=1e-6)
    fixed = stats.sample_size_per_arm(0.05, 2.0)
    sequential = stats.sample_size_per_arm(0.05, 2.0, sequential_tuning=5000)
    assert sequential > fixed  # peeking safety costs sample
    assert stats.sample_size_per_arm(0.0, 2.0) == math.inf
