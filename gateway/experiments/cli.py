# SPDX-License-Identifier: Apache-2.0
"""`slotwise experiments ACTION ...`: dispatch to one module per action.

Each module named in `ACTIONS` has `HELP: str`, `add_arguments(parser)` and `run(args) -> int`;
adding an action (report, ope) is one line here.
"""

from __future__ import annotations

import argparse
import importlib

from slotwise.gateway.config.command import reports_config_errors

ACTIONS = {
    "analyze": "slotwise.gateway.measure.analysis",
    "report": "slotwise.gateway.experiments.report",
    "ope": "slotwise.gateway.experiments.ope",
}


@reports_config_errors
def main(argv: list[str]) -> int:
    """Run `slotwise experiments ...`; `argv` may start with "experiments"."""
    parser = argparse.ArgumentParser(prog="slotwise experiments", description="Experiment statistics and reports")
    sub = parser.add_subparsers(dest="action", required=True)
    for name, module_name in ACTIONS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    args = parser.parse_args(argv[1:] if argv and argv[0] == "experiments" else argv)
    return int(args.run(args))
