# SPDX-License-Identifier: Apache-2.0
"""Export to PostgreSQL: the table `slotwise_events` (docs/analytics.md) in a schema of choice.

Rows and the watermark (`slotwise_export_state`) are written in one transaction per chunk,
and rows are keyed by (site, event_id), so a crashed or repeated run never doubles a row.
"""

from __future__ import annotations

from typing import Any

from slotwise.gateway.export.rows import COLUMN_NAMES, EVENT_COLUMNS, EventReader

EVENTS_TABLE = "slotwise_events"
STATE_TABLE = "slotwise_export_state"


def _ddl(schema: str) -> list[str]:
    columns = ",\n  ".join(f"{name} {pg}" for name, _, pg in EVENT_COLUMNS)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        f"CREATE TABLE IF NOT EXISTS {schema}.{EVENTS_TABLE} (\n  {columns},\n  PRIMARY KEY (site, event_id)\n)",
        f"CREATE INDEX IF NOT EXISTS {EVENTS_TABLE}_ts ON {schema}.{EVENTS_TABLE} (site, ts)",
        f"CREATE TABLE IF NOT EXISTS {schema}.{STATE_TABLE} (site text NOT NULL, table_name text NOT NULL, "
        "watermark bigint NOT NULL, exported_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (site, table_name))",
    ]


def export_to_postgres(events: EventReader, site: str, dsn: str, schema: str = "public") -> dict[str, Any]:
    import psycopg
    from psycopg import sql

    if not schema.isidentifier():
        raise ValueError(f"--schema {schema!r} must be a plain identifier")
    with psycopg.connect(dsn, autocommit=False) as conn:
        with conn.transaction():
            for statement in _ddl(schema):
                conn.execute(statement.encode())  # built from constants and an identifier
        row = conn.execute(
            sql.SQL("SELECT watermark FROM {}.{} WHERE site = %s AND table_name = 'events'").format(
                sql.Identifier(schema), sql.Identifier(STATE_TABLE)
            ),
            (site,),
        ).fetchone()
        conn.commit()
        after = int(row[0]) if row else 0
        out: dict[str, Any] = {"events": 0, "watermark": after}
        insert = sql.SQL("INSERT INTO {}.{} ({}) VALUES ({}) ON CONFLICT (site, event_id) DO NOTHING").format(
            sql.Identifier(schema),
            sql.Identifier(EVENTS_TABLE),
            sql.SQL(", ").join(map(sql.Identifier, COLUMN_NAMES)),
            sql.SQL(", ").join(sql.Placeholder() * len(COLUMN_NAMES)),
        )
        upsert = sql.SQL(
            "INSERT INTO {}.{} (site, table_name, watermark) VALUES (%s, 'events', %s) "
            "ON CONFLICT (site, table_name) DO UPDATE SET watermark = EXCLUDED.watermark, exported_at = now()"
        ).format(sql.Identifier(schema), sql.Identifier(STATE_TABLE))
        for rows in events.chunks(site, after):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(insert, [tuple(r[c] for c in COLUMN_NAMES) for r in rows])
                cur.execute(upsert, (site, rows[-1]["seq"]))
            out["events"] += len(rows)
            out["watermark"] = rows[-1]["seq"]
        out["aggregates"] = _snapshots(conn, events, site, schema)
    return out


def _snapshots(conn: Any, events: EventReader, site: str, schema: str) -> dict[str, int]:
    """The aggregate tables: the site's rows replaced in one transaction."""
    from psycopg import sql

    from slotwise.gateway.export.aggregates import TABLES

    counts = {}
    with conn.transaction(), conn.cursor() as cur:
        for table, rows in events.aggregates(site).items():
            columns = TABLES[table]
            name = sql.Identifier(schema, f"slotwise_{table}")
            defs = sql.SQL(", ").join(sql.SQL(f"{c} {pg}") for c, _, pg in columns)
            cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(name, defs))
            cur.execute(sql.SQL("DELETE FROM {} WHERE site = %s").format(name), (site,))
            insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                name,
                sql.SQL(", ").join(sql.Identifier(c) for c, _, _ in columns),
                sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            )
            cur.executemany(insert, [tuple(r[c] for c, _, _ in columns) for r in rows])
            counts[table] = len(rows)
    return counts
