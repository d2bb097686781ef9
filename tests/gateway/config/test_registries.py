# SPDX-License-Identifier: Apache-2.0
"""Names and strategies are registered from explicit lists, never by importing a module."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from slotwise.gateway.recommend.strategies import STRATEGIES
from slotwise.gateway.rules.expr import NAMES, ExprError, compile_expr

IMPORT_ALL = """
import pkgutil, importlib, slotwise.gateway as g
for m in pkgutil.walk_packages(g.__path__, "slotwise.gateway."):
    if ".demo" not in m.name:
        importlib.import_module(m.name)
from slotwise.gateway.rules.expr import NAMES
from slotwise.gateway.recommend.strategies import STRATEGIES
from slotwise.gateway.http.openapi import CORE_PATHS
print(len(NAMES), len(STRATEGIES))
from slotwise.gateway.config.registries import install_defaults
install_defaults()
print(len(NAMES), sorted(STRATEGIES))
"""


def test_importing_every_module_registers_nothing_until_the_defaults_are_installed() -> None:
    out = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, check=True).stdout
    before, after = out.splitlines()
    assert before == "0 0"
    count, strategies = after.split(" ", 1)
    assert int(count) > 40
    assert strategies == str(["cf", "content", "hybrid", "popular", "recently_viewed", "similar"])


def test_fixtures_remove_what_a_test_registers(
    add_name: Callable[..., None], add_strategy: Callable[[str, Any], None]
) -> None:
    add_name("testonly.flag", "bool", lambda env, wild, args: True)
    add_strategy("testonly-strategy", lambda env, block, count: [])
    assert ("testonly", "flag") in NAMES and "testonly-strategy" in STRATEGIES
    assert compile_expr("testonly.flag").names == frozenset({"testonly.flag"})


def test_nothing_is_left_over_from_other_tests() -> None:
    assert not [p for p in NAMES if p[0] == "testonly"]
    assert not [s for s in STRATEGIES if s.startswith("test")]
    try:
        compile_expr("testonly.flag")
    except ExprError as exc:
        assert "unknown name 'testonly.flag'" in str(exc)
    else:
        raise AssertionError("testonly.flag is still registered")
