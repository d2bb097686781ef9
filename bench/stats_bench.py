# SPDX-License-Identifier: Apache-2.0
"""Experiment statistics: agreement with GrowthBook's gbstats 0.8.0, and speed.

    python bench/stats_bench.py [--quick] [--gbstats-python PATH]

1. Agreement: random summary statistics (binomial and mean metrics, with and without CUPED;
   frequentist fixed-horizon and sequential, Bayesian with a flat and a proper prior, SRM) go
   through `slotwise.gateway.measure` and through gbstats, and the maximum absolute difference of
   every field is printed. gbstats pins numpy < 2 and pandas < 2, so it usually lives in its own
   virtual environment: pass its interpreter with --gbstats-python (or GBSTATS_PYTHON); where
   gbstats is not installed that part is skipped and reported as such.
2. Speed: the full `analyze` (validation, SRM, 3 arms, guardrail, verdict) for an experiment
   with 1 million exposures and 20,000 conversions, from summary statistics and from raw exposure
   rows aggregated with numpy; the baseline is scipy's `ttest_ind_from_stats` on the same sums.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slotwise.gateway.measure import stats
from slotwise.gateway.measure.analysis import analyze

# Runs inside the gbstats interpreter: reads cases as JSON on stdin, prints gbstats' results.
GBSTATS_RUNNER = r"""
import json, sys
from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic, RegressionAdjustedStatistic
from gbstats.frequentist.tests import TwoSidedTTest, SequentialTwoSidedTTest, FrequentistConfig, SequentialConfig
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.utils import check_srm

def stat(arm, kind):
    def base(total, squares):
        if kind == "binomial":
            return ProportionStatistic(n=arm["n"], sum=total)
        return SampleMeanStatistic(n=arm["n"], sum=total, sum_squares=squares)
    post = base(arm["sum"], arm["sum_squares"])
    if "sum_pre" not in arm:
        return post
    return RegressionAdjustedStatistic(n=arm["n"], post_statistic=post,
        pre_statistic=base(arm["sum_pre"], arm["sum_pre_squares"]),
        post_pre_sum_of_products=arm["sum_cross"], theta=0)

out = []
for case in json.load(sys.stdin):
    s = case["settings"]
    a, b = (stat(arm, case["metric"]) for arm in case["arms"][:2])
    if s["engine"] == "frequentist":
        if s["sequential"]:
            config = SequentialConfig(alpha=s["alpha"], sequential_tuning_parameter=s["sequential_tuning"])
            test = SequentialTwoSidedTTest(a, b, config)
        else:
            test = TwoSidedTTest(a, b, FrequentistConfig(alpha=s["alpha"]))
        r = test.compute_result()
        row = {"relative_lift": r.expected, "ci": r.ci, "p_value": r.p_value}
    else:
        prior = s["prior"]
        gp = GaussianPrior(mean=prior["mean"], variance=prior["variance"], proper=True) if prior else GaussianPrior()
        r = EffectBayesianABTest(a, b, EffectBayesianConfig(alpha=s["alpha"], prior_effect=gp)).compute_result()
        row = {"relative_lift": r.expected, "ci": r.ci, "chance_to_win": r.chance_to_win,
               "risk": r.risk[1], "risk_control": r.risk[0]}
    row["srm_p_value"] = check_srm([arm["n"] for arm in case["arms"]], case["weights"])
    out.append(row)
print(json.dumps(out))
"""


def random_case(rng: np.random.Generator) -> dict[str, Any]:
    kind = str(rng.choice(["binomial", "mean"]))
    cuped = bool(rng.random() < 0.4)
    engine = str(rng.choice(["frequentist", "bayesian"]))
    base_rate = rng.uniform(0.01, 0.3)
    arms = []
    for i in range(2):
        n = int(rng.integers(200, 200_000))
        rate = base_rate * (1 + (rng.normal(0, 0.05) if i else 0))
        if kind == "binomial":
            pre = rng.random(n) < base_rate
            post = np.where(rng.random(n) < 0.5, pre, rng.random(n) < rate)
        else:
            pre = rng.gamma(2.0, 10.0 * base_rate, n)
            post = 0.6 * pre + rng.gamma(2.0, 6.0 * rate, n)
        post, pre = post.astype(float), pre.astype(float)
        arm = {"name": "AB"[i], "n": n, "sum": float(post.sum()), "sum_squares": float((post**2).sum())}
        if cuped:
            arm |= {
                "sum_pre": float(pre.sum()),
                "sum_pre_squares": float((pre**2).sum()),
                "sum_cross": float((post * pre).sum()),
            }
        arms.append(arm)
    prior = (
        {"mean": float(rng.normal(0, 0.05)), "variance": float(rng.uniform(0.01, 0.2))} if rng.random() < 0.5 else None
    )
    settings = {
        "engine": engine,
        "alpha": float(rng.choice([0.01, 0.05, 0.1])),
        "sequential": bool(rng.random() < 0.5),
        "sequential_tuning": float(rng.choice([1000, 5000, 20000])),
        "prior": prior if engine == "bayesian" else None,
    }
    weights = [float(w) for w in rng.dirichlet([5, 5])]
    return {"metric": kind, "arms": arms, "weights": weights, "settings": settings}


def gbstats_python(arg: str | None) -> str | None:
    candidates = [arg, os.environ.get("GBSTATS_PYTHON"), sys.executable]
    for python in candidates:
        if python and subprocess.run([python, "-c", "import gbstats"], capture_output=True).returncode == 0:
            return python
    return None


def agreement(cases: list[dict[str, Any]], python: str) -> dict[str, float]:
    proc = subprocess.run(
        [python, "-c", GBSTATS_RUNNER], input=json.dumps(cases), capture_output=True, text=True, check=True
    )
    theirs = json.loads(proc.stdout)
    worst: dict[str, float] = {}
    for case, ref in zip(cases, theirs, strict=True):
        ours = analyze(case)
        arm = ours["arms"][1]
        for field, value in ref.items():
            mine = ours["srm_p_value"] if field == "srm_p_value" else arm[field]
            pairs = zip(mine, value, strict=True) if field == "ci" else [(mine, value)]
            for x, y in pairs:
                worst[field] = max(worst.get(field, 0.0), abs(x - y))
    return worst


def timed(fn: Any, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def speed(quick: bool) -> dict[str, float]:
    rng = np.random.default_rng(7)
    exposures, conversions, arms = 1_000_000, 20_000, 3
    arm_of = rng.integers(0, arms, exposures)
    converted = np.zeros(exposures, dtype=bool)
    converted[rng.choice(exposures, conversions, replace=False)] = True
    revenue = np.where(converted, rng.gamma(2.0, 30.0, exposures), 0.0)

    def summary() -> dict[str, Any]:
        n = np.bincount(arm_of, minlength=arms)
        conv = np.bincount(arm_of, weights=converted, minlength=arms)
        rev = np.bincount(arm_of, weights=revenue, minlength=arms)
        rev2 = np.bincount(arm_of, weights=revenue**2, minlength=arms)
        names = ["control", "B", "C"]
        return {
            "metric": "binomial",
            "name": "conversion",
            "arms": [
                {"name": names[i], "n": int(n[i]), "sum": float(conv[i]), "sum_squares": float(conv[i])}
                for i in range(arms)
            ],
            "weights": [1, 1, 1],
            "settings": {"engine": "frequentist", "sequential": True, "correction": "holm"},
            "guardrails": [
                {
                    "name": "revenue",
                    "metric": "mean",
                    "arms": [
                        {"name": names[i], "n": int(n[i]), "sum": float(rev[i]), "sum_squares": float(rev2[i])}
                        for i in range(arms)
                    ],
                }
            ],
        }

    payload = summary()
    repeat = 20 if quick else 100
    from scipy.stats import ttest_ind_from_stats

    first = payload["arms"][0]
    a = stats.Sample(first["n"], first["sum"], first["sum_squares"], True)

    def baseline() -> None:
        for other in payload["arms"][1:]:
            o = stats.Sample(other["n"], other["sum"], other["sum_squares"], True)
            ttest_ind_from_stats(a.mean, a.variance**0.5, a.n, o.mean, o.variance**0.5, o.n, equal_var=False)

    return {
        "analyze_ms": timed(lambda: analyze(payload), repeat),
        "aggregate_and_analyze_ms": timed(lambda: analyze(summary()), max(3, repeat // 10)),
        "baseline_scipy_ttest_ms": timed(baseline, repeat),
        "exposures": exposures,
        "conversions": conversions,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--gbstats-python", help="an interpreter with gbstats 0.8.0 installed")
    args = ap.parse_args()
    result: dict[str, Any] = {"bench": "stats"}
    python = gbstats_python(args.gbstats_python)
    if python is None:
        print("gbstats is not installed (pass --gbstats-python): agreement skipped", file=sys.stderr)
        result["gbstats"] = "skipped"
    else:
        rng = np.random.default_rng(2026)
        cases = [random_case(rng) for _ in range(100 if args.quick else 1000)]
        worst = agreement(cases, python)
        for field, diff in sorted(worst.items()):
            print(f"max |ours - gbstats| {field:>14}: {diff:.3g}", file=sys.stderr)
        result["gbstats"] = {"cases": len(cases), "max_abs_diff": worst}
    result["speed"] = speed(args.quick)
    print(f"analyze, 1M exposures / 20k conversions: {result['speed']['analyze_ms']:.2f} ms", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
