# SPDX-License-Identifier: Apache-2.0
"""The measurement's aggregates as two flat tables, a snapshot per run (counters change in place).

`kpi_daily` comes from the scopes `kpi|YYYY-MM-DD` (keys `slot\\x1fvariant\\x1fsegment\\x1fname`,
see `measure/kpis.py`), `experiment_counters` from `exp|KEY` (keys `arm\\x1fmetric\\x1fstat`, see
`measure/counters.py`); values are the logged and the other counters summed, as the results API
reads them. A store without the measurement tables exports empty tables.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

# table -> [(column, arrow type name, PostgreSQL type)]
TABLES: dict[str, list[tuple[str, str, str]]] = {
    "kpi_daily": [
        ("site", "string", "text NOT NULL"),
        ("day", "date", "date NOT NULL"),
        ("slot", "string", "text NOT NULL"),
        ("variant", "string", "text NOT NULL"),
        ("segment", "string", "text NOT NULL"),
        ("name", "string", "text NOT NULL"),
        ("value", "float64", "double precision NOT NULL"),
    ],
    "experiment_counters": [
        ("site", "string", "text NOT NULL"),
        ("experiment", "string", "text NOT NULL"),
        ("arm", "string", "text NOT NULL"),
        ("metric", "string", "text NOT NULL"),
        ("stat", "string", "text NOT NULL"),
        ("value", "float64", "double precision NOT NULL"),
    ],
}


def aggregate_rows(conn: sqlite3.Connection, site: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    try:
        rows = conn.execute(
            "SELECT scope, key, SUM(value) FROM measure_counters WHERE site = ? GROUP BY scope, key "
            "ORDER BY scope, key",
            (site,),
        ).fetchall()
    except sqlite3.OperationalError:  # a store from before the measurement
        return out
    return rows_from_counters(site, rows)


def rows_from_counters(site: str, rows: Any) -> dict[str, list[dict[str, Any]]]:
    """(scope, key, value) counter rows, summed per scope and key, as the two tables."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for scope, key, value in rows:
        kind, _, name = scope.partition("|")
        parts = key.split("\x1f")
        if kind == "kpi" and len(parts) == 4:
            slot, variant, segment, metric = parts
            day = date.fromisoformat(name)
            out["kpi_daily"].append(
                {
                    "site": site,
                    "day": day,
                    "slot": slot,
                    "variant": variant,
                    "segment": segment,
                    "name": metric,
                    "value": value,
                }
            )
        elif kind == "exp" and len(parts) == 3:
            arm, metric, stat = parts
            out["experiment_counters"].append(
                {"site": site, "experiment": name, "arm": arm, "metric": metric, "stat": stat, "value": value}
            )
    return out
