# SPDX-License-Identifier: Apache-2.0
"""`slotwise simulate`: the demo shop with simulated shoppers, personalization against a holdout.

Prepares a shop (the demo's catalog and config, a simulated history of the same shoppers, a
recommender trained on it), starts `slotwise serve` on a free port (or drives `--gateway URL`),
sends every shopper's visit over HTTP, then prints the results API's lift table and writes
`report.txt`, `results.json`, `reward-regret.svg` and the `slotwise.yaml` it served into `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from slotwise.gateway.demo import shop_plot, shop_report
from slotwise.gateway.demo.catalog import build_catalog, write_items
from slotwise.gateway.demo.shop_visits import GatewayError, Plan, Target, Visit, fetch_bandit, fetch_results, run_visits
from slotwise.gateway.demo.shoppers import population
from slotwise.gateway.demo.simulate import EASY, Simulation, add_behaviour, simulate, write_events
from slotwise.gateway.demo.site import PUBLISHABLE, SECRET, SITE, demo_config

EXPERIMENT = "personalization"
BANDIT = "hero-season"  # the demo hero's bandit, for shoppers no rule speaks to
SLOTS = ("home-hero", "recommendations")
QUICK_VISITORS, DEFAULT_VISITORS, MAX_VISITORS = 400, 4000, 100_000


def holdout_variant(holdout: float) -> dict[str, Any]:
    """The first variant of each personalized slot: the holdout sees the default block, the arm
    `personalized` (no block of its own) gets whatever the slot's rules and models choose. One
    key in every slot puts a visitor in the same arm on the whole page (the hash is of key and id)."""
    return {
        "id": "holdout-test",
        "experiment": {"key": EXPERIMENT, "holdout": holdout, "arms": [{"name": "personalized"}]},
    }


def shop_config(port: int, holdout: float, bandit: bool = True) -> dict[str, Any]:
    config = add_behaviour(demo_config(port))
    for slot in SLOTS:
        variants = config["slots"][slot]["variants"]
        if not bandit:
            variants[:] = [v for v in variants if "bandit" not in v]
        variants.insert(0, holdout_variant(holdout))
    config["models"]["watch_seconds"] = 0
    return config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def history_of(visitors: int, seed: int) -> Simulation:
    """The shoppers' past: the demo simulator's personas, relative to now. The seed is part of
    the visitor ids, so each seed also draws its own assignment to the arms."""
    return simulate(build_catalog(), visitors, time.time(), seed, EASY, prefix=f"sim{seed}-")


def prepare_shop(data_dir: Path, port: int, history: Simulation, holdout: float, bandit: bool = True) -> Path:
    """Catalog, config, the history in the store and the trained recommender, in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    write_items(build_catalog(), data_dir / "items.jsonl")
    config_path = data_dir / "slotwise.yaml"
    config_path.write_text(yaml.safe_dump(shop_config(port, holdout, bandit), sort_keys=False), encoding="utf-8")

    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.visitors.stores import open_store, parse_store_settings

    config = load_config(config_path)

    async def ingest() -> None:
        store = open_store(parse_store_settings(config.store, data_dir))
        try:
            await write_events(store, history.events, data_dir / "events.jsonl")
        finally:
            await store.close()

    asyncio.run(ingest())
    try:
        from slotwise.models.demo import train_demo  # the `train` extra
    except ImportError:
        print("slotwise simulate: scikit-learn is not installed, recommendations fall back to popular", file=sys.stderr)
    else:
        # Only the recommender: no slot of the shop reads the segment or propensity models.
        train_demo(data_dir, data_dir / "events.jsonl", data_dir / "items.jsonl", log=False, kinds=("recommender",))
    return config_path


def start_gateway(config_path: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "slotwise.gateway.cli", "serve", "--config", str(config_path)]
    command += ["--port", str(port), "--log-level", "warning"]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONHASHSEED": "0"}
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise GatewayError(f"the gateway did not become ready: {log_path.read_text(errors='replace')[-1500:]}")


def bounded(kind: type, low: float, high: float | None, what: str) -> Any:
    """An argparse type: a number of `kind` within low..high, else the message `what` completes."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole number' if kind is int else 'number'}: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what}, not {value}")
        return value

    return parse


positive_int = bounded(int, 4, MAX_VISITORS, f"4..{MAX_VISITORS}")
seed_number = bounded(int, 0, None, "0 or more")
share = bounded(float, 0.05, 0.95, "between 0.05 and 0.95")


def planted_lift(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not -0.9 <= value <= 2.0:
        raise argparse.ArgumentTypeError(f"must be between -0.9 and 2 (a relative lift), not {value}")
    return value


def gateway_url(text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        raise argparse.ArgumentTypeError(f"not a URL: {text!r}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"must be an http(s) URL such as http://127.0.0.1:8080, not {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slotwise simulate",
        description="A simulated shop through a real gateway: personalization against a holdout, and a bandit. "
        "Its lift comes from the simulated ground truth (docs/simulate.md), not from real shoppers.",
    )
    parser.add_argument(
        "--visitors", type=positive_int, help=f"shoppers (default {DEFAULT_VISITORS}, --quick {QUICK_VISITORS})"
    )
    parser.add_argument(
        "--seed", type=seed_number, default=0, help="the same shoppers and rates (with --no-bandit, the same numbers)"
    )
    parser.add_argument("--out", default="simulation", help="directory for report.txt, results.json, the plot")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_VISITORS} visitors unless --visitors says otherwise"
    )
    parser.add_argument("--holdout", type=share, default=0.5, help="share of shoppers who see the default blocks")
    parser.add_argument(
        "--planted-lift", type=planted_lift, help="replace the hidden rates: treated visits convert (1+X)x"
    )
    parser.add_argument(
        "--gateway",
        type=gateway_url,
        help="drive this running gateway (serving OUT/slotwise.yaml) instead of one of its own",
    )
    parser.add_argument(
        "--no-bandit", action="store_true", help="without the hero's bandit: every number is then fixed by the seed"
    )
    parser.add_argument("--concurrency", type=int, default=4, choices=range(1, 33), metavar="1..32")
    return parser


@dataclass
class Run:
    """One simulation's outcome: the visits, the results API's answer, the config it served."""

    visits: list[Visit]
    results: dict[str, Any]
    config: dict[str, Any]
    bandit: dict[str, Any] | None = None  # the bandit admin route's answer at the end


def simulate_shop(data_dir: Path, args: argparse.Namespace) -> Run:
    """Prepare the shop in `data_dir` (kept: its store can be exported), serve it (or use
    `--gateway`), send every visit, read the results; the gateway is stopped before returning."""
    visitors = args.visitors or (QUICK_VISITORS if args.quick else DEFAULT_VISITORS)
    history = history_of(visitors, args.seed)
    proc = None
    try:
        if args.gateway:
            url = args.gateway.rstrip("/")
            config = shop_config(int(httpx.URL(url).port or 80), args.holdout, not args.no_bandit)
        else:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            config_path = prepare_shop(data_dir, port, history, args.holdout, not args.no_bandit)
            config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            proc = start_gateway(config_path, port, data_dir / "gateway.log")
        target = Target(url, SITE, PUBLISHABLE, SECRET)
        plan = Plan(target, SLOTS, EXPERIMENT, args.seed, args.planted_lift, args.concurrency)
        prices = {it["item_id"]: float(it["price"]) for it in build_catalog()}
        visits, _default = asyncio.run(run_visits(plan, population(history, args.seed), prices))
        results = asyncio.run(fetch_results(target, EXPERIMENT))
        saw_bandit = any(v.bandit is not None for v in visits)  # a --gateway may serve none
        learned = asyncio.run(fetch_bandit(target, BANDIT)) if saw_bandit else None
    finally:
        if proc is not None:
            proc.terminate()  # its lifespan writes the served impressions still in memory
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return Run(visits, results, config, learned)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the report
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"slotwise simulate: cannot create --out {out}: {exc.strerror}", file=sys.stderr)
        return 2
    data_dir = Path(tempfile.mkdtemp(prefix="slotwise-simulate-"))
    try:
        done = simulate_shop(data_dir, args)
    except GatewayError as exc:
        print(f"slotwise simulate: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    # The config it served and its catalog: `slotwise serve --config OUT/slotwise.yaml` runs the shop.
    (out / "slotwise.yaml").write_text(yaml.safe_dump(done.config, sort_keys=False), encoding="utf-8")
    write_items(build_catalog(), out / "items.jsonl")
    seconds = time.monotonic() - started
    report = shop_report.build_report(done.results, done.visits, args.planted_lift, seconds, done.bandit)
    text = shop_report.format_report(report)
    print(text, end="")
    (out / "report.txt").write_text(text, encoding="utf-8")
    payload = {"report": report, "results_api": done.results, "bandit_api": done.bandit}
    (out / "results.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    names = [a["arm"] for a in report["arms"]]
    panels = shop_report.panels(done.visits, names, report["bandit"])
    svg = shop_plot.svg_plot(panels, len(done.visits), f"slotwise simulate, seed {args.seed}")
    (out / "reward-regret.svg").write_text(svg, encoding="utf-8")
    print(f"wrote {out / 'report.txt'}, {out / 'results.json'}, {out / 'reward-regret.svg'}")
    return 0


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv[1:] if argv and argv[0] == "simulate" else argv)
    return run(args)
