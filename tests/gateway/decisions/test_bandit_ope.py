# SPDX-License-Identifier: Apache-2.0
"""Off-policy evaluation on simulated logs whose true value is known, and the impression-log reader."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from slotwise.gateway.decisions.bandits import EpsilonGreedy
from slotwise.gateway.decisions.bandits.logs import read_logged
from slotwise.gateway.decisions.bandits.ope import Logged, doubly_robust, evaluate, ips, snips

DEVICES = ("mobile", "desktop")
RATES = {"mobile": np.array([0.10, 0.30, 0.05]), "desktop": np.array([0.25, 0.10, 0.05])}
LOGGING = {"mobile": np.array([0.5, 0.2, 0.3]), "desktop": np.array([0.3, 0.3, 0.4])}


def target(context):
    """Deterministic: arm 1 on mobile, arm 0 on desktop (the best arm of each)."""
    return [0.0, 1.0, 0.0] if context["device"] == "mobile" else [1.0, 0.0, 0.0]


TRUE_VALUE = 0.6 * 0.30 + 0.4 * 0.25


def simulate(seed, n=3000):
    rng = np.random.default_rng(seed)
    logs = []
    for _ in range(n):
        device = "mobile" if rng.random() < 0.6 else "desktop"
        p = LOGGING[device]
        arm = int(rng.choice(3, p=p))
        logs.append(Logged({"device": device}, arm, float(p[arm]), float(rng.random() < RATES[device][arm])))
    return logs


@pytest.mark.parametrize("estimator", [ips, snips, doubly_robust])
def test_the_interval_covers_the_true_value_in_most_seeds(estimator):
    covered, errors = 0, []
    for seed in range(25):
        est = estimator(simulate(seed, n=2000), target)
        covered += est.ci[0] <= TRUE_VALUE <= est.ci[1]
        errors.append(est.value - TRUE_VALUE)
    assert covered >= 21  # nominal 95 %: about 24 of 25 expected
    assert abs(np.mean(errors)) < 0.012  # (nearly) unbiased
    assert np.std(errors) < 0.035


def test_the_estimates_tell_a_better_policy_from_the_logging_one():
    logs = simulate(7, n=4000)
    logging_value = sum(0.6 * LOGGING["mobile"] * RATES["mobile"]) + sum(0.4 * LOGGING["desktop"] * RATES["desktop"])
    result = evaluate(logs, target)
    for method in ("ips", "snips", "doubly_robust"):
        assert result[method]["ci"][0] > logging_value
    assert result["ips"]["n"] == 4000
    assert 0 < result["snips"]["effective_n"] < 4000


def test_a_policy_object_is_a_target():
    policy = EpsilonGreedy(3, seed=0, epsilon=0.3)
    for arm, reward in [(0, 0.0), (1, 1.0), (2, 0.0)]:
        policy.update(arm, reward)
    logs = simulate(3)
    est = snips(logs, policy)
    # the policy is context-free: 0.1 on arms 0 and 2, 0.8 on arm 1
    truth = sum(share * float(np.dot([0.1, 0.8, 0.1], RATES[d])) for d, share in zip(DEVICES, (0.6, 0.4), strict=True))
    assert est.ci[0] <= truth <= est.ci[1]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (Logged(None, 0, 0.0, 1.0), "propensity"),
        (Logged(None, 0, 1.5, 1.0), "propensity"),
        (Logged(None, 0, 0.5, math.nan), "reward"),
        (Logged(None, 7, 0.5, 1.0), "arm"),
    ],
)
def test_bad_logs_name_the_row_and_field(row, field):
    logs = [Logged(None, 1, 0.5, 0.0), row]
    with pytest.raises(ValueError, match=rf"^logs\[1\]\.{field}"):
        ips(logs, lambda c: [0.5, 0.5])


def test_a_target_that_is_not_a_distribution_is_refused():
    with pytest.raises(ValueError, match=r"^target"):
        ips([Logged(None, 0, 0.5, 1.0)], lambda c: [0.7, 0.7])
    with pytest.raises(ValueError, match=r"^logs"):
        ips([], lambda c: [1.0])


def test_impressions_and_clicks_from_a_json_lines_file(tmp_path):
    def ev(event_id, kind, visitor, ts, **props):
        return {"event_id": event_id, "type": kind, "visitor_id": visitor, "ts": ts, "properties": props,
                "context": {"device": "mobile"}}  # fmt: skip

    events = [
        ev("1", "impression", "v1", "2024-05-01T10:00:00Z", slot="hero", experiment="b", arm="red", propensity=0.25),
        ev("2", "click", "v1", "2024-05-01T10:00:05Z", slot="hero", experiment="b", arm="red"),
        ev("2", "click", "v1", "2024-05-01T10:00:05Z", slot="hero", experiment="b", arm="red"),  # redelivered
        ev("3", "click", "v1", "2024-05-01T10:00:09Z", slot="hero", experiment="b", arm="red"),  # counts once
        ev("4", "impression", "v2", "2024-05-01T11:00:00Z", slot="hero", experiment="b", arm="blue", propensity=0.75),
        ev("5", "impression", "v3", "2024-05-01T11:00:00Z", slot="hero", experiment="b", arm="blue", propensity=0.75),
        ev("6", "click", "v3", "2024-05-01T11:00:01Z", slot="hero", experiment="b", arm="blue"),
        ev("7", "impression", "v4", "2024-05-01T11:00:00Z", slot="hero", experiment="other", arm=0, propensity=1.0),
    ]
    events[6]["context"] = {"device": "mobile", "bot": True}  # bots never reward anything
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    rows = read_logged(path, "b", arms=["red", "blue"])
    assert [(r.arm, r.propensity, r.reward) for r in rows] == [(0, 0.25, 1.0), (1, 0.75, 0.0), (1, 0.75, 0.0)]
    assert rows[0].context == {"device": "mobile"}
    with pytest.raises(ValueError, match=r"properties\.arm"):
        read_logged(path, "b", arms=["red"])
