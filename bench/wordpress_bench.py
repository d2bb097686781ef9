# SPDX-License-Identifier: Apache-2.0
"""Page generation time of one WordPress page: no plugin, plugin in server mode, in client mode.

The page is the test site's "Four slots page" (four slot blocks: a device-dependent banner, a
welcome, recommendations over the synced posts and a device-dependent offer) on Debian's
WordPress served by PHP's built-in server (with OPcache, as on any production PHP), with a real
gateway on loopback. "No plugin" is the same page with the plugin not loaded: each block's
fallback is also saved as its inner HTML, which WordPress prints when the block's plugin is off,
so the baseline page carries the same content as the client-mode page. Each sample is a full
page fetch (time to the last byte) by one client.

The modes are interleaved request by request, so drift and noise on a shared machine hit all
of them alike: a must-use plugin, installed for the run only, reads the `X-Slotwise-Bench`
header and, before plugins load, drops Slotwise from the active plugins (plain) or sets its
mode and events. The same plugin times each page from the start of the request to its last
byte of output (`X-Bench-Generation-Ms`), which the ratios use; the client-observed times
(connection and scheduling included) are printed beside them. The last line is JSON.

Targets (issue 15): server mode at most 1.10x the plain page, client mode at most 1.02x.

    python bench/wordpress_bench.py [--quick] [--requests 300] [--no-opcache]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `tests` is not installed
from tests.conftest import free_port
from tests.wordpress import wpenv

WP_PORT, GW_PORT = free_port(), free_port()
UAS = [wpenv.MOBILE_UA, wpenv.DESKTOP_UA]
MODES = ("plain", "server", "client", "server_no_events")
MU_PLUGIN = Path("/var/lib/wordpress/wp-content/mu-plugins/slotwise-bench-switch.php")
MU_CODE = r"""<?php
// Installed by bench/wordpress_bench.py for one run and removed after it.
$slotwise_bench = isset( $_SERVER['HTTP_X_SLOTWISE_BENCH'] ) ? $_SERVER['HTTP_X_SLOTWISE_BENCH'] : '';
// Generation time as PHP sees it, from the start of the request to the end of the page
// (outermost output buffer, so every plugin buffer and its render call is inside it).
ob_start( function ( $html, $phase ) {
	if ( ( $phase & PHP_OUTPUT_HANDLER_FINAL ) && ! headers_sent() ) {
		$ms = ( microtime( true ) - $_SERVER['REQUEST_TIME_FLOAT'] ) * 1000;
		header( sprintf( 'X-Bench-Generation-Ms: %.3f', $ms ) );
	}
	return $html;
} );
if ( 'plain' === $slotwise_bench ) {
	add_filter( 'option_active_plugins', function ( $plugins ) {
		return array_values( array_diff( (array) $plugins, array( 'slotwise/slotwise.php' ) ) );
	} );
} elseif ( '' !== $slotwise_bench ) {
	add_filter( 'option_slotwise_settings', function ( $o ) use ( $slotwise_bench ) {
		$o['mode']   = 0 === strpos( $slotwise_bench, 'client' ) ? 'client' : 'server';
		$o['events'] = false === strpos( $slotwise_bench, 'no_events' );
		return $o;
	} );
}
"""


def measure(client: httpx.Client, url: str, rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per round one request per mode, in a rotating order. Returns milliseconds per mode as
    the client saw them (to the last byte) and as PHP measured its generation."""
    wall: dict[str, list[float]] = {m: [] for m in MODES}
    gen: dict[str, list[float]] = {m: [] for m in MODES}
    for i in range(rounds):
        shift = i % len(MODES)
        for mode in MODES[shift:] + MODES[:shift]:
            t = time.perf_counter()
            r = client.get(url, headers={"User-Agent": UAS[i % 2], "X-Slotwise-Bench": mode})
            r.read()
            wall[mode].append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"GET {url} ({mode}): HTTP {r.status_code}")
            gen[mode].append(float(r.headers["X-Bench-Generation-Ms"]))
    return wall, gen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="80 requests per mode (under a minute)")
    parser.add_argument("--requests", type=int, default=300, help="requests per mode")
    parser.add_argument(
        "--no-opcache",
        action="store_true",
        help="compile PHP on every request (PHP CLI's default; production PHP caches it)",
    )
    args = parser.parse_args()
    if args.quick:
        args.requests = 80
    missing = wpenv.available()
    if missing:
        raise SystemExit(f"wordpress_bench: missing {', '.join(missing)} (scripts/setup-system.sh)")

    tmp = Path(tempfile.mkdtemp(prefix="slotwise-wp-bench-"))
    ids = wpenv.setup()
    url = f"http://127.0.0.1:{WP_PORT}/?page_id={ids['slotwise-four']}"
    wp = wpenv.start_wordpress(WP_PORT, tmp / "php.log", opcache=not args.no_opcache)
    gw = None
    try:
        wpenv.sync_catalog(WP_PORT, tmp / "items.jsonl").check_returncode()
        gw = wpenv.start_gateway(wpenv.gateway_config(tmp, WP_PORT, offer=True), GW_PORT, tmp / "gateway.log")
        wpenv.configure(GW_PORT, "server")
        MU_PLUGIN.parent.mkdir(exist_ok=True)
        MU_PLUGIN.write_text(MU_CODE, encoding="utf-8")
        with httpx.Client(timeout=30) as client:
            measure(client, url, 5)  # warm every cache first
            samples, generation = measure(client, url, args.requests)
            pages = {m: client.get(url, headers={"X-Slotwise-Bench": m}).text for m in ("plain", "server", "client")}
    finally:
        MU_PLUGIN.unlink(missing_ok=True)
        if gw is not None:
            wpenv.stop(gw)
        wpenv.stop(wp)

    ready = {m: pages[m].count('data-slotwise-state="ready"') for m in ("plain", "server")}
    # The baseline must carry the client page's content: the four fallbacks, printed by WordPress.
    fallbacks = {m: pages[m].count("<p>Fallback") for m in ("plain", "client")}

    med = {m: statistics.median(v) for m, v in samples.items()}
    gen = {m: statistics.median(v) for m, v in generation.items()}
    for mode in MODES:
        print(
            f"{mode:>16}: generation median {gen[mode]:6.2f} ms (ratio {gen[mode] / gen['plain']:.3f}), "
            f"client-observed median {med[mode]:6.2f} ms (ratio {med[mode] / med['plain']:.3f})"
        )
    result = {
        "bench": "wordpress_page",
        "requests_per_mode": args.requests,
        "opcache": not args.no_opcache,
        "baseline_plain_generation_ms": round(gen["plain"], 2),
        "server_generation_ms": round(gen["server"], 2),
        "client_generation_ms": round(gen["client"], 2),
        "server_no_events_generation_ms": round(gen["server_no_events"], 2),
        "server_ratio": round(gen["server"] / gen["plain"], 3),
        "client_ratio": round(gen["client"] / gen["plain"], 3),
        "server_no_events_ratio": round(gen["server_no_events"] / gen["plain"], 3),
        "observed_ratios": {m: round(med[m] / med["plain"], 3) for m in MODES if m != "plain"},
        "baseline_plain_observed_ms": round(med["plain"], 2),
        "slots_ready": ready,
        "fallbacks_shown": fallbacks,
        "targets": {"server_ratio": 1.10, "client_ratio": 1.02},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
