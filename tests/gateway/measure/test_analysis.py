# SPDX-License-Identifier: Apache-2.0
"""`analyze` and `slotwise experiments analyze`: the contract, refusals, nulls and verdicts."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp
from statsmodels.stats.multitest import multipletests

from slotwise.gateway.cli import main as cli_main
from slotwise.gateway.measure import stats
from slotwise.gateway.measure.analysis import analyze
from slotwise.gateway.measure.inputs import MAX_ARMS, InputError

CONTRACT_FIELDS = {"name", "mean", "relative_lift", "ci", "p_value", "chance_to_win", "risk"}


def binomial(*arms: tuple[str, int, int], **settings_: Any) -> dict[str, Any]:
    return {
        "metric": "binomial",
        "arms": [{"name": name, "n": n, "sum": c, "sum_squares": c} for name, n, c in arms],
        "weights": [1] * len(arms),
        "settings": settings_,
    }


def test_frequentist_output_follows_the_contract_and_the_statistics() -> None:
    out = analyze(binomial(("A", 50000, 1000), ("B", 50200, 1080), engine="frequentist"))
    control, arm = out["arms"]
    assert set(control) >= CONTRACT_FIELDS and set(arm) >= CONTRACT_FIELDS
    assert control["mean"] == 0.02 and control["relative_lift"] is None and control["p_value"] is None
    a, b = stats.Sample(50000, 1000, 1000, True), stats.Sample(50200, 1080, 1080, True)
    lift = stats.relative_lift(stats.moments(a), stats.moments(b))
    assert arm["relative_lift"] == pytest.approx(1080 / 50200 / 0.02 - 1, rel=1e-12)
    assert arm["p_value"] == pytest.approx(2 * sp.t.sf(lift.estimate / math.sqrt(lift.variance), lift.dof), abs=1e-10)
    assert arm["chance_to_win"] is None and arm["risk"] is None
    assert out["srm_p_value"] == pytest.approx(sp.chisquare([50000, 50200]).pvalue, abs=1e-12)


def test_bayesian_output_has_chance_to_win_and_risk_but_no_p_value() -> None:
    out = analyze(
        binomial(("A", 50000, 1000), ("B", 50200, 1080), engine="bayesian", prior={"mean": 0, "variance": 0.09})
    )
    arm = out["arms"][1]
    assert arm["p_value"] is None
    assert 0.9 < arm["chance_to_win"] < 0.96 and 0 < arm["risk"] < arm["risk_control"]
    flat = analyze(binomial(("A", 50000, 1000), ("B", 50200, 1080), engine="bayesian"))["arms"][1]
    assert abs(arm["relative_lift"]) < abs(flat["relative_lift"])  # the prior shrinks towards 0


def test_correction_adjusts_p_values_across_arms_like_statsmodels() -> None:
    arms = [("A", 20000, 400), ("B", 20000, 470), ("C", 20000, 430), ("D", 20000, 405)]
    for method, sm_method in (("holm", "holm"), ("bh", "fdr_bh")):
        out = analyze(binomial(*arms, engine="frequentist", correction=method))
        raw = [arm["p_value"] for arm in out["arms"][1:]]
        adjusted = [arm["p_value_adjusted"] for arm in out["arms"][1:]]
        assert adjusted == pytest.approx(multipletests(raw, method=sm_method)[1].tolist(), abs=1e-15)
        assert all(arm["ci_adjusted"] is not None for arm in out["arms"][1:])


def test_cuped_input_extension_reduces_the_interval() -> None:
    base = {"metric": "mean", "weights": [1, 1], "settings": {"engine": "frequentist"}}
    arms = [
        {"name": "A", "n": 1000, "sum": 10000.0, "sum_squares": 200000.0},
        {"name": "B", "n": 1000, "sum": 10500.0, "sum_squares": 215000.0},
    ]
    plain = analyze({**base, "arms": arms})["arms"][1]
    with_pre = [
        arms[0] | {"sum_pre": 9000.0, "sum_pre_squares": 170000.0, "sum_cross": 178000.0},
        arms[1] | {"sum_pre": 9100.0, "sum_pre_squares": 172000.0, "sum_cross": 185000.0},
    ]
    out = analyze({**base, "arms": with_pre})
    cuped = out["arms"][1]
    assert out["cuped"] and cuped["theta"] is not None and cuped["theta"] > 0
    assert cuped["ci"][1] - cuped["ci"][0] < plain["ci"][1] - plain["ci"][0]


BAD_INPUTS = [
    (lambda p: p["arms"][1].update(n=0), "arms[1].n"),
    (lambda p: p["arms"][0].update(n=-5), "arms[0].n"),
    (lambda p: p["arms"][0].update(n=10.5), "arms[0].n"),
    (lambda p: p["arms"][1].update(sum=float("nan")), "arms[1].sum"),
    (lambda p: p["arms"][1].update(sum=float("inf")), "arms[1].sum"),
    (lambda p: p["arms"][1].update(sum=2e6), "arms[1].sum"),
    (lambda p: p["arms"][1].update(sum_squares=3), "arms[1].sum_squares"),
    (lambda p: p.update(metric="median"), "metric"),
    (lambda p: p["settings"].update(engine="magic"), "settings.engine"),
    (lambda p: p["settings"].update(alpha=1.5), "settings.alpha"),
    (lambda p: p["settings"].update(correction="bonferroni"), "settings.correction"),
    (lambda p: p["settings"].update(prior={"mean": 0, "variance": -1}), "settings.prior.variance"),
    (lambda p: p["settings"].update(sequentail=True), "settings.sequentail"),
    (lambda p: p.update(weights=[1]), "weights"),
    (lambda p: p.update(arms=p["arms"][:1]), "arms"),
    (lambda p: p.update(arms=[p["arms"][0]] * (MAX_ARMS + 1)), "arms"),
    (lambda p: p["arms"][1].update(name="A"), "duplicate"),
    (lambda p: p["arms"][0].update(sum_pre=3, sum_cross=3), "arms[1].sum_pre"),
]


@pytest.mark.parametrize(("mutate", "field"), BAD_INPUTS)
def test_bad_input_is_refused_naming_the_field(mutate: Any, field: str) -> None:
    payload = binomial(("A", 1000, 20), ("B", 1000, 25))
    mutate(payload)
    with pytest.raises(InputError, match=field.replace("[", r"\[").replace("]", r"\]")):
        analyze(payload)


def test_a_million_arms_are_refused_by_the_cli_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.json"
    arm = {"name": "x", "n": 10, "sum": 1, "sum_squares": 1}
    path.write_text(json.dumps({"metric": "binomial", "arms": [arm] * 1_000_000}))
    assert cli_main(["experiments", "analyze", "--input", str(path)]) == 2
    assert "--input" in capsys.readouterr().err  # larger than the input limit
    path.write_text(json.dumps({"metric": "binomial", "arms": [arm | {"name": str(i)} for i in range(1000)]}))
    assert cli_main(["experiments", "analyze", "--input", str(path)]) == 2
    assert "arms must have between 2 and" in capsys.readouterr().err


def test_cli_prints_json_and_exits_2_on_bad_json(tmp_path: Path) -> None:
    good = tmp_path / "in.json"
    good.write_text(json.dumps(binomial(("A", 5000, 100), ("B", 5000, 140), engine="frequentist")))
    run = [sys.executable, "-m", "slotwise.gateway.cli", "experiments", "analyze", "--input"]
    done = subprocess.run([*run, str(good)], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["arms"][1]["p_value"] < 0.05
    bad = tmp_path / "bad.json"
    bad.write_text('{"metric": "binomial", "arms": [{"name": "A", "n": NaN')
    failed = subprocess.run([*run, str(bad)], capture_output=True, text=True)
    assert failed.returncode == 2 and "not valid JSON" in failed.stderr and not failed.stdout


def test_degenerate_arms_give_null_with_a_reason_never_nan() -> None:
    out = analyze(binomial(("A", 500, 0), ("B", 500, 3), engine="frequentist"))
    arm = out["arms"][1]
    assert arm["relative_lift"] is None and arm["ci"] is None and "control mean is 0" in arm["note"]
    out = analyze(binomial(("A", 500, 10), ("B", 500, 0), engine="bayesian"))
    arm = out["arms"][1]
    assert arm["relative_lift"] == -1.0 and arm["chance_to_win"] is None and "no variance" in arm["note"]
    json.dumps(out, allow_nan=False)


def test_verdicts() -> None:
    freq = {"engine": "frequentist"}
    assert analyze(binomial(("A", 50, 2), ("B", 50, 3), **freq))["verdict"]["decision"] == "too_early"
    srm = analyze(binomial(("A", 50000, 1000), ("B", 56000, 1100), **freq))["verdict"]
    assert srm["decision"] == "invalid" and "Sample ratio mismatch" in srm["text"]
    running = analyze(binomial(("A", 5000, 100), ("B", 5000, 115), **freq))["verdict"]
    assert running["decision"] == "keep_running"
    assert running["text"].startswith("B is ahead (+15.0%), not yet significant: about ")
    more = running["arms"][0]["more_per_arm"]
    assert f"{round(more, -2):,}" in running["text"] or f"{round(more, -3):,}" in running["text"]
    win = analyze(binomial(("A", 20000, 400), ("B", 20000, 520), **freq))["verdict"]
    assert win["decision"] == "ship" and win["winner"] == "B" and "Ship B" in win["text"]
    lose = analyze(binomial(("A", 20000, 520), ("B", 20000, 400), **freq))["verdict"]
    assert lose["decision"] == "keep_control" and lose["winner"] == "A"


def test_a_harmed_guardrail_blocks_the_ship() -> None:
    payload = binomial(("A", 20000, 400), ("B", 20000, 520), engine="bayesian")
    assert analyze(payload)["verdict"]["decision"] == "ship"
    harmed = copy.deepcopy(payload)
    harmed["guardrails"] = [
        {
            "name": "bounce rate",
            "metric": "binomial",
            "inverse": True,
            "arms": [{"name": "A", "n": 20000, "sum": 6000}, {"name": "B", "n": 20000, "sum": 6600}],
        }
    ]
    out = analyze(harmed)
    assert out["verdict"]["decision"] == "blocked" and "bounce rate" in out["verdict"]["text"]
    assert out["guardrails"][0]["arms"][1]["chance_to_win"] < 0.05


def test_sequential_is_more_conservative_than_fixed_horizon() -> None:
    arms = (("A", 20000, 400), ("B", 20000, 470))
    fixed = analyze(binomial(*arms, engine="frequentist"))["arms"][1]
    seq = analyze(binomial(*arms, engine="frequentist", sequential=True, sequential_tuning=5000))["arms"][1]
    assert seq["p_value"] > fixed["p_value"] and seq["ci"][0] < fixed["ci"][0]


def _finite_everywhere(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_everywhere(v) for v in value)
    return True


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["binomial", "mean"]))
    arms = []
    for i in range(draw(st.integers(2, 5))):
        n = draw(st.integers(1, 10**9))
        if kind == "binomial":
            total = float(draw(st.integers(0, n)))
            squares = total
        else:
            total = draw(st.floats(-1e9, 1e9, allow_nan=False))
            squares = total * total / n * draw(st.floats(1.0, 1e6)) + draw(st.floats(0, 1e9))
        arms.append({"name": f"arm{i}", "n": n, "sum": total, "sum_squares": squares})
    return {
        "metric": kind,
        "arms": arms,
        "settings": {
            "engine": draw(st.sampled_from(["frequentist", "bayesian"])),
            "sequential": draw(st.booleans()),
            "alpha": draw(st.floats(1e-6, 0.5)),
            "correction": draw(st.sampled_from([None, "holm", "bh"])),
            "min_sample": 0,
        },
    }


@settings(max_examples=300, deadline=None)
@given(requests())
def test_any_valid_input_gives_finite_json(payload: dict[str, Any]) -> None:
    out = analyze(payload)
    assert _finite_everywhere(out)
    json.dumps(out, allow_nan=False)
    assert isinstance(out["verdict"]["text"], str) and out["verdict"]["text"]


def test_a_subnormal_control_mean_gives_null_not_infinity() -> None:
    """Found by the hypothesis test above: (1 - 2e-309) / 2e-309 overflows to infinity."""
    payload = {
        "metric": "mean",
        "arms": [
            {"name": "a", "n": 1, "sum": 2.225073858507203e-309, "sum_squares": 0.0},
            {"name": "b", "n": 1, "sum": 1.0, "sum_squares": 1.0},
        ],
        "settings": {"engine": "frequentist", "min_sample": 0},
    }
    out = analyze(payload)
    assert _finite_everywhere(out)
    assert out["arms"][1]["relative_lift"] is None and "too extreme" in out["arms"][1]["note"]
