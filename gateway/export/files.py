# SPDX-License-Identifier: Apache-2.0
"""Export to a directory: `events/part-<site>-<first seq>.parquet` and `.csv`, per chunk of 50k.

`_watermark.json` holds the last exported seq per site; it is replaced (atomically) only after
the parts are written, and a part is named after its first seq, so a run that crashed is
redone by the next one into the same file names: nothing is doubled.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from slotwise.gateway.export.rows import COLUMN_NAMES, EVENT_COLUMNS, EventReader

STATE = "_watermark.json"


def _state(directory: Path) -> dict[str, Any]:
    path = directory / STATE
    return json.loads(path.read_text()) if path.exists() else {}


def _replace(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _arrow_schema(columns: list[tuple[str, str, str]] = EVENT_COLUMNS) -> Any:
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "string": pa.string(),
        "float64": pa.float64(),
        "timestamp": pa.timestamp("us", "UTC"),
        "date": pa.date32(),
    }
    return pa.schema([(name, types[kind]) for name, kind, _ in columns])


def export_to_dir(events: EventReader, site: str, directory: Path, formats: tuple[str, ...]) -> dict[str, Any]:
    """Write the events new since the last run; what was written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "events").mkdir(exist_ok=True)
    state = _state(directory)
    after = int(state.get(site, {}).get("events", 0))
    out: dict[str, Any] = {"events": 0, "watermark": after, "files": []}
    for rows in events.chunks(site, after):
        stem = directory / "events" / f"part-{site}-{rows[0]['seq']:012d}"
        if "parquet" in formats:
            table = pa.Table.from_pylist(rows, schema=_arrow_schema())
            _replace(stem.with_suffix(".parquet"), lambda p, t=table: pq.write_table(t, p, compression="zstd"))
            out["files"].append(f"events/{stem.name}.parquet")
        if "csv" in formats:
            _replace(stem.with_suffix(".csv"), lambda p, r=rows: _write_csv(p, r))
            out["files"].append(f"events/{stem.name}.csv")
        out["events"] += len(rows)
        out["watermark"] = rows[-1]["seq"]
        state.setdefault(site, {})["events"] = out["watermark"]
        _replace(directory / STATE, lambda p: p.write_text(json.dumps(state, indent=2, sort_keys=True)))
    out["aggregates"] = _snapshots(events, site, directory, formats, out["files"])
    return out


def _snapshots(events: EventReader, site: str, directory: Path, formats: tuple[str, ...], files: list[str]) -> Any:
    """The aggregate tables, replaced whole: `<table>/<table>-<site>.parquet|csv`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from slotwise.gateway.export.aggregates import TABLES

    counts = {}
    for table, rows in events.aggregates(site).items():
        (directory / table).mkdir(exist_ok=True)
        stem = directory / table / f"{table}-{site}"
        if "parquet" in formats:
            data = pa.Table.from_pylist(rows, schema=_arrow_schema(TABLES[table]))
            _replace(stem.with_suffix(".parquet"), lambda p, t=data: pq.write_table(t, p, compression="zstd"))
            files.append(f"{table}/{stem.name}.parquet")
        if "csv" in formats:
            names = [c[0] for c in TABLES[table]]
            _replace(stem.with_suffix(".csv"), lambda p, r=rows, n=names: _write_csv(p, r, n))
            files.append(f"{table}/{stem.name}.csv")
        counts[table] = len(rows)
    return counts


def _write_csv(path: Path, rows: list[dict[str, Any]], names: list[str] = COLUMN_NAMES) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, names)
        writer.writeheader()
        for row in rows:
            if "ts" in row:
                row = {**row, "ts": row["ts"].isoformat().replace("+00:00", "Z")}
            writer.writerow(row)
