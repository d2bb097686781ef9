# SPDX-License-Identifier: Apache-2.0
"""`slotwise experiments ope` on simulated logs in a real SQLite store, whose true values are known.

The logging policy favours the wrong arm in each context, so an estimator that ignores the
propensities (the logged arm's plain mean) is far off: the test proves it would catch one."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.experiments.cli import main
from slotwise.gateway.visitors.stores import build_store

ARMS = ["red", "green", "blue"]
RATES = {"mobile": [0.1, 0.6, 0.2], "desktop": [0.4, 0.1, 0.3]}  # hidden click rates
LOGGING = {"mobile": [0.6, 0.2, 0.2], "desktop": [0.2, 0.6, 0.2]}  # the propensities logged
TRUTH = {
    "arm:red": 0.5 * 0.1 + 0.5 * 0.4,
    "arm:green": 0.5 * 0.6 + 0.5 * 0.1,
    "uniform": 0.5 * sum(RATES["mobile"]) / 3 + 0.5 * sum(RATES["desktop"]) / 3,
}
N = 4000
T0 = 1_790_000_000.0


def _config(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = {
        "sites": {"shop": {"publishable_key": "pk_shop", "secret_key": "sk_shop"}},
        "store": {"backend": "sqlite", "path": str(tmp_path / "events.db")},
        "slots": {
            "hero": {
                "default": {"type": "banner", "title": "Default"},
                "variants": [
                    {
                        "id": "colour",
                        "bandit": {
                            "key": "hero-colour",
                            "policy": "contextual",
                            "keys": ["device"],
                            "min_share": 0.05,
                            "arms": [{"name": n, "block": {"type": "banner", "title": n}} for n in ARMS],
                        },
                    }
                ],
            }
        },
    }
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _simulate(config_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for i in range(N):
        device = "mobile" if i % 2 else "desktop"
        arm = rng.choices(range(3), LOGGING[device])[0]
        props = {"slot": "hero", "variant": f"colour:{ARMS[arm]}", "experiment": "hero-colour", "arm": ARMS[arm],
                 "propensity": LOGGING[device][arm], "bucket": device}  # fmt: skip
        ts = T0 + i
        events.append({"event_id": f"i{i}", "visitor_id": f"v{i}", "type": "impression", "ts": ts, "properties": props})
        if rng.random() < RATES[device][arm]:
            events.append({"event_id": f"c{i}", "visitor_id": f"v{i}", "type": "click", "ts": ts + 2,
                           "properties": props})  # fmt: skip

    async def go() -> None:
        store = await build_store(load_config(config_path))
        assert store is not None
        try:
            for start in range(0, len(events), 500):
                await store.ingest("shop", events[start : start + 500])
        finally:
            await store.close()

    asyncio.run(go())


def _ope(config_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code = main(["experiments", "ope", "--site", "shop", "--slot", "hero", "--config", str(config_path), *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_ips_and_snips_cover_the_true_value_and_ignoring_propensities_would_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The naive estimate of "always red" / "always green": the mean reward of the views that
    # showed it, skewed by the logging shares (red is mostly logged on mobile, green on desktop).
    naive = {"arm:red": 0.75 * 0.1 + 0.25 * 0.4, "arm:green": 0.25 * 0.6 + 0.75 * 0.1}
    covered = checks = naive_covered = 0
    for seed in range(5):
        config_path = _config(tmp_path / f"s{seed}")
        _simulate(config_path, seed)
        for policy, truth in TRUTH.items():
            result = _ope(config_path, capsys, "--policy", policy)
            assert result["logs"] == N and result["bandit"] == "hero-colour"
            for method in ("ips", "snips"):
                estimate = result["estimates"][method]
                lo, hi = estimate["ci"]
                assert hi - lo < 0.1  # an interval that says something
                assert abs(estimate["value"] - truth) < 0.06
                covered += lo <= truth <= hi
                checks += 1
                if policy in naive:
                    naive_covered += lo <= naive[policy] <= hi
    assert covered >= 0.85 * checks, (covered, checks)  # 95 % intervals: about 28.5 of 30
    assert naive_covered == 0  # a propensity-blind estimator would fail this test


def test_learned_targets_and_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = _config(tmp_path)
    _simulate(config_path, seed=6)
    # The contextual policy as it stands learned green on mobile and red on desktop: near the best.
    best = 0.5 * 0.6 + 0.5 * 0.4
    current = _ope(config_path, capsys, "--policy", "current")["estimates"]["snips"]
    assert current["value"] > 0.4 and current["ci"][0] <= best + 0.02
    flat = _ope(config_path, capsys, "--policy", "thompson")["estimates"]["snips"]
    assert flat["value"] < current["value"]  # one arm for everyone earns less
    code = main(["experiments", "ope", "--site", "shop", "--slot", "hero", "--config", str(config_path),
                 "--policy", "epsilon_greedy", "--set", "epsilon=0.2"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "ips" in text and "snips" in text and "effective n" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slot", "nope", "--policy", "uniform"], "no slot 'nope'"),
        (["--slot", "hero", "--policy", "arm:pink"], "'pink' is not an arm"),
        (["--slot", "hero", "--policy", "softmax"], "policy: unknown policy 'softmax'"),
        (["--slot", "hero", "--policy", "ucb1", "--set", "c=-3"], "c: must lie in"),
        (["--slot", "hero", "--policy", "uniform"], "no logged views"),
    ],
)
def test_refusals_name_the_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config_path = _config(tmp_path)
    code = main(["experiments", "ope", "--site", "shop", "--config", str(config_path), *args])
    assert code == 2 and message in capsys.readouterr().err
