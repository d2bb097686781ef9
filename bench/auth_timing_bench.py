# SPDX-License-Identifier: Apache-2.0
"""Site-name enumeration by timing: an unknown site against a known site with a wrong key.

Both must answer 403 `invalid_key` after the same work (`http/render_routes.authorize`). Times
the authorization step alone, in one process, interleaved rounds, best round per case (the
machine is shared and noisy); the baseline is a known site with its right publishable key.
Prints ns per call; the last line is JSON.

    python bench/auth_timing_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from slotwise.gateway.config.loader import parse_config
from slotwise.gateway.demo.site import demo_config
from slotwise.gateway.http.errors import ApiError
from slotwise.gateway.http.render_routes import authorize
from slotwise.gateway.serving.runtime import Runtime


def attempt(runtime: Runtime, site: str, key: str) -> Callable[[], None]:
    def run() -> None:
        try:
            authorize(runtime, site, key)
        except ApiError as exc:
            assert exc.code == "invalid_key"

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a few seconds)")
    args = parser.parse_args()
    config = demo_config(8080)
    config.pop("catalog", None)
    config.pop("models", None)
    runtime = Runtime.__new__(Runtime)
    runtime.config = parse_config(config)  # authorize reads only the sites
    cases = {
        "unknown_site": attempt(runtime, "nope", "pk_demo_wrong"),
        "wrong_key": attempt(runtime, "demo", "pk_demo_wrong"),
        "right_key_baseline": attempt(runtime, "demo", "pk_demo"),
    }
    rounds, n = (20, 2000) if args.quick else (100, 5000)
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter_ns()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter_ns() - start) / n)
    for name, ns in best.items():
        print(f"{name:>20}: {ns:8.0f} ns")
    diff = best["unknown_site"] - best["wrong_key"]
    print(json.dumps({"ns": {k: round(v) for k, v in best.items()}, "unknown_minus_wrong_ns": round(diff)}))


if __name__ == "__main__":
    main()
