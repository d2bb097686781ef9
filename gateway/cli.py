# SPDX-License-Identifier: Apache-2.0
"""The `slotwise` console script."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slotwise.gateway.config.command import add_config_option, reports_config_errors

if TYPE_CHECKING:
    from slotwise.gateway.http.server import Listen

# Sub-commands that live in other packages: name -> module with `main(argv) -> int`.
DELEGATED = {
    "train": "slotwise.models.cli",
    "evaluate": "slotwise.models.cli",
    "sync": "slotwise.connectors.cli",
    "conformance": "slotwise.connectors.conformance",
    "rebuild-profiles": "slotwise.gateway.visitors.store_cli",
    "import-attributes": "slotwise.gateway.visitors.store_cli",
    "experiments": "slotwise.gateway.experiments.cli",
    "proxy": "slotwise.gateway.edge.cli",
    "consume": "slotwise.gateway.streams.cli",
    "export": "slotwise.gateway.export.cli",
    "retrain": "slotwise.gateway.retrain.cli",
    "models": "slotwise.gateway.retrain.cli",
    "users": "slotwise.gateway.studio.cli",
    "alerts": "slotwise.gateway.alerts.cli",
    "simulate": "slotwise.gateway.demo.shop_cli",
}


def _listen(args: argparse.Namespace) -> Listen:
    """`serve`'s and `demo`'s --host, --port, --log-level (and `serve`'s connection limits)."""
    from slotwise.gateway.http.server import Listen

    limits = {name: getattr(args, name) for name in ("header_timeout", "max_connections") if hasattr(args, name)}
    return Listen(args.host, args.port, args.log_level, **limits)


def _serve(app: Any, args: argparse.Namespace) -> None:
    from slotwise.gateway.http.server import serve

    serve(app, _listen(args))


@reports_config_errors
def cmd_serve(args: argparse.Namespace) -> int:
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.http.app import create_app

    config = load_config(args.config, check_files=True)
    workers = getattr(args, "workers", 1)
    granian = getattr(args, "server", "uvicorn") == "granian"
    if granian and importlib.util.find_spec("granian") is None:
        print("--server granian needs granian: pip install 'slotwise[granian]'", file=sys.stderr)
        return 2
    if workers == 1 and not granian:
        _serve(create_app(config, args.config), args)
        return 0
    if workers > 1 and config.store is not None and config.store.enabled and config.store.backend == "sqlite":
        print(
            "--workers needs a store every worker shares: SQLite is single-process; "
            "use `store: {backend: redis}` or one worker",
            file=sys.stderr,
        )
        return 2
    if granian:
        from slotwise.gateway.http.granian_server import serve_granian

        return serve_granian(args.config, workers, _listen(args))
    from slotwise.gateway.http.server import serve_workers

    return serve_workers(lambda: create_app(config, args.config), workers, _listen(args))


def cmd_check_config(args: argparse.Namespace) -> int:
    from slotwise.gateway.config.loader import ConfigError, load_config

    try:
        config = load_config(args.config, check_files=True)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        print(f"{len(exc.errors)} error(s) in {args.config}", file=sys.stderr)
        return 1
    print(f"ok: {len(config.sites)} site(s), {len(config.segments)} segment(s), {len(config.slots)} slot(s)")
    return 0


def port_is_free(host: str, port: int) -> str | None:
    """None when `host:port` can be bound, else why not (checked before minutes of set-up)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve host {host!r}: {exc.strerror}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.demo import site as demo
    from slotwise.gateway.http.app import create_app

    if (busy := port_is_free(args.host, args.port)) is not None:
        print(f"slotwise demo: {busy} (choose another with --port)", file=sys.stderr)
        return 2
    data_dir = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="slotwise-demo-"))
    try:
        config_path = demo.prepare_data(data_dir, args.port)
        for hook in demo.prepare_hooks():
            hook(data_dir, config_path)
        app = create_app(load_config(config_path), config_path, extra_routes=demo.ROUTES)
        kept = "data in" if args.data else "temporary data, removed on exit:"
        print(f"Slotwise demo: http://{args.host}:{args.port}/demo  ({kept} {data_dir})", flush=True)
        from slotwise.gateway.studio.cli import demo_login

        print(demo_login(config_path, args.port, args.host), flush=True)
        _serve(app, args)
    finally:
        if not args.data:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, not {port}")
    return port


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def worker_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of workers from 1 to 64, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotwise", description="Slotwise personalization gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the demo shop on embedded defaults")
    demo.add_argument("--port", type=port_number, default=8080)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--data", help="keep the demo store in this directory (reused on the next start)")
    demo.add_argument("--log-level", default="info", choices=LOG_LEVELS, type=str.lower)
    demo.set_defaults(func=cmd_demo)
    serve = sub.add_parser("serve", help="run the gateway")
    add_config_option(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=8080)
    serve.add_argument("--log-level", default="info", choices=LOG_LEVELS, type=str.lower)
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        help="seconds a client may take to send a request (headers and body)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=2048,
        help="open connections beyond this are refused (granian: requests in progress per worker)",
    )
    serve.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="uvicorn (default) or granian: a shorter latency tail, for use behind nginx only (docs/deployment.md)",
    )
    serve.add_argument(
        "--workers",
        type=worker_count,
        default=1,
        help="processes serving one port (1-64); more than one needs the Redis store",
    )
    serve.set_defaults(func=cmd_serve)
    check = sub.add_parser("check-config", help="validate a configuration file")
    add_config_option(check)
    check.add_argument("path", nargs="?", help="the file (instead of --config)")
    check.set_defaults(func=cmd_check_config)
    for name in DELEGATED:
        sub.add_parser(name, help=f"see `slotwise {name} --help`", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if argv and argv[0] in DELEGATED:
        module = importlib.import_module(DELEGATED[argv[0]])
        return int(module.main(argv))
    args = build_parser().parse_args(argv)
    if getattr(args, "path", None):
        args.config = args.path
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
