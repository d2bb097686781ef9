# SPDX-License-Identifier: Apache-2.0
"""Serving the app under granian: `slotwise serve --server granian` (`pip install slotwise[granian]`).

Granian (Rust, hyper) serves renders at about uvicorn's rate with a shorter tail: a p99 of 8 ms
against 9.8-11 ms at 32 connections on a quiet machine (docs/performance.md). It is not the
default because it has no cap on open connections, only on requests in progress
(`--max-connections` becomes its backpressure), and no deadline for a request's body. Run it
behind nginx (docs/deployment.md), which caps connections per client and buffers slow ones.
It is run in HTTP/1 mode: in its auto mode (HTTP/2 sniffing) the header deadline starts at the
first byte, so a connection that never sends one was kept for good.

Each worker is a process that builds its own app from the configuration file named by
`SLOTWISE_CONFIG` (`app_from_environment`), so the same code serves 1 or N workers. SIGHUP is
passed on to the workers, each of which reloads its configuration in place, as under uvicorn:
granian's own answer, starting new workers before it stops the old ones, would have two
processes on a single-process SQLite store for seconds.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from slotwise.gateway.http.server import Listen, tune_gc

CONFIG_ENV = "SLOTWISE_CONFIG"


def app_from_environment() -> Any:
    """The factory granian calls in each worker process."""
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.http.app import create_app

    path = os.environ[CONFIG_ENV]
    tune_gc()
    return create_app(load_config(path, check_files=True), path)


def serve_granian(config_path: str, workers: int, listen: Listen) -> int:
    """Serve the configuration at `config_path` with `workers` granian processes; the exit status."""
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    class Gateway(Server):  # type: ignore[misc, valid-type]
        def signal_handler_reload(self, *args: Any, **kwargs: Any) -> None:
            for worker in self.wrks:
                if worker.inner.pid is not None:
                    os.kill(worker.inner.pid, signal.SIGHUP)

    os.environ[CONFIG_ENV] = os.path.abspath(config_path)  # the workers inherit it
    level = "critical" if listen.log_level == "critical" else listen.log_level.replace("trace", "debug")
    server = Gateway(
        f"{__name__}:app_from_environment",
        address=listen.host,
        port=listen.port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.auto,  # uvloop where installed
        http=HTTPModes.http1,
        websockets=False,
        backpressure=listen.max_connections,
        http1_settings=HTTP1Settings(header_read_timeout=max(1, round(listen.header_timeout * 1000))),
        log_level=LogLevels(level),
        log_access=False,  # the gateway never logs raw IP addresses
        factory=True,
    )
    try:
        server.serve()
    except SystemExit as exc:  # granian exits 1 when a worker fails (its lifespan, the bind)
        return exc.code if isinstance(exc.code, int) else 1
    return 0
