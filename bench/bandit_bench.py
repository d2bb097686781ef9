# SPDX-License-Identifier: Apache-2.0
"""Bandit regret and decision time: the Bernoulli setting of Chapelle & Li (2011), beside mabwiser.

    pip install mabwiser   # or .[bench]; the baseline only; without it the mabwiser columns are skipped
    python bench/bandit_bench.py [--quick] [--seeds N]

K ∈ {10, 100} arms, the best arm pays 0.5, the others 0.5 − ε, ε ∈ {0.02, 0.1}, horizon 10,000,
20 seeds (`--quick`: 2 seeds, horizon 2,000). Regret is the expected (pseudo-)regret
Σ_t (μ* − μ_{a_t}); every policy of a seed sees the same table of rewards, and the best arm sits
at a random index (mabwiser breaks ties toward the first arm). mabwiser runs with its own seeds;
with the same seed its Thompson sampling and ours draw the same numbers and choose the same arms
(checked and reported as `thompson_same_seed_identical`). "delay 100" is
Chapelle & Li's delayed setting: rewards arrive in batches, every 100 steps.
Also a contextual setting (the best arm differs by device class), the decision time per policy,
and the render path: `decide()` on a bandit slot (state as read from the store) beside a rule
variant and an experiment arm, the baselines of the same run.

mabwiser's per-step update goes through joblib once per call (about 1 ms); the bench applies
the same update through mabwiser's own `_fit_arm` without that dispatch, after checking on a
short run that the decisions are identical. Figures are noisy on a shared machine.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slotwise.gateway.decisions.bandits import UCB1, ContextualThompson, EpsilonGreedy, ThompsonSampling

try:
    from mabwiser.mab import MAB, LearningPolicy
except ImportError:  # the baseline is optional
    MAB = None

OURS: dict[str, Callable[[int, int], Any]] = {
    "thompson": lambda k, s: ThompsonSampling(k, seed=s),
    "ucb1": lambda k, s: UCB1(k, seed=s, c=1.0),
    "epsilon_greedy": lambda k, s: EpsilonGreedy(k, seed=s, epsilon=0.1),
}


def mabwiser_policy(name: str, k: int, seed: int) -> Any:
    lp = {
        "thompson": LearningPolicy.ThompsonSampling(),
        "ucb1": LearningPolicy.UCB1(alpha=1.0),
        "epsilon_greedy": LearningPolicy.EpsilonGreedy(epsilon=0.1),
    }[name]
    mab = MAB(list(range(k)), lp, seed=seed)
    mab.fit(np.array([], dtype=int), np.array([], dtype=float))
    return mab


class MabwiserAdapter:
    """mabwiser behind our choose/update; `fast` applies one update without joblib.

    mabwiser's UCB1 and ε-greedy score an arm without data as 0 and would stay on the first arm
    they try; like ours, they first try every arm once (round robin over the first K steps).
    """

    def __init__(self, name: str, k: int, seed: int, fast: bool = True) -> None:
        self.mab = mabwiser_policy(name, k, seed)
        self.name, self.fast = name, fast
        self.arms = list(range(k))
        self.t = 0 if name != "thompson" else k

    def choose(self) -> int:
        if self.t < len(self.arms):
            self.t += 1
            return self.t - 1
        return int(self.mab.predict())

    def update(self, arm: int, reward: float) -> None:
        d, r = np.array([arm]), np.array([reward])
        if not self.fast:
            self.mab.partial_fit(d, r)
            return
        imp = self.mab._imp
        if self.name == "ucb1":  # every arm's index depends on the total count
            imp.total_count += 1
            for a in self.arms:
                imp._fit_arm(a, d, r)
        else:
            imp._fit_arm(arm, d, r)

    def update_batch(self, arms: list[int], rewards: list[float]) -> None:
        self.mab.partial_fit(np.array(arms), np.array(rewards))


def run(policy: Any, mu: np.ndarray, table: np.ndarray, delay: int) -> float:
    gaps = (mu.max() - mu).tolist()
    regret = 0.0
    arms: list[int] = []
    rewards: list[float] = []
    for t in range(len(table)):
        a = policy.choose()
        r = float(table[t, a])
        regret += gaps[a]
        if delay <= 1:
            policy.update(a, r)
            continue
        arms.append(a)
        rewards.append(r)
        if len(arms) == delay:
            if hasattr(policy, "update_batch"):
                policy.update_batch(arms, rewards)
            else:
                for a_, r_ in zip(arms, rewards, strict=True):
                    policy.update(a_, r_)
            arms, rewards = [], []
    return regret


def same_seed_identical() -> bool:
    """Our Thompson sampling and mabwiser's, given one seed, choose the same arms."""
    mu = np.array([0.45] * 9 + [0.5])
    table = (np.random.default_rng(6).random((2000, 10)) < mu).astype(float)
    ours, theirs = ThompsonSampling(10, seed=4), MabwiserAdapter("thompson", 10, 4)
    for t in range(len(table)):
        a, b = ours.choose(), theirs.choose()
        if a != b:
            return False
        ours.update(a, float(table[t, a]))
        theirs.update(b, float(table[t, b]))
    return True


def check_fast_path() -> bool:
    """mabwiser with its public partial_fit and with the fast path choose the same arms."""
    mu = np.array([0.5] + [0.4] * 9)
    table = (np.random.default_rng(5).random((400, 10)) < mu).astype(float)
    for name in OURS:
        a = MabwiserAdapter(name, 10, 3, fast=False)
        b = MabwiserAdapter(name, 10, 3, fast=True)
        seq_a, seq_b = [], []
        for t in range(len(table)):
            x, y = a.choose(), b.choose()
            seq_a.append(x)
            seq_b.append(y)
            a.update(x, float(table[t, x]))
            b.update(y, float(table[t, y]))
        if seq_a != seq_b:
            return False
    return True


def regret_settings(seeds: int, horizon: int) -> list[dict[str, Any]]:
    out = []
    for k in (10, 100):
        for eps in (0.02, 0.1):
            for delay in (1, 100):
                row: dict[str, Any] = {"K": k, "epsilon": eps, "delay": delay}
                results: dict[str, list[float]] = {}
                for s in range(seeds):
                    mu = np.full(k, 0.5 - eps)
                    mu[np.random.default_rng(3000 + s).integers(k)] = 0.5
                    table = (np.random.default_rng(1000 + s).random((horizon, k)) < mu).astype(np.float64)
                    for name, make in OURS.items():
                        results.setdefault(name, []).append(run(make(k, s), mu, table, delay))
                        if MAB is not None:
                            res = run(MabwiserAdapter(name, k, 7919 + s), mu, table, delay)
                            results.setdefault(f"mabwiser_{name}", []).append(res)
                for name, values in results.items():
                    v = np.asarray(values)
                    row[name] = round(float(v.mean()), 1)
                    row[f"{name}_se"] = round(float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0, 1)
                if MAB is not None:
                    row["ratio_thompson"] = round(row["thompson"] / row["mabwiser_thompson"], 3)
                    diff = np.asarray(results["thompson"]) - np.asarray(results["mabwiser_thompson"])
                    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
                    row["ratio_thompson_se"] = round(se / row["mabwiser_thompson"], 3)
                out.append(row)
                print(format_row(row), file=sys.stderr, flush=True)
    return out


def format_row(row: dict[str, Any]) -> str:
    cells = [f"K={row['K']:<3} ε={row['epsilon']:<4} delay={row['delay']:<3}"]
    for name in OURS:
        cell = f"{name} {row[name]:7.1f}±{row[name + '_se']:<5.1f}"
        if f"mabwiser_{name}" in row:
            cell += f" (mabwiser {row['mabwiser_' + name]:7.1f}±{row['mabwiser_' + name + '_se']:<5.1f})"
        cells.append(cell)
    return " | ".join(cells)


DEVICES = ("mobile", "desktop", "tablet")
DEVICE_SHARE = (0.6, 0.3, 0.1)
# rates[device][arm]: each device class has its own best arm; arm 3 is a decent compromise.
RATES = np.array([[0.12, 0.06, 0.06, 0.09], [0.06, 0.12, 0.06, 0.09], [0.06, 0.06, 0.12, 0.09]])


def contextual_setting(seeds: int, horizon: int, keys: list[str]) -> dict[str, Any]:
    """The best arm depends on the device class only; the policy buckets by `keys` (with day part
    and segment, 3 × 4 × 5 = 60 buckets, most of them small)."""
    makers: dict[str, Callable[[int], Any]] = {
        "contextual_thompson": lambda s: ContextualThompson(4, seed=s, keys=keys),
        "per_bucket_no_shrinkage": lambda s: ContextualThompson(4, seed=s, keys=keys, shrinkage=0.0),
        "thompson_ignoring_context": lambda s: ThompsonSampling(4, seed=s),
    }
    results: dict[str, list[float]] = {name: [] for name in makers}
    for s in range(seeds):
        rng = np.random.default_rng(2000 + s)
        devices = rng.choice(3, size=horizon, p=DEVICE_SHARE)
        table = rng.random((horizon, 4)) < RATES[devices]
        dayparts = rng.integers(4, size=horizon)
        segments = rng.integers(5, size=horizon)
        contexts = [
            {"device": DEVICES[d], "daypart": f"p{p}", "segment": f"s{g}"}
            for d, p, g in zip(devices, dayparts, segments, strict=True)
        ]
        gaps = (RATES.max(axis=1, keepdims=True) - RATES)[devices]
        for name, make in makers.items():
            policy = make(s)
            regret = 0.0
            for t in range(horizon):
                a = policy.choose(contexts[t])
                regret += gaps[t, a]
                policy.update(a, float(table[t, a]), contexts[t])
            results[name].append(regret)
    out: dict[str, Any] = {
        "keys": keys,
        "K": 4,
        "devices": dict(zip(DEVICES, DEVICE_SHARE, strict=True)),
        "horizon": horizon,
    }
    for name, values in results.items():
        v = np.asarray(values)
        out[name] = round(float(v.mean()), 1)
        out[f"{name}_se"] = round(float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0, 1)
    out["ratio"] = round(out["contextual_thompson"] / out["thompson_ignoring_context"], 3)
    return out


def per_call(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def decision_times(n: int) -> dict[str, Any]:
    """µs per decision: between updates (the render path) and with an update before each."""
    out: dict[str, Any] = {}
    rng = np.random.default_rng(0)
    for k in (10, 100):
        mu = np.array([0.5] + [0.45] * (k - 1))
        makers = {**{name: (lambda m=m, k=k: m(k, 1)) for name, m in OURS.items()},
                  "contextual_thompson": lambda k=k: ContextualThompson(k, seed=1)}  # fmt: skip
        for name, make in makers.items():
            policy = make()
            ctx = {"device": "mobile"} if name == "contextual_thompson" else None
            for _ in range(2000):
                a = policy.choose(ctx)
                policy.update(a, float(rng.random() < mu[a]), ctx)
            steady = per_call(lambda p=policy, c=ctx: p.choose(c), n)

            def step(p: Any = policy, c: Any = ctx) -> None:
                a = p.choose(c)
                p.update(a, 1.0 if a == 0 else 0.0, c)

            out[f"{name}_K{k}_us"] = round(steady, 2)
            out[f"{name}_K{k}_with_update_us"] = round(per_call(step, n // 10), 2)
            policy.probabilities(ctx)
            probs = per_call(lambda p=policy, c=ctx: p.probabilities(c), 200)
            out[f"{name}_K{k}_probabilities_cached_us"] = round(probs, 2)
        if MAB is not None:
            m = MabwiserAdapter("thompson", k, 1)
            out[f"mabwiser_thompson_K{k}_us"] = round(per_call(m.choose, max(200, n // 100)), 2)
    return out


def render_path_times(n: int) -> dict[str, Any]:
    """µs per slot of `decisions.decide` in process (a real context, a profile loaded): a bandit
    slot against the baselines of the same run, a rule variant and a sticky experiment arm."""
    from slotwise.gateway.config.loader import parse_config
    from slotwise.gateway.context.request import resolve_context
    from slotwise.gateway.decisions.bandit_choice import BanditView, policy_from_counts
    from slotwise.gateway.decisions.decide import decide
    from slotwise.gateway.ops.metrics import Metrics
    from slotwise.gateway.rules.expr import Env
    from slotwise.gateway.serving.runtime import build_runtime
    from slotwise.gateway.visitors.profiles import Profile

    def arms(k: int) -> list[dict[str, Any]]:
        return [{"name": f"a{i}", "block": {"type": "banner", "title": f"Arm {i}"}} for i in range(k)]

    slots: dict[str, Any] = {"rule": {"default": {"type": "banner", "title": "D"}, "variants": [
        {"when": "device.class == 'desktop'", "block": {"type": "banner", "title": "Desktop"}}]},
        "experiment": {"default": {"type": "banner", "title": "D"}, "variants": [
            {"experiment": {"key": "exp", "arms": [{**a, "weight": 1} for a in arms(3)]}}]}}  # fmt: skip
    for policy, k in (("thompson", 3), ("thompson", 10), ("thompson", 100), ("ucb1", 10), ("epsilon_greedy", 10),
                      ("contextual", 10)):  # fmt: skip
        slots[f"{policy}_K{k}"] = {"default": {"type": "banner", "title": "D"}, "variants": [
            {"bandit": {"policy": policy, "arms": arms(k), "min_share": 0.01 / k}}]}  # fmt: skip
    config = parse_config({"sites": {"s": {"publishable_key": "pk_s", "secret_key": "sk_s"}}, "slots": slots})
    runtime = build_runtime(config, Metrics())
    site = config.sites["s"]
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    ctx = resolve_context(body_context={}, headers={"user-agent": ua}, peer=None, config=config, site=site,
                          allow_simulation=False)  # fmt: skip
    rng = np.random.default_rng(3)
    today = int(time.time() // 86400)
    for slot in config.slots.values():  # a state of 10,000 rewarded views per bandit, as if read from the store
        bandit = slot.variants[0].bandit
        if bandit is None:
            continue
        k = len(bandit.arms)
        raw = {}
        for i, name in enumerate(bandit.arm_names):
            for bucket in ("", "desktop", "mobile") if bandit.policy == "contextual_thompson" else ("",):
                pulls = 10_000 / k
                raw[f"{name}\x1f{bucket}\x1f{today}\x1fpulls"] = pulls
                raw[f"{name}\x1f{bucket}\x1f{today}\x1fsum"] = float(rng.binomial(int(pulls), 0.05 + 0.001 * i))
        view = BanditView(bandit, policy_from_counts(bandit, raw, today), time.monotonic() + 1e9)
        runtime.bandits._views[("s", bandit.key)] = view
    out: dict[str, Any] = {}
    for name, slot in config.slots.items():
        env = Env(ctx, site=site, runtime=runtime, services=None, profile=Profile())
        for i in range(200):  # warm: the first decisions compute the propensities once per state
            decide(slot, env.fork(), f"visitor-{i}")
        visitors = [f"visitor-{i}" for i in range(n)]
        t0 = time.perf_counter()
        for v in visitors:
            decide(slot, env.fork(), v)
        out[f"{name}_us"] = round((time.perf_counter() - t0) / n * 1e6, 2)
    out["thompson_K10_vs_rule"] = round(out["thompson_K10_us"] / out["rule_us"], 2)
    out["thompson_K10_vs_experiment"] = round(out["thompson_K10_us"] / out["experiment_us"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=None)
    args = ap.parse_args()
    seeds = args.seeds or (2 if args.quick else 20)
    horizon = 2000 if args.quick else 10_000
    t0 = time.time()
    fast_ok = check_fast_path() if MAB is not None else None
    identical = same_seed_identical() if MAB is not None else None
    if MAB is None:
        print("mabwiser is not installed (pip install mabwiser): its columns are skipped", file=sys.stderr)
    rows = regret_settings(seeds, horizon)
    ctx = [contextual_setting(seeds, horizon, keys) for keys in (["device"], ["device", "daypart", "segment"])]
    for c in ctx:
        print(f"contextual: {c}", file=sys.stderr)
    times = decision_times(5000 if args.quick else 50_000)
    print(f"decision µs: {times}", file=sys.stderr)
    render = render_path_times(5000 if args.quick else 50_000)
    print(f"render path µs per slot: {render}", file=sys.stderr)
    result: dict[str, Any] = {
        "bench": "bandits",
        "seeds": seeds,
        "horizon": horizon,
        "mabwiser": MAB is not None,
        "mabwiser_fast_path_identical": fast_ok,
        "thompson_same_seed_identical": identical,
        "regret": rows,
        "thompson_vs_mabwiser_max_ratio": max((r["ratio_thompson"] for r in rows), default=None)
        if MAB is not None
        else None,
        "contextual": ctx,
        "decision_us": times,
        "render_path_us": render,
        "seconds": round(time.time() - t0, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
