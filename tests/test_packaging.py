# SPDX-License-Identifier: Apache-2.0
"""The wheel as a user gets it: built from the files git knows, installed into a fresh venv.

The tree is copied first (tracked files plus untracked ones git does not ignore) so that a stale
`build/` folder or an egg-info in the checkout cannot put files into the wheel that a clean clone
would not have. The venv sees the system's site-packages for the dependencies, but the wheel
itself goes into the venv, and every check asserts that what imports comes from the venv.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

GENERIC = {"gateway", "models", "connectors"}

# Runs inside the new venv; prints one JSON object with what it found.
PROBE = r"""
import importlib, importlib.metadata as md, json, sys, sysconfig
from pathlib import Path

out = {"purelib": sysconfig.get_paths()["purelib"], "modules": {}, "entry_points": {}}
for name in ("slotwise.gateway", "slotwise.models", "slotwise.connectors", "slotwise.gateway.cli"):
    out["modules"][name] = importlib.import_module(name).__file__
gateway = Path(importlib.import_module("slotwise.gateway").__file__).parent
out["templates"] = sorted(p.name for p in (gateway / "blocks" / "templates").rglob("*") if p.is_file())
out["client_js"] = (gateway / "static" / "client.js").is_file()
dist = md.distribution("slotwise")
for ep in dist.entry_points:
    if ep.group == "slotwise.connectors":
        obj = ep.load()
        out["entry_points"][ep.name] = [obj.__module__, obj.__qualname__, sys.modules[obj.__module__].__file__]
out["console_scripts"] = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
print(json.dumps(out))
"""


def _copy_tree(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():  # deleted but not yet staged files are listed too
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    _copy_tree(src)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps", "-w", str(dist), "."],
        cwd=src,
        check=True,
    )
    (built,) = dist.glob("slotwise-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    env = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env)
    python = env / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True)
    # cwd is the venv, so neither the checkout nor an editable install's folder is on sys.path first.
    probe = subprocess.run([str(python), "-c", PROBE], cwd=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    return env, json.loads(probe.stdout)


def test_wheel_holds_only_the_slotwise_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        tops = {name.split("/", 1)[0] for name in zf.namelist()}
        names = set(zf.namelist())
    assert "slotwise" in tops
    others = tops - {"slotwise"}
    assert len(others) == 1 and others.pop().endswith(".dist-info"), sorted(tops)
    assert "slotwise/gateway/static/client.js" in names
    assert any(n.startswith("slotwise/gateway/blocks/templates/") for n in names)


def test_packages_import_from_the_venv(installed: tuple[Path, dict]) -> None:
    env, found = installed
    for name, file in found["modules"].items():
        assert Path(file).is_relative_to(env), f"{name} imported from {file}, not from the venv"


def test_templates_and_static_files_are_installed(installed: tuple[Path, dict]) -> None:
    _, found = installed
    shipped = sorted(p.name for p in (ROOT / "gateway" / "blocks" / "templates").rglob("*") if p.is_file())
    assert shipped, "the checkout has no templates to compare with"
    assert found["templates"] == shipped
    assert found["client_js"]


def test_connector_entry_points_resolve_inside_the_venv(installed: tuple[Path, dict]) -> None:
    env, found = installed
    assert set(found["entry_points"]) == {"wordpress", "woocommerce", "drupal", "files"}
    for name, (module, _qualname, file) in found["entry_points"].items():
        assert module.startswith("slotwise.connectors."), name
        assert Path(file).is_relative_to(env), f"entry point {name} loaded {file}"


def test_console_script_runs(installed: tuple[Path, dict]) -> None:
    env, found = installed
    assert found["console_scripts"] == {"slotwise": "slotwise.gateway.cli:main"}
    script = env / "bin" / "slotwise"
    assert script.is_file()
    result = subprocess.run([str(script), "--help"], cwd=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout


def test_nothing_generic_at_the_top_of_site_packages(installed: tuple[Path, dict]) -> None:
    _, found = installed
    tops = {p.name.split(".")[0] for p in Path(found["purelib"]).iterdir()}
    assert "slotwise" in tops
    assert not tops & GENERIC, f"generic top-level names installed: {sorted(tops & GENERIC)}"
