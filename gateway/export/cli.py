# SPDX-License-Identifier: Apache-2.0
"""`slotwise export --config F --site S --to DIR|postgresql://...`: what is new since the last run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from slotwise.gateway.config.command import reports_config_errors, site_command_parser


@reports_config_errors
def main(argv: list[str]) -> int:
    parser = site_command_parser("export", "export events for analytics")
    parser.add_argument("--to", required=True, help="a directory, or postgresql://USER@HOST:PORT/DB")
    parser.add_argument("--format", default="parquet,csv", help="files to write: parquet, csv or both")
    parser.add_argument("--schema", default="public", help="PostgreSQL schema of the tables")
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    if not formats or set(formats) - {"parquet", "csv"}:
        parser.error(f"--format {args.format!r}: use parquet, csv or parquet,csv")
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.export.rows import EventReader, SQLiteEvents
    from slotwise.gateway.visitors.stores import parse_store_settings

    config = load_config(args.config)
    if args.site not in config.sites:
        print(f"unknown site {args.site!r}; one of {', '.join(sorted(config.sites))}", file=sys.stderr)
        return 2
    settings = parse_store_settings(config.store) if config.store else None
    if settings is None or not settings.enabled:
        print("slotwise export reads the store's events: the configuration has no store", file=sys.stderr)
        return 2
    events: EventReader
    try:
        if settings.backend == "redis":
            from slotwise.gateway.export.redis_rows import RedisEvents

            events = RedisEvents(settings.url, settings.prefix)
        else:
            events = SQLiteEvents(settings.path)
    except FileNotFoundError:
        print(f"no store at {settings.path}", file=sys.stderr)
        return 2
    except Exception as exc:  # redis-py's connection errors: the message says what failed
        print(f"cannot read the Redis store at {settings.url.split('@')[-1]}: {exc}", file=sys.stderr)
        return 2
    try:
        if args.to.startswith(("postgresql://", "postgres://")):
            from slotwise.gateway.export.postgres import export_to_postgres

            result = export_to_postgres(events, args.site, args.to, args.schema)
        else:
            from slotwise.gateway.export.files import export_to_dir

            result = export_to_dir(events, args.site, Path(args.to), formats)
    finally:
        events.close()
    print(json.dumps({"site": args.site, "to": args.to.split("@")[-1], **result}))
    return 0
