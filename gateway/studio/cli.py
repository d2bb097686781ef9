# SPDX-License-Identifier: Apache-2.0
"""`slotwise users add NAME --role admin|editor|viewer` and `slotwise users list`.

The accounts live in the studio store of the configuration named by `--config` (the same
place the running gateway reads them from).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from slotwise.gateway.config.command import add_config_actions, reports_config_errors
from slotwise.gateway.studio.store import ROLES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotwise users", description="studio user accounts")
    actions = add_config_actions(
        parser, {"add": "create a user or set its role and password", "list": "list the users and their roles"}
    )
    actions["add"].add_argument("name")
    actions["add"].add_argument("--role", required=True, choices=ROLES)
    actions["add"].add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    return parser


@reports_config_errors
def main(argv: list[str]) -> int:
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.studio.auth import add_user
    from slotwise.gateway.studio.store import open_studio_store

    args = build_parser().parse_args(argv[1:])
    config = load_config(args.config)
    store = open_studio_store(config, Path(args.config))
    try:
        if args.action == "list":
            for user in store.users():
                print(f"{user.name}\t{user.role}")
            return 0
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass(f"password for {args.name}: ")
            if getpass.getpass("again: ") != password:
                print("slotwise users: the passwords differ", file=sys.stderr)
                return 2
        try:
            add_user(store, args.name, args.role, password)
        except ValueError as exc:
            print(f"slotwise users: {exc}", file=sys.stderr)
            return 2
        store.audit("(cli)", "user", f"set {args.name} as {args.role}")
        print(f"user {args.name} ({args.role}) saved; log in at /studio")
        return 0
    finally:
        store.close()


def demo_login(config_path: Path, port: int, host: str = "127.0.0.1") -> str:
    """For `slotwise demo` only: a fresh random password for the demo's `admin`, and how to log in."""
    import secrets

    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.studio.auth import add_user
    from slotwise.gateway.studio.store import open_studio_store

    store = open_studio_store(load_config(config_path), config_path)
    try:
        password = secrets.token_urlsafe(12)
        add_user(store, "admin", "admin", password)
    finally:
        store.close()
    return f"Studio: http://{host}:{port}/studio  (user admin, password {password}; new on every start)"
