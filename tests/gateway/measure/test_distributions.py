# SPDX-License-Identifier: Apache-2.0
"""The pure-Python distribution functions against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sp

from slotwise.gateway.measure import distributions as d

DFS = [1, 1.5, 2, 3, 4.7, 10, 29.3, 100, 1e3, 1e4, 1e5, 1e6, 3e6, 1e8]
RNG = np.random.default_rng(11)
TS = [*RNG.normal(0, 3, 25).tolist(), 0.0, 0.5, 1.96, 5.0, 12.0, -40.0]
PS = [1e-6, 1e-4, 0.001, 0.0125, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.95, 0.975, 0.999]


def test_normal_cdf_sf_and_quantile() -> None:
    xs = np.linspace(-9, 9, 181)
    assert max(abs(d.norm_cdf(x) - sp.norm.cdf(x)) for x in xs) < 1e-15
    assert max(abs(d.norm_sf(x) - sp.norm.sf(x)) for x in xs) < 1e-15
    assert max(abs(d.norm_pdf(x) - sp.norm.pdf(x)) for x in xs) < 1e-15
    ps = [1e-300, 1e-20, 1e-10, 0.02425, 0.5, 1 - 1e-12, *RNG.uniform(0, 1, 200).tolist()]
    for p in ps:
        assert d.norm_ppf(p) == pytest.approx(sp.norm.ppf(p), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("df", DFS)
def test_student_t_sf_and_cdf(df: float) -> None:
    for t in TS:
        assert abs(d.t_sf(t, df) - sp.t.sf(t, df)) < 1e-11, t
        assert abs(d.t_cdf(t, df) - sp.t.cdf(t, df)) < 1e-11, t


@pytest.mark.parametrize("df", DFS)
def test_student_t_quantile(df: float) -> None:
    for p in PS:
        assert d.t_ppf(p, df) == pytest.approx(sp.t.ppf(p, df), rel=1e-9, abs=1e-10), p


def test_student_t_pdf() -> None:
    for df in DFS:
        for t in TS[:10]:
            assert d.t_pdf(t, df) == pytest.approx(sp.t.pdf(t, df), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 10, 50, 99])
def test_chi_square_sf(k: int) -> None:
    for x in [0.0, 0.01, 0.5, 1, 3, 10, 50, 100, 200, 500]:
        assert abs(d.chi2_sf(x, k) - sp.chi2.sf(x, k)) < 1e-13


def test_out_of_range_arguments_are_refused() -> None:
    for bad in (lambda: d.norm_ppf(0.0), lambda: d.t_ppf(1.0, 3), lambda: d.t_sf(1.0, 0), lambda: d.chi2_sf(1, 0)):
        with pytest.raises(ValueError):
            bad()
