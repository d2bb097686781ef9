# SPDX-License-Identifier: Apache-2.0
"""`slotwise experiments report --site S --key K [--config F]`: the results route as a table."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from slotwise.gateway.config.command import add_config_option
from slotwise.gateway.measure.results import ResultsError, experiment_results

if TYPE_CHECKING:
    from slotwise.gateway.config.loader import Config
    from slotwise.gateway.visitors.stores import Store

HELP = "results of a running experiment from the store's live counters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", required=True)
    parser.add_argument("--key", required=True, help="the experiment's key")
    add_config_option(parser)
    parser.add_argument("--engine", choices=["frequentist", "bayesian"], default="frequentist")
    parser.add_argument("--sequential", action="store_true", help="confidence sequences (safe to peek)")
    parser.add_argument("--json", action="store_true", help="print the route's JSON instead of a table")


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def _num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def table(result: dict[str, Any]) -> str:
    lines = [
        f"experiment {result['experiment']} (site {result['site']}, slot {result['slot']}, {result['status']})",
        "arms: "
        + ", ".join(f"{a['name']} n={a['n']:,} impressions={a['impressions']:,}" for a in result["arms"])
        + f"; holdout n={result['holdout']['n']:,}",
        f"sample ratio: p = {_num(result['srm_p_value'])}"
        + ("  ALERT: assignment is broken" if result["srm_alert"] else ""),
        "",
        f"{'metric':<11}{'arm':<14}{'mean':>12}{'lift':>10}{'interval':>22}{'p':>9}{'win':>8}",
    ]
    for name, metric in result["metrics"].items():
        for arm in metric["arms"]:
            ci = arm["ci"]
            interval = f"[{_pct(ci[0], True)}, {_pct(ci[1], True)}]" if ci else "–"
            win = _pct(arm["chance_to_win"]) if arm["chance_to_win"] is not None else "–"
            lines.append(
                f"{name:<11}{arm['name'][:13]:<14}{_num(arm['mean']):>12}{_pct(arm['relative_lift'], True):>10}"
                f"{interval:>22}{_num(arm['p_value'], 3):>9}{win:>8}"
            )
    verdict = result["verdict"]
    lines += ["", f"verdict ({result['primary_metric']}): {verdict.get('text') or verdict.get('decision')}"]
    return "\n".join(lines)


async def open_site_store(args: argparse.Namespace, prog: str) -> tuple[Config, Store] | None:
    """The configuration `args.config` and its store, for a `slotwise experiments` action that reads
    `args.site`'s counters; None, said on stderr after `prog`, when the site is not in it or it has
    no store. The caller closes the store."""
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.visitors.stores import build_store

    config = load_config(args.config)
    if args.site not in config.sites:
        print(f"{prog}: unknown site '{args.site}'", file=sys.stderr)
        return None
    store = await build_store(config)
    if store is None:
        print(f"{prog}: the configuration has no 'store'", file=sys.stderr)
        return None
    return config, store


async def _report(args: argparse.Namespace) -> int:
    opened = await open_site_store(args, "slotwise experiments report")
    if opened is None:
        return 2
    config, store = opened
    params = {"engine": args.engine, "sequential": "true" if args.sequential else "false"}
    try:
        result = await experiment_results(store, config, args.site, args.key, params)
    except ResultsError as exc:
        print(f"slotwise experiments report: {exc}", file=sys.stderr)
        for arm in exc.details.get("arms", []):
            print(f"  {arm['name']}: n={arm['n']}", file=sys.stderr)
        return 2 if exc.status != 409 else 3
    finally:
        await store.close()
    print(json.dumps(result, allow_nan=False, ensure_ascii=False) if args.json else table(result))
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_report(args))
