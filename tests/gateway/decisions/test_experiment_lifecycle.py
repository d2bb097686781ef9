# SPDX-License-Identifier: Apache-2.0
"""Experiment lifecycle: draft, running, paused, stopped with a winner, start and end, traffic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from slotwise.gateway.config.loader import ConfigError
from slotwise.gateway.decisions.decide import decide
from slotwise.gateway.measure.attribution import DAY, settings_from_config
from tests.gateway.decisions.test_decide import BERLIN, banner, config, env_for

JULY = datetime(2026, 7, 15, 10, 30, tzinfo=BERLIN)


def experiment(**extra: Any) -> list[dict[str, Any]]:
    arms = [{"name": "A", "block": banner("A")}, {"name": "B", "block": banner("B")}]
    return [
        {"id": "exp", "experiment": {"key": "x", "arms": arms, **extra}},
        {"id": "later", "block": banner("Later")},
    ]


def served(cfg: Any, visitors: int = 200, at: datetime = JULY) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(visitors):
        decision = decide(cfg.slots["hero"], env_for(cfg, at=at), f"v{i}")
        out[decision.variant] = out.get(decision.variant, 0) + 1
    return out


def test_running_assigns_and_draft_or_paused_fall_through() -> None:
    assert set(served(config(experiment()))) == {"exp:A", "exp:B"}
    assert served(config(experiment(status="draft"))) == {"later": 200}
    assert served(config(experiment(status="paused"))) == {"later": 200}


def test_stopped_serves_the_winner_to_everyone_without_an_experiment_tag() -> None:
    cfg = config(experiment(status="stopped", winner="B"))
    assert served(cfg) == {"exp:B": 200}
    assert decide(cfg.slots["hero"], env_for(cfg, at=JULY), "v1").experiment is None
    assert served(config(experiment(status="stopped"))) == {"later": 200}


def test_start_and_end_dates_bound_the_running_phase_and_the_ttl() -> None:
    cfg = config(experiment(start="2026-07-20", end="2026-08-01T00:00:00+02:00", winner="A"))
    assert served(cfg, 50) == {"later": 50}
    assert set(served(cfg, 50, datetime(2026, 7, 25, tzinfo=BERLIN))) == {"exp:A", "exp:B"}
    assert served(cfg, 50, datetime(2026, 8, 2, tzinfo=BERLIN)) == {"exp:A": 50}
    env = env_for(cfg, at=JULY)
    decide(cfg.slots["hero"], env, "v1")
    assert env.boundary == datetime(2026, 7, 20, 2, tzinfo=BERLIN).timestamp()  # midnight UTC


def test_traffic_share_keeps_the_rest_out_of_the_experiment() -> None:
    counts = served(config(experiment(traffic=0.25)), 2000)
    inside = counts.get("exp:A", 0) + counts.get("exp:B", 0)
    assert 0.2 < inside / 2000 < 0.3 and counts["later"] == 2000 - inside


def test_window_days_reach_the_attribution_settings() -> None:
    settings = settings_from_config(config(experiment(window_days=14)))
    assert settings.window("x") == 14 * DAY and settings.window("other") == 7 * DAY


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"status": "done"}, "status: must be one of draft, running, paused, stopped"),
        ({"winner": "C"}, "winner: unknown arm 'C'"),
        ({"start": "soon"}, "start: must be a date"),
        ({"start": "2026-08-01", "end": "2026-07-01"}, "end: must be after start"),
        ({"traffic": 1.5}, "traffic"),
    ],
)
def test_bad_lifecycle_settings_name_the_key(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config(experiment(**extra))
    assert message in str(info.value)
