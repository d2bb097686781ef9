# SPDX-License-Identifier: Apache-2.0
"""Time to first byte and to last byte through `slotwise proxy` against the upstream alone.

Starts the sample origin (`slotwise.gateway.edge.sample`) and `slotwise proxy` in front of it,
each in its own process, and fetches the same pages both ways, one request at a time, in
alternation (so both see the same machine load):
  page    a 20 KiB shell with two placeholders (filled through the proxy)
  gzip    the same shell gzip-encoded (decoded, filled and encoded again)
  plain   a page without placeholders (scanned, passed through byte for byte)
  stream  the shell sent as its top at once and the rest 100 ms later (a CMS still rendering)
With varnishd on the PATH it also serves the `/esi` shell through Varnish and
deploy/varnish/slotwise.vcl (fragments from `slotwise serve`) and reads Varnish's hit counters.
Figures are medians and 95th percentiles in milliseconds; the machine is shared, so they are
noisy. `--quick` runs in well under a minute. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
CONFIG = {
    "sites": {"shop": {"publishable_key": "pk_shop", "secret_key": "sk_shop", "timezone": "Europe/Berlin"}},
    "segments": {"mobile": "device.class == 'mobile'"},
    "slots": {
        "hero": {
            "variants": [{"id": "m", "when": "mobile", "block": {"type": "banner", "title": "Swipe the new season"}}],
            "default": {"type": "html", "html": "<p>Welcome back, {{ visitor.id }}</p>"},
        },
        "recs": {"default": {"type": "banner", "title": "Picked for you"}},
    },
}
PAGES = {"page": "/", "gzip": "/gz", "plain": "/plain", "stream": "/stream?delay=100"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(ready_url, timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{args[0]} did not start: {log.read_text()}")
                time.sleep(0.1)
            yield
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def fetch(client: httpx.Client, url: str, gzip: bool = False, visitor: str | None = None) -> tuple[float, float, int]:
    """Time to first and last byte (ms) and the body size, as a browser with `visitor`'s cookie."""
    headers = {"User-Agent": UA, "Accept-Encoding": "gzip" if gzip else "identity"}
    if visitor:
        headers["Cookie"] = f"slotwise_vid={visitor}"
    started = time.perf_counter()
    first = None
    size = 0
    with client.stream("GET", url, headers=headers) as r:
        for chunk in r.iter_raw():
            if chunk and first is None:
                first = time.perf_counter()
            size += len(chunk)
    last = time.perf_counter()
    return ((first or last) - started) * 1000, (last - started) * 1000, size


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}


def varnish_run(work: Path, config: Path, n: int) -> dict[str, object]:
    """The ESI shell through Varnish against the same shell from the origin directly."""
    up_port, gw_port, v_port = free_port(), free_port(), free_port()
    upstream, varnish = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{v_port}"
    backends = "".join(
        f'backend {name} {{ .host = "127.0.0.1"; .port = "{port}"; .first_byte_timeout = 1s; }}\n'
        for name, port in (("cms", up_port), ("gateway", gw_port))
    )
    (work / "slotwise-backends.vcl").write_text(backends)
    vcl = ROOT / "deploy" / "varnish" / "slotwise.vcl"
    varnishd = ["varnishd", "-F", "-j", "none", "-n", str(work / "varnish"), "-a", f"127.0.0.1:{v_port}", "-T", "none"]
    varnishd += ["-f", str(vcl), "-p", f"vcl_path={work}:{vcl.parent}", "-p", "feature=+esi_include_onerror"]
    sample = ["slotwise.gateway.edge.sample", "--port", str(up_port), "--size-kb", "20"]
    gateway = [
        "slotwise.gateway.cli",
        "serve",
        "--config",
        str(config),
        "--port",
        str(gw_port),
        "--log-level",
        "warning",
    ]
    with (
        process(sample, upstream + "/healthz", work / "sample-esi.log"),
        process([*gateway, "--log-level", "warning"], f"http://127.0.0.1:{gw_port}/healthz", work / "gateway.log"),
        contextlib.ExitStack() as stack,
        httpx.Client(timeout=10) as client,
    ):
        log = stack.enter_context((work / "varnishd.log").open("wb"))
        proc = subprocess.Popen(varnishd, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(proc.wait, 20)
        stack.callback(proc.terminate)
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                client.get(varnish + "/healthz")
                break
            time.sleep(0.1)
        samples: dict[str, list[tuple[float, float, int]]] = {"upstream": [], "varnish": []}
        for i in range(n):
            samples["upstream"].append(fetch(client, upstream + "/esi", False))
            samples["varnish"].append(fetch(client, varnish + "/esi", visitor=f"visitor-{i}"))
        time.sleep(1.5)  # worker threads publish their counters in batches
        stats = subprocess.run(["varnishstat", "-n", str(work / "varnish"), "-1"], capture_output=True, text=True)
        counts = {
            p[0]: int(p[1]) for line in stats.stdout.splitlines() if len(p := line.split()) > 1 and p[1].isdigit()
        }
    hits, misses = counts.get("MAIN.cache_hit", 0), counts.get("MAIN.cache_miss", 0)
    row: dict[str, object] = {
        side: {"ttfb_ms": summary([v[0] for v in vals]), "ttlb_ms": summary([v[1] for v in vals])}
        for side, vals in samples.items()
    }
    row.update({"cache_hit": hits, "cache_miss": misses, "hit_ratio": round(hits / max(1, hits + misses), 3)})
    up, vn = row["upstream"], row["varnish"]
    assert isinstance(up, dict) and isinstance(vn, dict)
    print(
        f"esi     upstream ttfb {up['ttfb_ms']['p50']:7.2f} ttlb {up['ttlb_ms']['p50']:7.2f} ms | "
        f"varnish ttfb {vn['ttfb_ms']['p50']:7.2f} ttlb {vn['ttlb_ms']['p50']:7.2f} ms, "
        f"hit ratio {row['hit_ratio']} ({hits} hits, {misses} misses)",
        flush=True,
    )
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args(argv)
    n = 60 if args.quick else args.requests
    work = Path(tempfile.mkdtemp(prefix="slotwise-proxy-bench-"))
    config = work / "slotwise.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    up_port, proxy_port = free_port(), free_port()
    upstream, proxy = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{proxy_port}"
    results: dict[str, dict[str, object]] = {}
    sample = ["slotwise.gateway.edge.sample", "--port", str(up_port), "--size-kb", "20"]
    edge = ["slotwise.gateway.cli", "proxy", "--upstream", upstream, "--config", str(config)]
    with (
        process(sample, upstream + "/healthz", work / "sample.log"),
        process([*edge, "--port", str(proxy_port), "--log-level", "warning"], proxy + "/healthz", work / "proxy.log"),
        httpx.Client(timeout=10) as client,
    ):
        for name, path in PAGES.items():
            gz = name == "gzip"
            for base in (upstream, proxy):  # warm up both
                for _ in range(5):
                    fetch(client, base + path, gz)
            samples: dict[str, list[tuple[float, float, int]]] = {"upstream": [], "proxy": []}
            for _ in range(n):
                samples["upstream"].append(fetch(client, upstream + path, gz))
                samples["proxy"].append(fetch(client, proxy + path, gz))
            row: dict[str, object] = {}
            for side, values in samples.items():
                row[side] = {
                    "ttfb_ms": summary([v[0] for v in values]),
                    "ttlb_ms": summary([v[1] for v in values]),
                    "bytes": values[-1][2],
                }
            up, px = row["upstream"], row["proxy"]
            assert isinstance(up, dict) and isinstance(px, dict)
            row["added_ttlb_p50_ms"] = round(px["ttlb_ms"]["p50"] - up["ttlb_ms"]["p50"], 2)
            results[name] = row
            print(
                f"{name:7s} upstream ttfb {up['ttfb_ms']['p50']:7.2f} ttlb {up['ttlb_ms']['p50']:7.2f} ms | "
                f"proxy ttfb {px['ttfb_ms']['p50']:7.2f} ttlb {px['ttlb_ms']['p50']:7.2f} ms (p50, n={n})",
                flush=True,
            )
    esi = varnish_run(work, config, n) if shutil.which("varnishd") else None
    print(
        json.dumps(
            {"bench": "proxy", "requests_per_page": n, "baseline": "upstream alone", "pages": results, "varnish": esi}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
