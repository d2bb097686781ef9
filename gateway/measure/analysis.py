# SPDX-License-Identifier: Apache-2.0
"""Experiment analysis from summary statistics, and the `slotwise experiments analyze` command.

`analyze(payload)` validates a request (`inputs.parse_request`), compares every arm with the
first (the control) for the metric and each guardrail, checks the sample ratio, applies the
multiple-testing correction and adds a plain-language verdict. Values a comparison cannot
produce are `null`, with the reason in the arm's `note`: the output never holds NaN or Infinity.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from slotwise.gateway.measure import stats
from slotwise.gateway.measure.inputs import InputError, MetricData, Settings, parse_request
from slotwise.gateway.measure.verdict import SRM_ALERT_P, verdict

MAX_INPUT_BYTES = 4 * 1024 * 1024


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _interval(ci: tuple[float, float] | None) -> list[float] | None:
    if ci is None or not (math.isfinite(ci[0]) and math.isfinite(ci[1])):
        return None
    return [ci[0], ci[1]]


def _empty_row(name: str, n: int, mean: float) -> dict[str, Any]:
    return {
        "name": name,
        "n": n,
        "mean": _finite(mean),
        "relative_lift": None,
        "ci": None,
        "p_value": None,
        "chance_to_win": None,
        "risk": None,
        "risk_control": None,
        "p_value_adjusted": None,
        "ci_adjusted": None,
        "theta": None,
        "note": None,
        "_unit_variance": None,
    }


def compare(metric: MetricData, settings: Settings) -> list[dict[str, Any]]:
    """One row per arm; the control's row carries only its name, size and mean."""
    control = metric.arms[0]
    rows = [_empty_row(control.name, control.sample.n, control.sample.mean)]
    for arm in metric.arms[1:]:
        row = _empty_row(arm.name, arm.sample.n, arm.sample.mean)
        rows.append(row)
        a, b = stats.moments(control.sample), stats.moments(arm.sample)
        if metric.cuped and control.covariate is not None and arm.covariate is not None:
            theta = stats.cuped_theta(control.sample, control.covariate, arm.sample, arm.covariate)
            row["theta"] = theta
            if theta != 0:
                a = stats.cuped_moments(control.sample, control.covariate, theta)
                b = stats.cuped_moments(arm.sample, arm.covariate, theta)
        if a.raw_mean <= 0:
            row["note"] = f"control mean is {'0' if a.raw_mean == 0 else 'negative'}: relative lift is undefined"
            continue
        row["relative_lift"] = _finite((b.mean - a.mean) / a.raw_mean)
        if row["relative_lift"] is None:  # a control mean so small that the ratio overflows
            row["note"] = "the sums are too extreme for a numerically reliable comparison"
            continue
        if a.variance <= 0 or b.variance <= 0 or a.n < 2 or b.n < 2:
            which = control.name if a.variance <= 0 or a.n < 2 else arm.name
            row["note"] = f"no variance in arm {which!r} yet: interval and test need more data"
            continue
        try:
            _test(row, a, b, metric, settings)
        except (ArithmeticError, ValueError):  # overflow or underflow on extreme sums
            row["note"] = "the sums are too extreme for a numerically reliable comparison"
        if row["note"] is not None:
            for key in ("ci", "p_value", "chance_to_win", "risk", "risk_control", "_unit_variance"):
                row[key] = None
        row["relative_lift"] = _finite(row["relative_lift"])
    return rows


def _test(row: dict[str, Any], a: stats.Moments, b: stats.Moments, metric: MetricData, settings: Settings) -> None:
    lift = stats.relative_lift(a, b)
    if not (math.isfinite(lift.estimate) and math.isfinite(lift.variance) and lift.variance > 0):
        row["note"] = "the sums are too extreme for a numerically reliable comparison"
        return
    row["_unit_variance"] = stats.unit_lift_variance(a, b)
    if settings.engine == "frequentist":
        if settings.sequential:
            result = stats.sequential_interval(lift, a.n + b.n, settings.alpha, settings.sequential_tuning)
        else:
            result = stats.t_interval(lift, settings.alpha)
        row["ci"], row["p_value"] = _interval(result.ci), _finite(result.p_value)
    else:
        post = stats.posterior(lift, settings.alpha, settings.prior, metric.inverse)
        row["relative_lift"] = post.mean
        row["ci"] = _interval(post.ci)
        row["chance_to_win"] = _finite(post.chance_to_win)
        row["risk"], row["risk_control"] = _finite(post.risk), _finite(post.risk_control)


def correct(p_values: Sequence[float], method: str) -> list[float]:
    """Holm (`holm`) or Benjamini–Hochberg (`bh`) adjusted p-values, in the input's order."""
    adjust: Callable[[Sequence[float]], list[float]] = stats.holm if method == "holm" else stats.benjamini_hochberg
    return adjust(p_values)


def _apply_correction(rows: list[dict[str, Any]], settings: Settings) -> None:
    tested = [row for row in rows[1:] if row["p_value"] is not None]
    if not tested or settings.correction is None:
        return
    adjusted = correct([row["p_value"] for row in tested], settings.correction)
    for row, p_adj in zip(tested, adjusted, strict=True):
        row["p_value_adjusted"] = p_adj
        row["ci_adjusted"] = _interval(stats.adjusted_ci(row["relative_lift"], p_adj, settings.alpha))


def _public(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in row.items() if not key.startswith("_")} for row in rows]


def analyze(payload: Any) -> dict[str, Any]:
    """The full analysis of one request; raises `InputError` for input it refuses."""
    request = parse_request(payload)
    settings = request.settings
    notes: list[str] = []
    if settings.sequential and settings.engine == "bayesian":
        notes.append("sequential applies to the frequentist engine only; ignored")
    if settings.correction and settings.engine == "bayesian":
        notes.append("correction applies to p-values of the frequentist engine only; ignored")
    if settings.prior is not None and settings.engine == "frequentist":
        notes.append("prior applies to the bayesian engine only; ignored")
    srm = stats.srm_p_value([arm.sample.n for arm in request.metric.arms], request.weights)
    rows = compare(request.metric, settings)
    _apply_correction(rows, settings)
    guardrails: list[dict[str, Any]] = []
    for guardrail in request.guardrails:
        guardrail_rows = compare(guardrail, settings)
        guardrails.append(
            {"name": guardrail.name, "metric": guardrail.kind, "inverse": guardrail.inverse, "rows": guardrail_rows}
        )
    decision = verdict(request.metric, rows, srm, settings, guardrails)
    return {
        "metric": request.metric.name,
        "engine": settings.engine,
        "sequential": settings.sequential and settings.engine == "frequentist",
        "cuped": request.metric.cuped,
        "srm_p_value": _finite(srm),
        "srm_alert": srm < SRM_ALERT_P,
        "arms": _public(rows),
        "guardrails": [
            {"name": g["name"], "metric": g["metric"], "inverse": g["inverse"], "arms": _public(g["rows"])}
            for g in guardrails
        ],
        "verdict": decision,
        "notes": notes,
    }


def _read(path: str) -> Any:
    source = sys.stdin if path == "-" else None
    if source is None:
        file = Path(path)
        if not file.is_file():
            raise InputError(f"--input {path}: no such file")
        if file.stat().st_size > MAX_INPUT_BYTES:
            raise InputError(f"--input {path}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
        text = file.read_text(encoding="utf-8")
    else:
        text = source.read(MAX_INPUT_BYTES + 1)
        if len(text) > MAX_INPUT_BYTES:
            raise InputError(f"--input -: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--input {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


# The `experiments analyze` command, dispatched by `slotwise.gateway.experiments.cli`.
HELP = "analyze an experiment from summary statistics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", required=True, help="JSON summary statistics (see docs/experiments.md), or - for stdin"
    )
    parser.add_argument("--pretty", action="store_true", help="indent the JSON output")


def run(args: argparse.Namespace) -> int:
    try:
        result = analyze(_read(args.input))
    except InputError as exc:
        print(f"slotwise experiments analyze: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2 if args.pretty else None, allow_nan=False, ensure_ascii=False))
    return 0
