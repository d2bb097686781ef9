# SPDX-License-Identifier: Apache-2.0
"""A real nginx (Debian's) in front of gateways, with the shipped deploy/nginx/slotwise.conf."""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, free_port, need_tool

SHIPPED = ROOT / "deploy" / "nginx" / "slotwise.conf"


@contextlib.contextmanager
def render_load(base: str, headers: dict[str, str], body: dict[str, Any], clients: int = 4) -> Iterator[list[int]]:
    """`clients` threads posting `body` to `base`/v1/render back to back while the block runs (a
    gateway is killed in it); the statuses as they come, all of them once the block is left."""
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            while not stop.is_set():
                statuses.append(client.post("/v1/render", json=body).status_code)

    threads = [threading.Thread(target=load) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield statuses
    finally:
        stop.set()
        for t in threads:
            t.join()


def site_config(upstreams: list[int], port: int) -> str:
    """The shipped server block with this test's ports: its upstream list and listen port."""
    text = SHIPPED.read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in upstreams)
    text = re.sub(r"upstream slotwise \{\n(?:    #? ?server .*\n)+", "upstream slotwise {\n" + servers, text)
    return text.replace("listen 80;", f"listen 127.0.0.1:{port};")


@contextlib.contextmanager
def running_nginx(tmp: Path, upstreams: list[int]) -> Iterator[str]:
    nginx = need_tool("nginx")
    port = free_port()
    prefix = tmp / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "slotwise.conf").write_text(site_config(upstreams, port))
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'logs/error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n    access_log off;\n{temp_paths}    include {prefix / 'slotwise.conf'};\n}}\n"
    )
    stderr = (prefix / "logs" / "stderr.log").open("wb")
    proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(prefix / 'logs' / 'stderr.log').read_text()}")
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        stderr.close()
