# SPDX-License-Identifier: Apache-2.0
"""`slotwise retrain [--site S] [--force] [--rollback]` and `slotwise models list|promote|rollback`.

Both read `--config` for `models.dir`, `store` and `retrain`. A rollback or promotion is a file
operation (`LIVE`); gateways pick it up through their directory watch, and replicas on a Redis
store are told at once. Exit status: 0 done (promoted, refused, skipped), 1 the candidate
failed (the live bundle keeps serving), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from typing import Any

from slotwise.gateway.config.command import add_config_option, reports_config_errors


def _parser(command: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"slotwise {command}")
    p.add_argument("command", choices=[command])
    add_config_option(p)
    if command == "retrain":
        p.add_argument("--site", help="the site whose events train (default: retrain.site or the only site)")
        p.add_argument("--force", action="store_true", help="train even with fewer than retrain.min_new_events")
        p.add_argument("--rollback", action="store_true", help="serve the previous version again, train nothing")
    else:
        p.add_argument("action", choices=["list", "promote", "rollback"])
        p.add_argument("version", nargs="?", help="the version to promote")
    p.add_argument("--bundle", help="bundle name under models.dir (default: retrain.bundle)")
    return p


@reports_config_errors
def main(argv: list[str]) -> int:
    command = argv[0] if argv else "retrain"
    args = _parser(command).parse_args(argv)
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.recommend import bundle_versions as bv
    from slotwise.gateway.retrain.run import RetrainError, models_root, publish_models_change, retrain

    try:
        config = load_config(args.config)
        root = models_root(config)
        if args.bundle:  # another bundle than the configured one, checked as the config's would be
            if not re.fullmatch(r"[A-Za-z0-9_-]+", args.bundle):
                raise RetrainError(f"--bundle {args.bundle[:100]!r}: a bundle name is letters, digits, _ and -")
            config = replace(config, retrain=config.retrain.model_copy(update={"bundle": args.bundle}))
        name = config.retrain.bundle
        if command == "retrain" and not args.rollback:
            outcome: Any = retrain(config, args.site, args.force)
            print(json.dumps(outcome, sort_keys=True))
            return 1 if outcome["status"] == "failed" else 0
        action = "rollback" if command == "retrain" else args.action
        if action == "list":
            rows = [v.describe() for v in bv.list_versions(root, name)]
            print(json.dumps({"bundle": name, "versions": rows, "history": bv.history(root, name)}, indent=2))
            return 0
        if action == "promote":
            if not args.version:
                raise RetrainError("slotwise models promote VERSION: which version?")
            outcome = bv.promote(root, name, args.version, "promoted by hand")
        else:
            outcome = bv.rollback(root, name, "rolled back by hand")
    except (RetrainError, bv.VersionError, OSError) as exc:
        print(f"slotwise {command}: {exc}", file=sys.stderr)
        return 2
    publish_models_change(config)
    print(json.dumps({"bundle": name, **outcome}, sort_keys=True))
    return 0
