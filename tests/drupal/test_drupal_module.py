# SPDX-License-Identifier: Apache-2.0
"""The Drupal module: `php -l` on every PHP file, its PHPUnit suite, its YAML, and its server
path against a real gateway. PHP runs through Debian's php-cli and phpunit (CI installs both)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import ROOT, need_tool, running_gateway

MODULE = ROOT / "drupal-module" / "slotwise"
HERE = Path(__file__).resolve().parent
PORT = 18741
PAGE_PORT = 18742
PHP_SUFFIXES = (".php", ".module", ".install", ".inc")


def php_files() -> list[Path]:
    return sorted(p for base in (MODULE, HERE) for p in base.rglob("*") if p.suffix in PHP_SUFFIXES)


def test_every_php_file_lints() -> None:
    php = need_tool("php")
    files = php_files()
    assert len(files) >= 15
    bad = []
    for path in files:
        out = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            bad.append(f"{path.relative_to(ROOT)}: {out.stdout.strip()} {out.stderr.strip()}")
    assert not bad, "\n".join(bad)


def test_phpunit_suite_passes(tmp_path: Path) -> None:
    phpunit = need_tool("phpunit")
    report = tmp_path / "junit.xml"
    out = subprocess.run(
        [phpunit, "-c", str(HERE / "phpunit.xml"), "--log-junit", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HERE,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) >= 35
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert int(suite.get("skipped", "0")) == 0


def test_module_yaml_is_consistent() -> None:
    info = yaml.safe_load((MODULE / "slotwise.info.yml").read_text())
    assert info["type"] == "module" and info["core_version_requirement"] == "^10.3 || ^11"
    services = yaml.safe_load((MODULE / "slotwise.services.yml").read_text())["services"]
    for name, service in services.items():
        if "class" in service:
            path = MODULE / "src" / (service["class"].removeprefix("Drupal\\slotwise\\").replace("\\", "/") + ".php")
            assert path.exists(), f"{name}: {path} missing"
        for arg in service.get("arguments", []):
            if isinstance(arg, str) and arg.startswith("@slotwise."):
                assert arg[1:] in services, f"{name}: unknown service {arg}"
    routing = yaml.safe_load((MODULE / "slotwise.routing.yml").read_text())
    form = routing["slotwise.settings"]["defaults"]["_form"].lstrip("\\").removeprefix("Drupal\\slotwise\\")
    assert (MODULE / "src" / (form.replace("\\", "/") + ".php")).exists()
    assert routing["slotwise.settings"]["requirements"]["_permission"] in yaml.safe_load(
        (MODULE / "slotwise.permissions.yml").read_text()
    )
    defaults = yaml.safe_load((MODULE / "config/install/slotwise.settings.yml").read_text())
    schema = yaml.safe_load((MODULE / "config/schema/slotwise.schema.yml").read_text())
    assert set(defaults) == set(schema["slotwise.settings"]["mapping"])
    assert "block.settings.slotwise_slot" in schema
    # No \Drupal:: service-locator calls inside classes: everything is injected.
    offenders = [p.name for p in (MODULE / "src").rglob("*.php") if re.search(r"\\Drupal::", p.read_text())]
    assert offenders == []


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("drupal-gw")
    config = data / "slotwise.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sites": {
                    "drupal": {
                        "publishable_key": "pk_drupal",
                        "secret_key": "sk_drupal",
                        "timezone": "Europe/Berlin",
                        "origins": [f"http://127.0.0.1:{PAGE_PORT}"],
                    }
                },
                "trusted_proxies": ["127.0.0.1/32"],
                "geo": {"country_headers": ["CF-IPCountry"]},
                "segments": {
                    "mobile": {"when": "device.class == 'mobile'"},
                    "abroad": {"when": "geo.country != null and geo.country != 'DE'"},
                },
                "slots": {
                    "hero": {
                        "description": "Hero banner",
                        "variants": [
                            {
                                "id": "abroad-mobile",
                                "when": ["abroad", "mobile"],
                                "block": {"type": "banner", "title": "Worldwide, in your pocket"},
                            },
                            {
                                "id": "home",
                                "when": "geo.country == 'DE'",
                                "block": {"type": "banner", "title": "Willkommen"},
                            },
                        ],
                        "default": {"type": "banner", "title": "The new season"},
                    },
                    "recs": {"description": "Recommendations", "default": {"type": "banner", "title": "Popular now"}},
                },
            }
        )
    )
    args = ["serve", "--config", str(config), "--log-level", "warning"]
    with running_gateway(args, PORT, data / "gateway.log") as base:
        yield base


def test_server_path_against_a_real_gateway_keeps_visitors_apart(gateway: str) -> None:
    php = need_tool("php")
    out = subprocess.run(
        [php, str(HERE / "live_render.php"), gateway, "drupal", "pk_drupal"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    pages = json.loads(out.stdout)
    us, de = pages["us_mobile"], pages["de_desktop"]
    assert us["log"] == [] and de["log"] == []
    assert 'data-slotwise-variant="abroad-mobile"' in us["html"] and "Worldwide, in your pocket" in us["html"]
    assert 'data-slotwise-variant="home"' in de["html"] and "Willkommen" in de["html"]
    assert "Worldwide" not in de["html"] and "Willkommen" not in us["html"]
    assert us["cookie"] and de["cookie"] and us["cookie"] != de["cookie"]
    assert us["killed"] and de["killed"], "server-rendered pages stay out of the Internal Page Cache"
    assert us["slots"] == {"hero": "Hero banner", "recs": "Recommendations"}


def test_client_mode_page_is_personalized_by_the_real_client_in_chromium(gateway: str, tmp_path: Path) -> None:
    """Browser mode end to end: the module's placeholders and library tag, the gateway's own
    client.js, a real browser. The HTML is the same for everyone; the browser swaps the slot."""
    php = need_tool("php")
    chromium = need_tool("chromium")
    env = {
        "SLOTWISE_GATEWAY": gateway,
        "SLOTWISE_MODE": "client",
        "SLOTWISE_SITE": "drupal",
        "SLOTWISE_KEY": "pk_drupal",
        "PATH": "/usr/bin:/bin",
    }
    page = subprocess.Popen(
        [php, "-S", f"127.0.0.1:{PAGE_PORT}", str(HERE / "stub_page.php")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{PAGE_PORT}/shop"
        for _ in range(100):
            try:
                html = httpx.get(url, timeout=2).text
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            pytest.fail("php -S did not start")
        assert f'<script src="{gateway}/v1/client.js" async data-site="drupal" data-key="pk_drupal"' in html
        assert 'data-slotwise-slot="hero"' in html and "Fallback hero" in html
        out = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--virtual-time-budget=8000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        page.terminate()
        page.wait(timeout=10)
    dom = out.stdout
    hero = re.search(r'<div data-slotwise-slot="hero"[^>]*>', dom)
    assert hero, dom[:2000]
    assert 'data-slotwise-state="ready"' in hero.group(0), hero.group(0)
    assert "The new season" in dom or "Willkommen" in dom or "Worldwide" in dom
    assert "Fallback hero" not in dom


def test_variants_written_in_the_block_form_are_published_rendered_and_retired(gateway: str) -> None:
    """Part 15 for Drupal: the module's AuthoredSlots against the real gateway (no Drupal here)."""
    php = need_tool("php")
    out = subprocess.run(
        [php, str(HERE / "live_authoring.php"), gateway, "drupal", "pk_drupal", "sk_drupal"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    got = json.loads(out.stdout)
    assert got["published"] == [], got
    assert 'data-slotwise-variant="mobile"' in got["page_mobile"] and "Drupal phones" in got["page_mobile"]
    assert 'data-slotwise-variant="desktop"' in got["page_desktop"] and "Drupal desktops" in got["page_desktop"]
    assert got["bad"] == [{"element": "variants][2][when", "message": "unknown name 'device.clas' at column 1"}], got[
        "bad"
    ]
    assert "Drupal desktops" in got["page_after_bad"], "the gateway keeps the version it accepted"
    assert "segment('mobile')" in got["presets"] and "device.class == 'mobile'" in got["presets"]
    assert got["retired"] is None
    assert 'data-slotwise-state="fallback"' in got["page_after_retire"] and "Drupal default" in got["page_after_retire"]
