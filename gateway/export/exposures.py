# SPDX-License-Identifier: Apache-2.0
"""The `exposures` table: one row per impression or click that names a slot, with its arm.

Derived from the same event rows as the `events` table (same chunk, same watermark), through
`measure.exposures.exposure_of`, so a row exists exactly when the counters saw an exposure and
the arm, propensity and kind are read by the same rules. Analysts join it to `events` on
`visitor_id` to rebuild an experiment's assignments (a visitor's first exposure) and outcomes.
"""

from __future__ import annotations

import json
from typing import Any

from slotwise.gateway.measure.exposures import exposure_of

# (column, arrow type name, PostgreSQL type)
EXPOSURE_COLUMNS: list[tuple[str, str, str]] = [
    ("seq", "int64", "bigint NOT NULL"),
    ("site", "string", "text NOT NULL"),
    ("event_id", "string", "text NOT NULL"),
    ("visitor_id", "string", "text NOT NULL"),
    ("ts", "timestamp", "timestamptz NOT NULL"),
    ("type", "string", "text NOT NULL"),
    ("kind", "string", "text NOT NULL"),
    ("slot", "string", "text NOT NULL"),
    ("variant", "string", "text NOT NULL"),
    ("experiment", "string", "text"),
    ("arm", "string", "text"),
    ("propensity", "float64", "double precision"),
]
EXPOSURE_NAMES = [c[0] for c in EXPOSURE_COLUMNS]


def exposure_rows(event_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exposures among a chunk of `events` rows (whose `properties` are JSON text)."""
    out = []
    for row in event_rows:
        if row["type"] not in ("impression", "click") or not row["properties"]:
            continue
        found = exposure_of({"type": row["type"], "properties": json.loads(row["properties"])})
        if found is None:
            continue
        out.append(
            {
                "seq": row["seq"],
                "site": row["site"],
                "event_id": row["event_id"],
                "visitor_id": row["visitor_id"],
                "ts": row["ts"],
                "type": row["type"],
                "kind": found.kind,
                "slot": found.slot,
                "variant": found.variant,
                "experiment": found.experiment,
                "arm": found.arm,
                "propensity": found.propensity,
            }
        )
    return out
