# SPDX-License-Identifier: Apache-2.0
"""`slotwise proxy --upstream URL [--port P] --config slotwise.yaml [--site NAME]`."""

from __future__ import annotations

import argparse
import logging
import sys

from slotwise.gateway.config.command import add_config_option, reports_config_errors
from slotwise.gateway.config.loader import load_config


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotwise proxy", description="fill Slotwise placeholders at the edge")
    parser.add_argument("--upstream", required=True, help="the CMS origin, e.g. http://127.0.0.1:8081")
    add_config_option(parser)
    parser.add_argument("--site", help="the site of the config these pages belong to (default: the only one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--budget-ms", type=float, default=150.0, help="time for the page's render call")
    parser.add_argument("--hold-kb", type=int, default=256, help="bytes looked at for a first placeholder")
    parser.add_argument("--hold-ms", type=float, default=30.0, help="wait for a first placeholder after the first byte")
    parser.add_argument("--log-level", default="info")
    return parser


@reports_config_errors
def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv[1:] if argv and argv[0] == "proxy" else argv)
    from slotwise.gateway.edge.proxy import EdgeProxy
    from slotwise.gateway.http.app import create_app
    from slotwise.gateway.http.server import Listen, serve

    config = load_config(args.config)
    site = args.site or (next(iter(config.sites)) if len(config.sites) == 1 else None)
    if site not in config.sites:
        print(f"--site: choose one of {', '.join(sorted(config.sites))}", file=sys.stderr)
        return 2
    proxy = EdgeProxy(
        args.upstream,
        create_app(config, args.config),
        site,
        budget_ms=args.budget_ms,
        hold_bytes=args.hold_kb * 1024,
        hold_ms=args.hold_ms,
    )
    # httpx logs every upstream URL at INFO (query strings may carry ids): keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Served as `slotwise serve` is (no access log, no proxy-header rewriting, no Server header,
    # the same header timeout and connection cap); and no Date of uvicorn's own: the upstream's passes.
    serve(proxy, Listen(args.host, args.port, args.log_level), date_header=False)
    return 0
