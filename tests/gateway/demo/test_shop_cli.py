# SPDX-License-Identifier: Apache-2.0
"""`slotwise simulate` end to end: a real gateway process, real HTTP, the results API."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from slotwise.gateway.demo.shop_cli import main
from tests.conftest import free_port


def run(out: Path, *args: str) -> dict[str, Any]:
    assert main(["simulate", "--quick", "--out", str(out), *args]) == 0
    report: dict[str, Any] = json.loads((out / "results.json").read_text())["report"]
    return report


def test_a_planted_lift_is_recovered_within_its_interval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(tmp_path, "--visitors", "240", "--seed", "0", "--planted-lift", "1.0", "--no-bandit")
    printed = capsys.readouterr().out
    assert "comes from the simulated ground truth" in printed and "personalized" in printed
    holdout, treated = report["arms"]
    assert (holdout["arm"], treated["arm"]) == ("holdout", "personalized")
    assert holdout["visitors"] + treated["visitors"] == 240
    assert treated["true_lift"] == pytest.approx(1.0)
    lo, hi = treated["conversion_ci"]
    assert lo < 1.0 < hi and treated["conversion_lift"] > 0
    # The results API counted exactly what the simulator sent.
    assert report["results_api_matches_simulator"]
    assert (tmp_path / "report.txt").read_text() in printed


def test_the_same_seed_gives_the_same_numbers_and_a_valid_svg(tmp_path: Path) -> None:
    first = run(tmp_path / "a", "--visitors", "120", "--seed", "4", "--no-bandit")
    second = run(tmp_path / "b", "--visitors", "120", "--seed", "4", "--no-bandit")
    first.pop("seconds"), second.pop("seconds")
    assert first == second
    treated = first["arms"][1]
    # Rules and the trained recommender beat the default blocks in the hidden truth.
    assert treated["true_lift"] > 0.1 and treated["true_conversion_rate"] > first["control_true_rate"]
    root = ET.parse(tmp_path / "a" / "reward-regret.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2 * len(first["arms"])  # reward and regret per arm


def test_the_hero_bandit_learns_from_the_simulated_clicks(tmp_path: Path) -> None:
    report = run(tmp_path, "--visitors", "400", "--seed", "3")
    bandit = report["bandit"]
    assert bandit["key"] == "hero-season" and bandit["views"] > 10
    arms = {a["arm"]: a for a in bandit["arms"]}
    # The gateway counted exactly the views and clicks the simulator sent, and chose from them.
    for a in arms.values():
        assert (a["pulls_counted"], a["rewards_counted"]) == (a["views"], a["clicks"])
    assert sum(a["probability_now"] for a in arms.values()) == pytest.approx(1.0, abs=1e-3)
    assert bandit["best_arm"] == "sneakers" and bandit["regret"] >= 0
    root = ET.parse(tmp_path / "reward-regret.svg").getroot()
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Bandit regret vs the best fixed arm" in titles and "uniform random (baseline)" in titles


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--visitors", "0"], "--visitors: must be 4..100000"),
        (["--visitors", "many"], "--visitors: not a whole number"),
        (["--seed", "-1"], "--seed: must be 0 or more"),
        (["--holdout", "1"], "--holdout: must be between 0.05 and 0.95"),
        (["--planted-lift", "nan"], "--planted-lift: must be between"),
        (["--gateway", "ftp://x"], "--gateway: must be an http(s) URL"),
    ],
)
def test_bad_options_are_refused_clearly(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unreachable_gateway_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["simulate", "--gateway", url, "--visitors", "8", "--out", str(tmp_path)]) == 1
    assert f"POST {url}/v1/render failed" in capsys.readouterr().err
