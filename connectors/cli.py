# SPDX-License-Identifier: Apache-2.0
"""`slotwise sync`: pull a catalog through a connector into the catalog file.

slotwise sync --connector wordpress --url https://example.com --out items.jsonl [--full]
slotwise sync --connector woocommerce --url https://shop.example --config slotwise.yaml
slotwise sync --list
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from slotwise.connectors import catalogfile, registry
from slotwise.connectors.base import ConnectorError


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="slotwise sync", description="Pull a catalog through a connector.")
    parser.add_argument("--connector", help="connector name (see --list)")
    parser.add_argument("--url", help="base URL of the site, e.g. https://example.com")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="catalog JSON-lines file to merge into")
    where.add_argument("--config", type=Path, help="slotwise.yaml whose catalog.path is the file")
    parser.add_argument(
        "--full", action="store_true", help="ignore the saved cursor and drop this source's items no longer present"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--retries", type=int, default=4, help="retries on 429/5xx/timeouts (default 4)")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="connector option, e.g. types=posts,pages,products or types=auto",
    )
    parser.add_argument("--list", action="store_true", help="list the available connectors")
    return parser.parse_args(argv)


def catalog_from_config(path: Path) -> Path:
    from slotwise.gateway.config.loader import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as exc:
        raise ConnectorError(f"{path}: {exc}") from None
    if config.catalog_path is None:
        raise ConnectorError(f"{path}: catalog.path is not set; add it or use --out")
    return Path(config.catalog_path)


def options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConnectorError(f"--option {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def run(args: argparse.Namespace) -> int:
    if args.list:
        for name in registry.names():
            print(f"{name}\t{registry.get(name).description}")
        return 0
    if not args.connector or not args.url:
        raise ConnectorError("--connector and --url are required (or --list)")
    if args.out is None and args.config is None:
        raise ConnectorError("say where the catalog goes: --out items.jsonl or --config slotwise.yaml")
    out = args.out if args.out is not None else catalog_from_config(args.config)
    cls = registry.get(args.connector)
    source = f"{args.connector} {args.url.rstrip('/')}"
    cursor = catalogfile.Cursor() if args.full else catalogfile.load_cursor(out, source)
    with cls(args.url, timeout=args.timeout, retries=args.retries, options=options(args.option)) as conn:
        items = list(conn.sync(cursor))  # all or nothing: a failed run leaves the file as it was
        stats = conn.stats
        result = catalogfile.merge(out, items, source=source, full=args.full)
        catalogfile.save_cursor(out, source, conn.cursor)
    mode = "full" if args.full else ("incremental" if cursor.modified_after or cursor.etags else "first")
    print(
        f"{args.connector}: {stats.items} item(s) fetched ({mode} sync), {stats.skipped} skipped, "
        f"{stats.pages} page(s), {stats.not_modified} not modified, {stats.retries} retry(ies)"
    )
    print(
        f"{out}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.removed} removed, {result.total} total"
    )
    for warning in stats.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.bad_lines:
        print(f"warning: dropped unreadable catalog line(s) {result.bad_lines[:10]}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sync":
        argv = argv[1:]
    args = parse_args(argv)
    try:
        return run(args)
    except (ConnectorError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
