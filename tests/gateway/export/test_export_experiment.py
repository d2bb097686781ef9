# SPDX-License-Identifier: Apache-2.0
"""An experiment's traffic (the shop simulator through a real gateway), exported to Parquet and
queried with DuckDB, reproduces the results API's numbers: n, conversions and means per arm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slotwise.gateway.cli import main as cli_main
from slotwise.gateway.demo.shop_cli import EXPERIMENT, build_parser, simulate_shop
from tests.conftest import need

try:
    import duckdb
except ImportError:  # a dev extra; CI has it
    duckdb = None

# A visitor's arm is their first exposure; outcomes count within 7 days after it (docs/experiments.md).
PER_VISITOR = """
WITH ranked AS (
    SELECT visitor_id, arm, ts,
           row_number() OVER (PARTITION BY visitor_id ORDER BY ts, arm, slot, event_id) AS k
    FROM read_parquet('{out}/exposures/*.parquet') WHERE experiment = ?
), assigned AS (SELECT visitor_id, arm, ts AS t0 FROM ranked WHERE k = 1),
outcomes AS (
    SELECT * FROM read_parquet('{out}/events/*.parquet') WHERE type IN ('purchase', 'conversion', 'signup')
)
SELECT a.arm,
       count(DISTINCT a.visitor_id) AS n,
       count(DISTINCT o.visitor_id) AS conversions,
       coalesce(sum(CASE WHEN o.type = 'purchase' THEN o.value END), 0) AS revenue
FROM assigned a
LEFT JOIN outcomes o ON o.visitor_id = a.visitor_id AND o.ts BETWEEN a.t0 AND a.t0 + INTERVAL 7 DAY
GROUP BY a.arm ORDER BY a.arm
"""


def test_exported_parquet_reproduces_the_results_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need(duckdb is not None, "the duckdb package")
    args = build_parser().parse_args(["--quick", "--visitors", "200", "--seed", "2", "--no-bandit"])
    run = simulate_shop(tmp_path / "shop", args)
    out = tmp_path / "warehouse"
    config = tmp_path / "shop" / "slotwise.yaml"
    assert cli_main(["export", "--config", str(config), "--site", "demo", "--to", str(out)]) == 0
    written: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert written["exposures"] > 0

    db = duckdb.connect()
    rows = db.execute(PER_VISITOR.format(out=out), [EXPERIMENT]).fetchall()
    mine = {arm: (n, conversions, revenue) for arm, n, conversions, revenue in rows}
    api = {row["name"]: row for row in run.results["metrics"]["conversion"]["arms"]}
    revenue = {row["name"]: row for row in run.results["metrics"]["revenue"]["arms"]}
    assert set(mine) == set(api) == {"holdout", "personalized"}
    for arm, (n, conversions, total) in mine.items():
        assert n == api[arm]["n"] == revenue[arm]["n"]
        assert conversions == round(api[arm]["mean"] * n)
        assert total / n == pytest.approx(revenue[arm]["mean"])
    assert sum(m[1] for m in mine.values()) > 0  # the comparison is not of zeros

    # The exported experiment counters are the same numbers, as the results API reads them.
    counters = db.execute(
        f"SELECT arm, value FROM read_parquet('{out}/experiment_counters/*.parquet') "
        "WHERE experiment = ? AND metric = 'n' ORDER BY arm",
        [EXPERIMENT],
    ).fetchall()
    assert {arm: round(v) for arm, v in counters} == {arm: m[0] for arm, m in mine.items()}
    # Every exposure row names the arm the gateway reported for that visitor's visit.
    arms = dict(
        db.execute(
            f"SELECT visitor_id, any_value(arm) FROM read_parquet('{out}/exposures/*.parquet') "
            "WHERE experiment = ? GROUP BY visitor_id HAVING count(DISTINCT arm) = 1",
            [EXPERIMENT],
        ).fetchall()
    )
    assert arms == {v.shopper.visitor_id: v.arm for v in run.visits}
