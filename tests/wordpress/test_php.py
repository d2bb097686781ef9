# SPDX-License-Identifier: Apache-2.0
"""The plugin's PHP: `php -l` on every file and the PHPUnit suite (Debian's phpunit)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need_tool

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[1] / "wordpress-plugin" / "slotwise"
PHP_FILES = sorted(PLUGIN.rglob("*.php")) + sorted((HERE / "php").glob("*.php")) + [HERE / "router.php"]


def test_plugin_has_the_expected_files() -> None:
    names = {p.relative_to(PLUGIN).as_posix() for p in PLUGIN.rglob("*") if p.is_file()}
    assert {
        "slotwise.php",
        "uninstall.php",
        "block/block.json",
        "block/render.php",
        "block/index.js",
        "block/index.asset.php",
    } <= names
    assert not [n for n in names if n.endswith("client.js")], "the plugin must not ship its own client.js"


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: p.name)
def test_php_lint(path: Path) -> None:
    php = need_tool("php")
    proc = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_plugin_file_refuses_direct_access() -> None:
    for path in PLUGIN.rglob("*.php"):
        if path.name == "index.asset.php":
            continue
        text = path.read_text(encoding="utf-8")
        assert "defined( 'ABSPATH' ) || exit;" in text or "defined( 'WP_UNINSTALL_PLUGIN' ) || exit;" in text, path


def test_phpunit_suite() -> None:
    phpunit = need_tool("phpunit")
    proc = subprocess.run(
        [phpunit, "-c", str(HERE / "php" / "phpunit.xml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=HERE / "php",
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "OK (" in proc.stdout


def test_plugin_metadata_declares_its_external_service_and_block_api() -> None:
    readme = (PLUGIN / "readme.txt").read_text(encoding="utf-8")
    assert "== External services ==" in readme and "slotwise_vid" in readme
    block = json.loads((PLUGIN / "block" / "block.json").read_text(encoding="utf-8"))
    assert block["apiVersion"] == 3
