# SPDX-License-Identifier: Apache-2.0
"""`slotwise alerts test --config F`: one test alert to every channel of the `alerts` section;
`slotwise alerts rules --config F`: the rules as the gateway reads them."""

from __future__ import annotations

import argparse
import asyncio
import sys

from slotwise.gateway.alerts.alerter import alerter_for
from slotwise.gateway.config.command import add_config_actions, reports_config_errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotwise alerts", description="alert channels and rules")
    add_config_actions(parser, {"test": "send a test alert to every channel", "rules": "list the alert rules"})
    return parser


@reports_config_errors
def main(argv: list[str]) -> int:
    from slotwise.gateway.config.loader import load_config

    args = build_parser().parse_args(argv[1:])
    config = load_config(args.config)
    settings = config.alerts
    if settings is None or (args.action == "test" and settings.channels == 0):
        print(f"slotwise alerts: {args.config} has no alert channels (webhooks, email)", file=sys.stderr)
        return 2
    if args.action == "rules":
        for rule in settings.rules:
            shown = {k: v for k, v in rule.model_dump().items() if k in rule.model_fields_set and k != "name"}
            print(f"{rule.name}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        print(f"{len(settings.rules)} rule(s), judged every {settings.every_seconds:g} s")
        return 0
    results = asyncio.run(alerter_for(config).test())
    for channel, error in results.items():
        print(f"{channel}: {'sent' if error is None else 'FAILED: ' + error}")
    return 0 if all(error is None for error in results.values()) else 1
