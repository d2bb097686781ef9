# SPDX-License-Identifier: Apache-2.0
"""`slotwise rebuild-profiles` and `slotwise import-attributes FILE`.

    slotwise rebuild-profiles --config slotwise.yaml [--site demo]
    slotwise import-attributes crm.csv --config slotwise.yaml --site demo

Attribute rows are keyed by `visitor_id`, `email_sha256` or `email` (hashed here, never
stored), and kept under 'visitor:<id>' or 'email:<sha256>'; only attributes declared under
`attributes` in the configuration are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slotwise.gateway.config.command import add_config_actions, reports_config_errors
from slotwise.gateway.visitors.stores import Store, open_store, parse_store_settings

KEY_COLUMNS = ("visitor_id", "email_sha256", "email")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_VISITOR = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _rows(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, row) from CSV with a header or from JSON lines (by file content)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        if first.lstrip().startswith("{"):
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield n, json.loads(line)
                    except ValueError:
                        yield n, None
        else:
            for n, row in enumerate(csv.DictReader(fh), 2):
                yield n, row


def parse_attribute_rows(path: Path, declared: frozenset[str]) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """Rows to store as (key, attributes), and the rejections, each with its line."""
    accepted: list[tuple[str, dict[str, Any]]] = []
    rejected: list[str] = []
    for n, row in _rows(path):
        if not isinstance(row, dict):
            rejected.append(f"line {n}: not a JSON object")
            continue
        key = None
        if isinstance(row.get("visitor_id"), str) and row["visitor_id"]:
            if not _VISITOR.match(row["visitor_id"]):
                rejected.append(f"line {n}: visitor_id has characters outside A-Z a-z 0-9 _ . : -")
                continue
            key = "visitor:" + row["visitor_id"]
        elif isinstance(row.get("email_sha256"), str) and row["email_sha256"]:
            digest = row["email_sha256"].strip().lower()
            if not _SHA256.match(digest):
                rejected.append(f"line {n}: email_sha256 is not 64 hex digits")
                continue
            key = "email:" + digest
        elif isinstance(row.get("email"), str) and "@" in row["email"]:
            key = "email:" + email_hash(row["email"])
        if key is None:
            rejected.append(f"line {n}: no visitor_id, email_sha256 or email")
            continue
        attrs: dict[str, Any] = {}
        bad = None
        for name, value in row.items():
            if name in KEY_COLUMNS or name is None or value in (None, ""):
                continue
            if name not in declared:
                continue  # undeclared columns are not usable in rules: not stored
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                bad = f"line {n}: attribute '{name}' must be text or a number"
                break
            attrs[name] = value[:200] if isinstance(value, str) else value
        if bad:
            rejected.append(bad)
        elif not attrs:
            rejected.append(f"line {n}: no declared attribute ({', '.join(sorted(declared)) or 'none declared'})")
        else:
            accepted.append((key, attrs))
    return accepted, rejected


def _store_of(args: argparse.Namespace) -> tuple[Any, Store]:
    from slotwise.gateway.config.loader import load_config

    config = load_config(args.config)
    settings = parse_store_settings(config.store, Path(args.config).parent)
    return config, open_store(settings)


async def _rebuild(args: argparse.Namespace) -> int:
    config, store = _store_of(args)
    try:
        sites = [args.site] if args.site else sorted(config.sites)
        for site in sites:
            n = await store.rebuild_all(site)
            print(f"{site}: rebuilt {n} profile(s) from the event log")
    finally:
        await store.close()
    return 0


async def _import(args: argparse.Namespace) -> int:
    config, store = _store_of(args)
    if args.site not in config.sites:
        print(f"unknown site '{args.site}'", file=sys.stderr)
        await store.close()
        return 2
    try:
        rows, rejected = parse_attribute_rows(Path(args.file), config.attributes)
        for start in range(0, len(rows), 1000):
            await store.put_attributes(args.site, rows[start : start + 1000])
    finally:
        await store.close()
    for line in rejected[:50]:
        print(f"rejected {line}", file=sys.stderr)
    if len(rejected) > 50:
        print(f"... and {len(rejected) - 50} more", file=sys.stderr)
    print(json.dumps({"accepted": len(rows), "rejected": len(rejected)}))
    return 0 if rows or not rejected else 1


@reports_config_errors
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="slotwise")
    commands = {
        "rebuild-profiles": "recompute every profile from the event log",
        "import-attributes": "load CRM attributes (CSV or JSON lines)",
    }
    actions = add_config_actions(parser, commands, dest="command")
    actions["rebuild-profiles"].add_argument("--site")
    actions["import-attributes"].add_argument("file")
    actions["import-attributes"].add_argument("--site", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "rebuild-profiles":
            return asyncio.run(_rebuild(args))
        return asyncio.run(_import(args))
    except FileNotFoundError as exc:
        print(f"cannot read {exc.filename}", file=sys.stderr)
        return 2
