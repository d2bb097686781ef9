# SPDX-License-Identifier: Apache-2.0
"""The contextual policy: per-bucket learning, shrinkage toward the pooled estimates, bucket limits."""

from __future__ import annotations

import numpy as np
import pytest

from slotwise.gateway.decisions.bandits import ContextualThompson, ThompsonSampling, policy_from_state

RATES = {"mobile": (0.3, 0.1, 0.1), "desktop": (0.1, 0.3, 0.1)}


def train(policy, steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        device = "mobile" if rng.random() < 0.5 else "desktop"
        ctx = {"device": device}
        arm = policy.choose(ctx)
        policy.update(arm, float(rng.random() < RATES[device][arm]), ctx)
    return policy


def test_each_bucket_learns_its_own_best_arm():
    policy = train(ContextualThompson(3, seed=1), 4000)
    assert np.argmax(policy.probabilities({"device": "mobile"})) == 0
    assert np.argmax(policy.probabilities({"device": "desktop"})) == 1
    assert policy.probabilities({"device": "mobile"})[0] > 0.8
    assert policy.probabilities({"device": "desktop"})[1] > 0.8


def test_contextual_beats_the_pooled_policy_when_the_best_arm_depends_on_the_device():
    def regret(policy, seed):
        rng = np.random.default_rng(seed)
        total = 0.0
        for _ in range(3000):
            device = "mobile" if rng.random() < 0.5 else "desktop"
            arm = policy.choose({"device": device})
            total += max(RATES[device]) - RATES[device][arm]
            policy.update(arm, float(rng.random() < RATES[device][arm]), {"device": device})
        return total

    contextual = np.mean([regret(ContextualThompson(3, seed=s), s) for s in range(3)])
    pooled = np.mean([regret(ThompsonSampling(3, seed=s), s) for s in range(3)])
    assert contextual < 0.6 * pooled


def test_a_new_bucket_starts_from_the_pooled_estimates_and_a_small_one_is_shrunk_toward_them():
    policy = ContextualThompson(2, seed=0, shrinkage=20)
    for i in range(500):  # lots of pooled evidence: arm 0 pays 0.4, arm 1 pays 0.1
        policy.update(0, float(i % 5 < 2), {"device": "desktop"})
        policy.update(1, float(i % 10 == 0), {"device": "desktop"})
    unseen = policy.probabilities({"device": "tv"})
    assert unseen == pytest.approx(policy.probabilities(None))
    policy.update(1, 1.0, {"device": "tablet"})  # one lucky reward in a new bucket
    a, b = policy.posterior({"device": "tablet"}).params
    mean_arm1 = a[1] / (a[1] + b[1])
    assert mean_arm1 < 0.3  # shrunk toward the pooled 0.1, not the bucket's 1.0
    no_shrink = ContextualThompson.from_state({**policy.state(), "settings": {**policy.settings(), "shrinkage": 0}})
    a0, b0 = no_shrink.posterior({"device": "tablet"}).params
    assert a0[1] / (a0[1] + b0[1]) > 0.6


def test_state_keeps_the_buckets_and_the_bucket_limit_holds():
    policy = ContextualThompson(2, seed=3, keys=["device", "segment"], max_buckets=2)
    for device, segment in [("m", "a"), ("d", "a"), ("t", "b"), ("m", "a")]:
        policy.update(0, 1.0, {"device": device, "segment": segment})
    assert sorted(policy.buckets) == ["d|a", "m|a"]
    assert policy.counters.pulls.tolist() == [4, 0]  # the third bucket still fed the pooled counters
    again = policy_from_state(policy.state())
    assert again.state() == policy.state()
    with pytest.raises(ValueError, match=r"^buckets"):
        ContextualThompson.from_state({**policy.state(), "settings": {**policy.settings(), "max_buckets": 1}})


def test_bucket_names_come_from_the_keys():
    policy = ContextualThompson(2, keys=["device", "daypart"])
    assert policy.bucket({"device": "mobile", "daypart": "evening", "x": 1}) == "mobile|evening"
    assert policy.bucket({"device": "mobile"}) == "mobile|"
    assert policy.bucket({"other": 1}) is None
    assert policy.bucket("vip") == "vip"
    with pytest.raises(ValueError, match=r"^context"):
        policy.bucket(42)
