# SPDX-License-Identifier: Apache-2.0
"""How a `slotwise` command takes its configuration: `--config FILE` (`add_config_option`; with
`--site` in `site_command_parser`, in each action in `add_config_actions`), and a broken file
reported the same by each: the errors on stderr, exit status 2.

Every command that reads `--config` wears `@reports_config_errors` on its entry point, so a bad
file reads the same from each, wherever in the command it is loaded (before or inside
`asyncio.run`). This module imports nothing heavy: `slotwise --help` and the commands that never
read a configuration do not pay for pydantic.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """The `--config FILE` of every command that reads the configuration (default slotwise.yaml)."""
    parser.add_argument("--config", default="slotwise.yaml")


def site_command_parser(name: str, description: str) -> argparse.ArgumentParser:
    """The parser of `slotwise NAME --config F --site S ...`, a command over one site of the
    configuration. It reads NAME as well, since the command's `main(argv)` is given it."""
    parser = argparse.ArgumentParser(prog=f"slotwise {name}", description=description)
    parser.add_argument("command", choices=[name])
    add_config_option(parser)
    parser.add_argument("--site", required=True)
    return parser


def add_config_actions(
    parser: argparse.ArgumentParser, actions: dict[str, str], dest: str = "action"
) -> dict[str, argparse.ArgumentParser]:
    """The sub-commands of `parser` (name -> help), each taking `--config`; their parsers by name."""
    sub = parser.add_subparsers(dest=dest, required=True)
    parsers = {name: sub.add_parser(name, help=text) for name, text in actions.items()}
    for action in parsers.values():
        add_config_option(action)
    return parsers


def reports_config_errors(command: Callable[P, int]) -> Callable[P, int]:
    """`command` as it is, except that a `ConfigError` it raises is printed and it returns 2."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        from slotwise.gateway.config.errors import ConfigError  # lazily: pydantic comes with it

        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2

    return run
