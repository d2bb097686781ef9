# SPDX-License-Identifier: Apache-2.0
"""Experiment statistics from summary statistics, following GrowthBook's `gbstats` 0.8.0.

Every function is pure and works on sums (n, Σx, Σx², and for CUPED Σx_pre, Σx_pre², Σx·x_pre)
so results can be computed from live counters. Conventions (see docs/experiments.md):
sample variance with n − 1 for means and p(1 − p) for proportions; relative lift (b − a) / a
with a delta-method variance; Welch–Satterthwaite degrees of freedom; a Gaussian posterior on
the relative lift; Waudby-Smith/Howard confidence sequences; a chi-square SRM check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from slotwise.gateway.measure.distributions import chi2_sf, norm_cdf, norm_pdf, norm_ppf, norm_sf, t_ppf, t_sf


@dataclass(frozen=True)
class Sample:
    """One arm's summary statistics for one metric."""

    n: int
    sum: float
    sum_squares: float
    binomial: bool = False

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.binomial:
            return self.mean * (1.0 - self.mean)
        if self.n <= 1:
            return 0.0
        return (self.sum_squares - self.sum**2 / self.n) / (self.n - 1)


@dataclass(frozen=True)
class Moments:
    """What a comparison needs of an arm: `mean` may be CUPED-adjusted, `raw_mean` never is."""

    n: int
    mean: float
    raw_mean: float
    variance: float


@dataclass(frozen=True)
class Lift:
    estimate: float
    variance: float
    dof: float


@dataclass(frozen=True)
class Interval:
    ci: tuple[float, float]
    p_value: float


@dataclass(frozen=True)
class Posterior:
    mean: float
    sd: float
    ci: tuple[float, float]
    chance_to_win: float
    risk: float  # expected relative loss of choosing the treatment
    risk_control: float  # expected relative loss of keeping the control


def moments(sample: Sample) -> Moments:
    return Moments(sample.n, sample.mean, sample.mean, sample.variance)


def welch_dof(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    num = (var_b / n_b + var_a / n_a) ** 2
    den = var_b**2 / (n_b**2 * (n_b - 1)) + var_a**2 / (n_a**2 * (n_a - 1))
    return num / den if den > 0 else math.inf  # underflow of tiny variances: the normal limit


def relative_lift(a: Moments, b: Moments) -> Lift:
    """(b − a) / a with the delta-method variance on the unadjusted means (gbstats' convention)."""
    ma, mb = a.raw_mean, b.raw_mean
    estimate = (b.mean - a.mean) / ma
    variance = b.variance / (ma**2 * b.n) + a.variance * mb**2 / (ma**4 * a.n)
    return Lift(estimate, variance, welch_dof(a.variance, a.n, b.variance, b.n))


def absolute_difference(a: Moments, b: Moments) -> Lift:
    variance = a.variance / a.n + b.variance / b.n
    return Lift(b.mean - a.mean, variance, welch_dof(a.variance, a.n, b.variance, b.n))


def t_interval(lift: Lift, alpha: float) -> Interval:
    """Two-sided Welch t-test and confidence interval for a lift or difference."""
    se = math.sqrt(lift.variance)
    stat = lift.estimate / se
    width = -t_ppf(alpha / 2.0, lift.dof) * se
    return Interval((lift.estimate - width, lift.estimate + width), min(1.0, 2.0 * t_sf(abs(stat), lift.dof)))


def welch_test(a: Sample, b: Sample, alpha: float = 0.05) -> tuple[float, Interval]:
    """Welch's two-sample t-test on the absolute difference of means: (difference, interval)."""
    lift = absolute_difference(moments(a), moments(b))
    return lift.estimate, t_interval(lift, alpha)


def proportions_ztest(a: Sample, b: Sample, alpha: float = 0.05) -> tuple[float, Interval]:
    """Wald z-test on the difference of two proportions with unpooled variance."""
    diff = b.mean - a.mean
    se = math.sqrt(a.variance / a.n + b.variance / b.n)
    width = -norm_ppf(alpha / 2.0) * se
    return diff, Interval((diff - width, diff + width), min(1.0, 2.0 * norm_sf(abs(diff) / se)))


def sequential_rho(alpha: float, tuning: float) -> float:
    """Mixture width of the normal-mixture confidence sequence, tuned to be tightest near `tuning` units."""
    return math.sqrt((-2.0 * math.log(alpha) + math.log(-2.0 * math.log(alpha) + 1.0)) / tuning)


def sequential_halfwidth(variance: float, n_total: int, alpha: float, tuning: float) -> float:
    """Half-width of the asymptotic confidence sequence (Waudby-Smith et al., eq. 9)."""
    rho2 = sequential_rho(alpha, tuning) ** 2
    s2 = variance * n_total
    return math.sqrt(s2) * math.sqrt(
        2.0 * (n_total * rho2 + 1.0) * math.log(math.sqrt(n_total * rho2 + 1.0) / alpha) / (n_total**2 * rho2)
    )


def sequential_interval(lift: Lift, n_total: int, alpha: float, tuning: float) -> Interval:
    """Confidence sequence and its always-valid p-value (1 / e-value, capped at 1)."""
    width = sequential_halfwidth(lift.variance, n_total, alpha, tuning)
    rho2 = sequential_rho(alpha, tuning) ** 2
    st2 = lift.estimate**2 * n_total / lift.variance
    tr2p1 = n_total * rho2 + 1.0
    log_e = rho2 * st2 / (2.0 * tr2p1) - 0.5 * math.log(tr2p1)
    p_value = 1.0 if log_e <= 0 else math.exp(-log_e)
    return Interval((lift.estimate - width, lift.estimate + width), p_value)


def posterior(lift: Lift, alpha: float, prior: tuple[float, float] | None = None, inverse: bool = False) -> Posterior:
    """Gaussian posterior on the relative lift; `prior` is (mean, variance) on that scale, or flat."""
    if prior is None:
        mean, precision = lift.estimate, 1.0 / lift.variance
    else:
        prior_mean, prior_var = prior
        precision = 1.0 / lift.variance + 1.0 / prior_var
        mean = (lift.estimate / lift.variance + prior_mean / prior_var) / precision
    sd = math.sqrt(1.0 / precision)
    z = -norm_ppf(alpha / 2.0)
    up = norm_sf(-mean / sd)  # P(lift > 0)
    # Expected losses in closed form: E[max(0, -X)] and E[max(0, X)] for X ~ N(mean, sd²).
    loss_b = sd * norm_pdf(mean / sd) - mean * norm_cdf(-mean / sd)
    loss_a = sd * norm_pdf(mean / sd) + mean * norm_cdf(mean / sd)
    if inverse:
        up, loss_a, loss_b = 1.0 - up, loss_b, loss_a
    return Posterior(mean, sd, (mean - z * sd, mean + z * sd), up, max(0.0, loss_b), max(0.0, loss_a))


def srm_p_value(counts: Sequence[int], weights: Sequence[float]) -> float:
    """Chi-square goodness of fit of the arms' sizes against the configured weights."""
    total = sum(counts)
    if total == 0:
        return 1.0
    total_weight = sum(weights)
    stat = 0.0
    for observed, weight in zip(counts, weights, strict=True):
        if weight <= 0:
            continue
        expected = weight / total_weight * total
        stat += (observed - expected) ** 2 / expected
    return chi2_sf(stat, len(counts) - 1)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg step-up adjusted p-values (false discovery rate)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    adjusted = [0.0] * m
    running = 1.0
    for k, i in enumerate(order):
        rank = m - k
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return adjusted


def adjusted_ci(estimate: float, p_adjusted: float, alpha: float) -> tuple[float, float]:
    """Interval consistent with an adjusted p-value (GrowthBook's normal inversion)."""
    if estimate == 0 or p_adjusted >= 1.0:
        return (-math.inf, math.inf) if estimate != 0 else (0.0, 0.0)
    sd = abs(estimate / norm_ppf(max(p_adjusted / 2.0, 1e-300)))
    width = -norm_ppf(alpha / 2.0) * sd
    return (estimate - width, estimate + width)


@dataclass(frozen=True)
class Covariate:
    """The same metric over the pre-exposure period, for CUPED: Σx_pre, Σx_pre², Σ(x·x_pre)."""

    sum: float
    sum_squares: float
    sum_cross: float


def _joint_variance(n: int, total: float, total_sq: float, binomial: bool) -> float:
    return Sample(n, total, total_sq, binomial).variance


def cuped_theta(a: Sample, a_pre: Covariate, b: Sample, b_pre: Covariate) -> float:
    """θ = Cov(y, x) / Var(x) on the pooled pair (control + treatment), as gbstats computes it."""
    n = a.n + b.n
    var_post = _joint_variance(n, a.sum + b.sum, a.sum_squares + b.sum_squares, a.binomial)
    var_pre = _joint_variance(n, a_pre.sum + b_pre.sum, a_pre.sum_squares + b_pre.sum_squares, a.binomial)
    if var_pre == 0 or var_post == 0 or n <= 1:
        return 0.0
    cov = (a_pre.sum_cross + b_pre.sum_cross - (a.sum + b.sum) * (a_pre.sum + b_pre.sum) / n) / (n - 1)
    return cov / var_pre


def cuped_moments(sample: Sample, pre: Covariate, theta: float) -> Moments:
    """Regression-adjusted mean ȳ − θ·x̄ and variance Var(y) + θ²Var(x) − 2θ·Cov(y, x)."""
    pre_sample = Sample(sample.n, pre.sum, pre.sum_squares, sample.binomial)
    cov = (pre.sum_cross - sample.sum * pre.sum / sample.n) / (sample.n - 1) if sample.n > 1 else 0.0
    variance = sample.variance + theta**2 * pre_sample.variance - 2.0 * theta * cov if sample.n > 1 else 0.0
    return Moments(sample.n, sample.mean - theta * pre_sample.mean, sample.mean, variance)


def unit_lift_variance(a: Moments, b: Moments) -> float:
    """n × Var(relative lift) when both arms have n units: the power calculation's per-unit variance."""
    return b.variance / a.raw_mean**2 + a.variance * b.raw_mean**2 / a.raw_mean**4


def sample_size_per_arm(
    effect: float,
    unit_variance: float,
    alpha: float = 0.05,
    power: float = 0.8,
    sequential_tuning: float | None = None,
    two_sided: bool = True,
) -> float:
    """Units per arm at which a true relative `effect` is detected with probability `power`.

    Fixed horizon: n = (z₁₋α/₂ + z_power)² · v / effect². Sequential: the smallest n at which
    the confidence sequence's half-width plus z_power standard errors fits inside |effect|.
    """
    if effect == 0 or unit_variance <= 0:
        return math.inf
    z_power = norm_ppf(power)
    if sequential_tuning is None:
        z_alpha = -norm_ppf(alpha / 2.0) if two_sided else -norm_ppf(alpha)
        return (z_alpha + z_power) ** 2 * unit_variance / effect**2

    def gap(n: float) -> float:
        total = 2.0 * n
        return (
            sequential_halfwidth(unit_variance / n, int(total), alpha, sequential_tuning)
            + z_power * math.sqrt(unit_variance / n)
            - abs(effect)
        )

    lo, hi = 1.0, 2.0
    while gap(hi) > 0:
        lo, hi = hi, hi * 2.0
        if hi > 1e15:
            return math.inf
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
        if hi - lo < 0.5:
            break
    return hi
