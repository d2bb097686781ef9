# SPDX-License-Identifier: Apache-2.0
"""Variant choice, experiments (sticky, weighted, holdout), bots, and ttl bounds."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from scipy.stats import chisquare

from slotwise.gateway.blocks.page import memberships
from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.decisions.decide import decide
from slotwise.gateway.decisions.experiments import assign, bucket
from slotwise.gateway.rules.expr import Env
from tests.gateway.conftest import DESKTOP_UA, GOOGLEBOT_UA, IPHONE_UA, request_env

BERLIN = ZoneInfo("Europe/Berlin")


def config(variants: list[dict[str, Any]], **extra: Any):
    return parse_config(
        {
            "sites": {"s": {"publishable_key": "pk", "secret_key": "sk", "timezone": "Europe/Berlin"}},
            "segments": {"mobile": "device.class == 'mobile'", "office": "local.business_hours"},
            "slots": {"hero": {"variants": variants, "default": {"type": "banner", "title": "Default"}}},
            **extra,
        }
    )


def env_for(cfg, ua: str = DESKTOP_UA, at: datetime | None = None, **body: Any) -> Env:
    at = at or datetime(2026, 7, 15, 10, 30, tzinfo=BERLIN)
    return request_env(cfg, "s", ua, at.timestamp(), body)


def banner(title: str) -> dict[str, Any]:
    return {"type": "banner", "title": title}


def test_first_matching_variant_wins_and_default_otherwise() -> None:
    cfg = config(
        [
            {"id": "mob", "when": "mobile", "block": banner("M")},
            {"id": "office", "when": "office", "block": banner("O")},
            {"id": "any", "block": banner("A")},
        ]
    )
    slot = cfg.slots["hero"]
    assert decide(slot, env_for(cfg, IPHONE_UA), "v").variant == "mob"
    assert decide(slot, env_for(cfg, DESKTOP_UA), "v").variant == "office"
    saturday = datetime(2026, 7, 18, 10, 30, tzinfo=BERLIN)
    assert decide(slot, env_for(cfg, DESKTOP_UA, saturday), "v").variant == "any"
    only_when = config([{"id": "mob", "when": "mobile", "block": banner("M")}])
    assert decide(only_when.slots["hero"], env_for(only_when), "v").variant == "default"


def test_bots_always_get_the_default_and_no_experiment() -> None:
    cfg = config(
        [
            {"id": "any", "block": banner("A")},
            {"experiment": {"key": "e", "arms": [{"name": "a", "block": banner("X")}]}},
        ]
    )
    d = decide(cfg.slots["hero"], env_for(cfg, GOOGLEBOT_UA), "v")
    assert (d.variant, d.experiment) == ("default", None)


def test_expired_offers_are_skipped_and_bound_the_ttl() -> None:
    cfg = config([{"id": "sale", "block": {"type": "offer", "title": "Sale", "expires": "2026-07-15T12:00:00+02:00"}}])
    before = env_for(cfg)
    assert decide(cfg.slots["hero"], before, "v").variant == "sale"
    assert before.boundary == datetime(2026, 7, 15, 12, 0, tzinfo=BERLIN).timestamp()
    after = env_for(cfg, at=datetime(2026, 7, 15, 12, 0, tzinfo=BERLIN))
    assert decide(cfg.slots["hero"], after, "v").variant == "default"


def test_business_hours_variant_at_1658_gets_at_most_120_seconds() -> None:
    cfg = config([{"id": "office", "when": "office", "block": banner("O")}])
    env = env_for(cfg, at=datetime(2026, 7, 15, 16, 58, tzinfo=BERLIN))
    assert decide(cfg.slots["hero"], env, "v").variant == "office"
    assert env.boundary - env.now == 120


def test_hour_rule_at_dst_change_bounds_to_the_real_next_hour() -> None:
    cfg = config([{"id": "night", "when": "local.hour < 3", "block": banner("N")}])
    # 01:30 CET on the spring-forward night: the next local hour starts 30 minutes later (03:00 CEST).
    env = env_for(cfg, at=datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN))
    assert decide(cfg.slots["hero"], env, "v").variant == "night"
    assert env.boundary - env.now == 1800


def _experiment_cfg(holdout: float, weights: list[float]):
    arms = [{"name": f"arm{i}", "weight": w, "block": banner(f"B{i}")} for i, w in enumerate(weights)]
    return config([{"id": "exp", "experiment": {"key": "hero-test", "holdout": holdout, "arms": arms}}])


def test_assignment_is_sticky_and_independent_across_experiments() -> None:
    cfg = _experiment_cfg(0.0, [1, 1])
    exp = cfg.slots["hero"].variants[0].experiment
    assert all(assign(exp, f"v{i}") == assign(exp, f"v{i}") for i in range(1000))
    # Another experiment key reshuffles visitors: buckets are not correlated.
    pairs = Counter((bucket("a", f"v{i}") < 0.5, bucket("b", f"v{i}") < 0.5) for i in range(20000))
    assert chisquare(list(pairs.values())).pvalue > 0.001


def test_weights_and_holdout_are_accurate_over_100k_visitors() -> None:
    weights = [1, 2, 7]
    holdout = 0.1
    cfg = _experiment_cfg(holdout, weights)
    exp = cfg.slots["hero"].variants[0].experiment
    counts = Counter((a.name if (a := assign(exp, f"visitor-{i}")) else "holdout") for i in range(100_000))
    expected = [100_000 * holdout] + [100_000 * (1 - holdout) * w / sum(weights) for w in weights]
    observed = [counts["holdout"]] + [counts[f"arm{i}"] for i in range(3)]
    # Chi-square goodness of fit: a correct hash fails this once in 10,000 runs.
    assert chisquare(observed, expected).pvalue > 1e-4


def test_experiment_decisions_report_the_arm_and_holdout() -> None:
    cfg = _experiment_cfg(0.5, [1])
    results = {decide(cfg.slots["hero"], env_for(cfg), f"v{i}").variant for i in range(50)}
    assert results == {"exp:arm0", "exp:holdout"}
    d = next(
        decide(cfg.slots["hero"], env_for(cfg), f"v{i}")
        for i in range(50)
        if decide(cfg.slots["hero"], env_for(cfg), f"v{i}").experiment["holdout"]
    )
    assert d.block["title"] == "Default" and d.experiment == {"key": "hero-test", "arm": "holdout", "holdout": True}


def test_no_identifier_no_experiment() -> None:
    cfg = _experiment_cfg(0.0, [1])
    assert decide(cfg.slots["hero"], env_for(cfg), None).variant == "default"
    assert decide(cfg.slots["hero"], env_for(cfg, consent="none"), "v1").variant == "default"


def test_memberships_do_not_shorten_the_ttl() -> None:
    cfg = config([{"id": "mob", "when": "mobile", "block": banner("M")}])
    env = env_for(cfg, IPHONE_UA)
    assert memberships(env) == ["mobile", "office"]
    assert env.boundary == float("inf")


@pytest.mark.parametrize("hour, expected", [(8, "default"), (9, "office"), (16, "office"), (17, "default")])
def test_business_hours_edges(hour: int, expected: str) -> None:
    cfg = config([{"id": "office", "when": "office", "block": banner("O")}])
    env = env_for(cfg, at=datetime(2026, 7, 15, hour, 0, tzinfo=BERLIN))
    assert decide(cfg.slots["hero"], env, "v").variant == expected


def test_an_arm_without_a_block_lets_the_later_variants_decide_tagged_with_the_arm() -> None:
    holdout_test = {"id": "p13n", "experiment": {"key": "p13n", "holdout": 0.5, "arms": [{"name": "on"}]}}
    cfg = config(
        [
            holdout_test,
            {"id": "mob", "when": "mobile", "block": banner("M")},
            {"id": "inner", "experiment": {"key": "inner", "arms": [{"name": "x", "block": banner("X")}]}},
        ]
    )
    slot = cfg.slots["hero"]
    seen = Counter()
    for i in range(400):
        visitor = f"v{i}"
        d = decide(slot, env_for(cfg, IPHONE_UA), visitor)
        seen[d.experiment["arm"]] += 1
        if bucket("p13n", visitor) < 0.5:
            assert (d.variant, d.block["title"], d.experiment["holdout"]) == ("p13n:holdout", "Default", True)
        else:
            # The rules decide; the decision is reported as the personalization arm.
            assert (d.variant, d.block["title"]) == ("mob", "M")
            assert d.experiment == {"key": "p13n", "arm": "on", "holdout": False}
            desktop = decide(slot, env_for(cfg, DESKTOP_UA), visitor)
            # No experiment nested inside the arm: past the rules, the default, still tagged.
            assert (desktop.variant, desktop.experiment["arm"]) == ("default", "on")
    assert 150 < seen["on"] < 250 and seen["on"] + seen["holdout"] == 400


def test_a_stopped_experiment_whose_winner_has_no_block_falls_through_untagged() -> None:
    exp = {"key": "p13n", "holdout": 0.5, "status": "stopped", "winner": "on", "arms": [{"name": "on"}]}
    cfg = config([{"id": "p13n", "experiment": exp}, {"id": "mob", "when": "mobile", "block": banner("M")}])
    d = decide(cfg.slots["hero"], env_for(cfg, IPHONE_UA), "v1")
    assert (d.variant, d.experiment) == ("mob", None)


def test_one_experiment_key_may_span_slots_only_when_every_copy_assigns_alike() -> None:
    from slotwise.gateway.config.loader import ConfigError

    def two_slots(second_holdout: float) -> dict[str, Any]:
        def slot(holdout: float) -> dict[str, Any]:
            exp = {"key": "p13n", "holdout": holdout, "arms": [{"name": "on"}]}
            return {"variants": [{"experiment": exp}], "default": banner("D")}

        return {
            "sites": {"s": {"publishable_key": "pk", "secret_key": "sk"}},
            "slots": {"hero": slot(0.5), "recs": slot(second_holdout)},
        }

    cfg = parse_config(two_slots(0.5))
    assert [v.experiment.key for s in cfg.slots.values() for v in s.variants] == ["p13n", "p13n"]
    with pytest.raises(ConfigError, match="the same holdout, traffic, status and arms"):
        parse_config(two_slots(0.3))
