# SPDX-License-Identifier: Apache-2.0
"""`slotwise experiments ope --site S --slot X --policy P`: what P would have earned on logged views.

The logs are the store's: every visitor's bandit impressions with the propensity they were
shown with, and the reward the live counters gave each one (`measure.bandit_rewards`, the
same attribution rules, so OPE and the bandit agree on what a reward is). The target P is

- `uniform` (every arm alike), `arm:NAME` (always that arm);
- `current`: the slot's bandit as it stands now, its state rebuilt from the store's counters;
- a policy name (`thompson`, `ucb1`, `epsilon_greedy`, `contextual`) with the bandit's settings,
  overridden by `--set NAME=VALUE`, over the same counters.

A learned target is evaluated frozen, as it stands after the logs it learned from: its estimate
is optimistic for the past (it knows those rewards) and is a comparison, not a forecast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import yaml

from slotwise.gateway.config.command import add_config_option
from slotwise.gateway.config.loader import Bandit, Config
from slotwise.gateway.decisions.bandit_choice import policy_from_counts
from slotwise.gateway.decisions.bandits import ope
from slotwise.gateway.experiments.report import open_site_store
from slotwise.gateway.measure import attribution
from slotwise.gateway.measure.bandit_rewards import BanditRule, rewards, scope

HELP = "off-policy evaluation: what another policy would have earned on a bandit's logged views"
ALIASES = {"contextual": "contextual_thompson"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True)
    parser.add_argument("--slot", required=True, help="the slot whose bandit logged the views")
    parser.add_argument("--key", help="the bandit's key, when the slot has several bandits")
    parser.add_argument("--policy", required=True, help="uniform, arm:NAME, current, or a policy name")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a setting of the policy")
    add_config_option(parser)
    parser.add_argument("--alpha", type=float, default=0.05, help="1 - the intervals' level (default 0.05)")
    parser.add_argument("--json", action="store_true", help="print only the JSON")


def find(config: Config, slot_name: str, key: str | None) -> Bandit:
    slot = config.slots.get(slot_name)
    if slot is None:
        raise ValueError(f"--slot: no slot '{slot_name}' in the configuration")
    bandits = [v.bandit for v in slot.variants if v.bandit is not None and (key is None or v.bandit.key == key)]
    if not bandits:
        raise ValueError(f"--slot: slot '{slot_name}' has no bandit" + (f" with key '{key}'" if key else ""))
    if len(bandits) > 1:
        raise ValueError(f"--key: slot '{slot_name}' has several bandits: {', '.join(b.key for b in bandits)}")
    return bandits[0]


def _settings(pairs: Sequence[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--set: expected NAME=VALUE, got {pair!r}")
        out[name] = yaml.safe_load(raw)
    return out


def target(bandit: Bandit, name: str, raw: dict[str, float], settings: dict[str, Any]) -> Callable[[Any], list[float]]:
    """The target policy's probabilities as a function of the logged context (the bucket)."""
    k = len(bandit.arms)
    if name == "uniform":
        return lambda _ctx: [1.0 / k] * k
    if name.startswith("arm:"):
        arm = name[4:]
        if arm not in bandit.arm_names:
            raise ValueError(
                f"--policy: '{arm}' is not an arm of bandit '{bandit.key}' ({', '.join(bandit.arm_names)})"
            )
        i = bandit.arm_names.index(arm)
        return lambda _ctx: [1.0 if j == i else 0.0 for j in range(k)]
    if name != "current":
        policy_name = ALIASES.get(name, name)
        given = {**bandit.settings, **settings}
        if policy_name != bandit.policy:  # another policy keeps only the settings every policy reads
            given = {n: v for n, v in given.items() if n in ("min_share", "explore")} | settings
        bandit = Bandit(bandit.key, policy_name, bandit.reward, bandit.arms, given, bandit.status,
                        bandit.window_days, bandit.half_life_days)  # fmt: skip
    elif settings:
        raise ValueError("--set: the 'current' policy takes the configured settings")
    policy = policy_from_counts(bandit, raw, int(time.time() // 86400), seed=0)
    cache: dict[Any, list[float]] = {}

    def probabilities(ctx: Any) -> list[float]:
        if ctx not in cache:
            cache[ctx] = policy.probabilities(ctx or None)
        return cache[ctx]

    return probabilities


def logged_from_events(events: list[dict[str, Any]], bandit: Bandit) -> list[ope.Logged]:
    """One visitor's logged views (context = the bucket, '' for none) with the live rules' rewards."""
    state = attribution.build(events)
    views = (state.get("b") or {}).get(bandit.key) or []
    if not views:
        return []
    propensity = {
        e["event_id"]: (e.get("properties") or {}).get("propensity") for e in events if e.get("type") == "impression"
    }
    rule = BanditRule(bandit.reward, bandit.window_days * attribution.DAY, frozenset(bandit.arm_names), True)
    out = []
    for (_ts, arm, bucket, event_id), reward in zip(views, rewards(views, state["o"], bandit.key, rule), strict=True):
        p = propensity.get(event_id)
        if arm in bandit.arm_names and isinstance(p, int | float) and 0 < p <= 1:
            out.append(ope.Logged(bucket, bandit.arm_names.index(arm), float(p), reward))
    return out


async def estimate(store: Any, config: Config, args: argparse.Namespace) -> dict[str, Any]:
    bandit = find(config, args.slot, args.key)
    settings = _settings(args.set)
    raw = (await store.counters(args.site, [scope(bandit.key)])).get(scope(bandit.key), {})
    fn = target(bandit, args.policy, raw, settings)
    logs: list[ope.Logged] = []
    for visitor in await store.visitors(args.site):
        logs += logged_from_events(await store.events(args.site, visitor), bandit)
    if not logs:
        raise ValueError(f"no logged views of bandit '{bandit.key}' with propensities in the store")
    logged_mean = sum(x.reward for x in logs) / len(logs)
    return {
        "site": args.site,
        "slot": args.slot,
        "bandit": bandit.key,
        "reward": bandit.reward,
        "policy": args.policy,
        "logs": len(logs),
        "logged_mean_reward": logged_mean,
        "alpha": args.alpha,
        "estimates": _finite(ope.evaluate(logs, fn, args.alpha)),
    }


def _finite(value: Any) -> Any:
    """JSON has no infinity: an interval that cannot be computed (a single log) is null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def table(result: dict[str, Any]) -> str:
    lines = [
        f"bandit {result['bandit']} (site {result['site']}, slot {result['slot']}, reward {result['reward']}): "
        f"{result['logs']:,} logged views, logged mean {result['logged_mean_reward']:.4g}",
        f"target policy {result['policy']}, intervals at {1 - result['alpha']:.0%}",
        f"{'estimator':<12}{'value':>10}{'interval':>24}{'effective n':>14}{'max weight':>12}",
    ]
    for e in result["estimates"].values():
        lo, hi = e["ci"]
        interval = "–" if lo is None or hi is None else f"[{lo:.4g}, {hi:.4g}]"
        lines.append(
            f"{e['method']:<12}{e['value']:>10.4g}{interval:>24}{e['effective_n']:>14.1f}{e['max_weight']:>12.3g}"
        )
    return "\n".join(lines)


async def _run(args: argparse.Namespace) -> int:
    opened = await open_site_store(args, "slotwise experiments ope")
    if opened is None:
        return 2
    config, store = opened
    try:
        result = await estimate(store, config, args)
    except ValueError as exc:
        print(f"slotwise experiments ope: {exc}", file=sys.stderr)
        return 2
    finally:
        await store.close()
    if not args.json:
        print(table(result))
    print(json.dumps(result, allow_nan=False, ensure_ascii=False))
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))
