# SPDX-License-Identifier: Apache-2.0
"""A real WordPress and a real gateway on loopback, for the plugin's end-to-end tests and bench.

WordPress is Debian's package (scripts/wordpress-env.sh sets it up), served by PHP's built-in
server; the gateway is `slotwise serve` on a config written here. Processes are started with
`start_*` and must be stopped with `stop()` (tests use fixtures, the bench try/finally).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENV_SCRIPT = ROOT / "scripts" / "wordpress-env.sh"
ROUTER = Path(__file__).resolve().parent / "router.php"
WP_DIR = Path("/usr/share/wordpress")
WP_LOG = Path(os.environ.get("SLOTWISE_WP_LOG", "/tmp/slotwise-wp/debug.log"))
PLUGIN_DIR = ROOT / "wordpress-plugin" / "slotwise"
SITE, PK, SK = "wp", "pk_wp_test", "sk_wp_test"
# A data: picture in the desktop hero, as gateways and catalogs commonly have (kses drops data:).
HERO_IMAGE = (
    "data:image/svg+xml,%3Csvg%20xmlns%3D%27http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%27"
    "%20width%3D%2210%22%20height%3D%2210%22%3E%3C%2Fsvg%3E"
)

MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"


def available() -> list[str]:
    """What is missing for the real-WordPress tests (empty when everything is there)."""
    missing = [t for t in ("php", "mariadb") if shutil.which(t) is None]
    if not (WP_DIR / "wp-load.php").exists():
        missing.append("Debian's wordpress package")
    return missing


def run_env(*args: str) -> str:
    proc = subprocess.run(["bash", str(ENV_SCRIPT), *args], capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"wordpress-env.sh {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def setup() -> dict[str, Any]:
    """Install/refresh the site; returns page ids {"slotwise-block": N, ..., "posts": [...]}."""
    last = run_env("setup").strip().splitlines()[-1]
    return json.loads(last)


def set_options(**options: Any) -> None:
    pairs = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in options.items()]
    run_env("set", *pairs)


def configure(gateway_port: int, mode: str, budget_ms: int = 150, consent: str = "full") -> None:
    set_options(
        gateway_url=f"http://127.0.0.1:{gateway_port}",
        site_id=SITE,
        publishable_key=PK,
        secret_key=SK,
        mode=mode,
        budget_ms=budget_ms,
        default_consent=consent,
        events=True,
    )


def app_password() -> str:
    return run_env("app-password").strip().splitlines()[-1]


def user_password(login: str, role: str) -> str:
    """An application password of a user with that role (created when missing)."""
    return run_env("user-password", login, role).strip().splitlines()[-1]


def php_eval(code: str, admin: bool = False) -> str:
    """Run PHP inside WordPress (CLI, host 127.0.0.1; `admin`: as an admin screen request) and
    return what it prints. Errors go to the debug log (WP_DEBUG_DISPLAY is off)."""
    boot = (
        '$_SERVER["HTTP_HOST"] = "127.0.0.1"; $_SERVER["REQUEST_URI"] = "/"; '
        + ('define("WP_ADMIN", true); ' if admin else "")
        + 'require "/usr/share/wordpress/wp-load.php"; '
    )
    proc = subprocess.run(
        ["php", "-d", "display_errors=stderr", "-r", boot + code], capture_output=True, text=True, timeout=60
    )
    if proc.returncode != 0:
        raise RuntimeError(f"php failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def plugin(active: bool) -> None:
    run_env("plugin", "on" if active else "off")


def sync_catalog(wp_port: int, out: Path, full: bool = False) -> subprocess.CompletedProcess[str]:
    """`slotwise sync` of the site's posts into `out` (items JSONL), as a site owner runs it."""
    cmd = [sys.executable, "-m", "slotwise.connectors.cli", "sync", "--connector", "wordpress"]
    cmd += ["--url", f"http://127.0.0.1:{wp_port}", "--out", str(out)] + (["--full"] if full else [])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=ROOT)


def gateway_config(directory: Path, wp_port: int, catalog: Path | None = None, offer: bool = False) -> Path:
    """A gateway config for site `wp`: a device-dependent hero, a welcome, recommendations (and,
    with `offer`, a fourth slot: an offer box for the four-slot page)."""
    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "sites": {
            SITE: {
                "publishable_key": PK,
                "secret_key": SK,
                "allow_simulation": False,
                "origins": [f"http://127.0.0.1:{wp_port}", f"http://localhost:{wp_port}"],
            }
        },
        "catalog": {"path": str(catalog or directory / "items.jsonl")},
        "store": {"backend": "sqlite", "path": str(directory / "store.db")},
        "segments": {"mobile": {"when": "device.class == 'mobile'", "description": "phones"}},
        "slots": {
            "home-hero": {
                "description": "Hero banner",
                "variants": [
                    {
                        "id": "mobile",
                        "when": "mobile",
                        "block": {"type": "banner", "title": "Hello phone visitor", "text": "Made for small screens."},
                    }
                ],
                "default": {
                    "type": "banner",
                    "title": "Hello desktop visitor",
                    "text": "Big screen picks.",
                    "image": HERO_IMAGE,
                },
            },
            "welcome": {
                "description": "Greeting",
                "default": {"type": "welcome", "message": "Welcome back to our blog."},
            },
            "recommendations": {
                "description": "Posts to read next",
                "default": {"type": "recommendations", "strategy": "popular", "count": 3, "title": "Read next"},
            },
        },
    }
    if offer:
        config["slots"]["offer"] = {
            "description": "Offer box",
            "variants": [
                {
                    "id": "mobile",
                    "when": "mobile",
                    "block": {"type": "offer", "title": "On the go?", "discount": "-10% in the app", "code": "APP10"},
                }
            ],
            "default": {"type": "offer", "title": "This week", "discount": "Free shipping", "code": "SHIPFREE"},
        }
    path = directory / "slotwise.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _wait(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:g}s")


def start_gateway(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "slotwise.gateway.cli",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _wait(f"http://127.0.0.1:{port}/healthz", proc, "the gateway")
    warm_gateway(port)
    return proc


def warm_gateway(port: int) -> None:
    """A fresh gateway's first renders are slow (templates, user-agent rules load lazily), longer
    than a page's 150 ms budget: warm it as a running gateway would be."""
    body = {"site": SITE, "slots": ["home-hero", "welcome", "recommendations"], "context": {}}
    for ua in (MOBILE_UA, DESKTOP_UA):
        body["context"] = {"user_agent": ua, "url": "http://127.0.0.1/"}
        httpx.post(f"http://127.0.0.1:{port}/v1/render", json=body, headers={"X-Slotwise-Key": PK}, timeout=30)


def start_wordpress(port: int, log: Path, opcache: bool = False) -> subprocess.Popen[bytes]:
    """PHP's built-in server on WordPress; `opcache` as on any production PHP (bench)."""
    env = {**os.environ, "PHP_CLI_SERVER_WORKERS": "2"}
    flags = ["-d", "opcache.enable_cli=1"] if opcache else []
    with log.open("ab") as out:
        # Its own process group: PHP's server forks workers, and stop() must end them too.
        proc = subprocess.Popen(
            ["php", *flags, "-S", f"127.0.0.1:{port}", "-t", str(WP_DIR), str(ROUTER)],
            cwd=WP_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    _wait(f"http://127.0.0.1:{port}/wp-includes/images/blank.gif", proc, "PHP's server")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process started here and everything in its process group (PHP's workers)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
            time.sleep(0.2)  # let forked workers see the signal too
        except subprocess.TimeoutExpired:
            continue
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break


def plugin_log_lines(since: int = 0) -> list[str]:
    """PHP messages in the debug log that come from the plugin's own files (after byte `since`)."""
    if not WP_LOG.exists():
        return []
    with WP_LOG.open("rb") as fh:
        fh.seek(since)
        text = fh.read().decode("utf-8", "replace")
    marker = str(PLUGIN_DIR)
    return [line for line in text.splitlines() if "PHP " in line and (marker in line or "/plugins/slotwise/" in line)]


def log_size() -> int:
    return WP_LOG.stat().st_size if WP_LOG.exists() else 0
