# SPDX-License-Identifier: Apache-2.0
"""`slotwise consume --config slotwise.yaml --site S --source URL`: stream events into the store.

Runs until SIGINT/SIGTERM (or `--idle-exit` seconds without messages) and prints its counts
as one JSON line on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from slotwise.gateway.config.command import reports_config_errors, site_command_parser
from slotwise.gateway.streams.consumer import Consumer, Stats
from slotwise.gateway.streams.source import open_source


async def _consume(args: argparse.Namespace) -> Stats | int:
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.ops.metrics import Metrics
    from slotwise.gateway.serving.runtime import build_runtime
    from slotwise.gateway.visitors.stores import build_store

    config = load_config(args.config)
    site = config.sites.get(args.site)
    if site is None:
        print(f"unknown site {args.site!r}; one of {', '.join(sorted(config.sites))}", file=sys.stderr)
        return 2
    store = await build_store(config)
    if store is None:
        print(f"{args.config}: no 'store' configured, nowhere to put events", file=sys.stderr)
        return 2
    try:
        source = open_source(args.source, site.name)
    except ValueError as exc:
        await store.close()
        print(exc, file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await source.open()
        consumer = Consumer(source, store, build_runtime(config, Metrics()), site, batch=args.batch)
        print(f"consuming {source.name} into site {site.name!r}", file=sys.stderr, flush=True)
        return await consumer.run(stop, idle_exit=args.idle_exit, max_messages=args.max_messages)
    finally:
        await source.close()
        await store.close()


@reports_config_errors
def main(argv: list[str]) -> int:
    parser = site_command_parser("consume", "feed events from a stream into the store")
    parser.add_argument("--source", required=True, help="redis://HOST:PORT/STREAM or nats://HOST:PORT/SUBJECT")
    parser.add_argument("--batch", type=int, default=100, help="messages in flight at most (one batch)")
    parser.add_argument("--idle-exit", type=float, help="stop after this many seconds without messages")
    parser.add_argument("--max-messages", type=int, help="stop after about this many messages")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    result = asyncio.run(_consume(args))
    if isinstance(result, int):
        return result
    print(json.dumps(result.describe()), flush=True)
    return 0
