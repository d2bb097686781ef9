# SPDX-License-Identifier: Apache-2.0
"""The editors' expression language: safe, small, checked when the configuration loads.

    device.class == 'mobile' and local.business_hours
    local.hour between 9 and 17 and local.weekday in [mon..fri]
    attr.age_bracket == '25-34' and attr.income_band in ['B']
    events.add_to_cart.within(24h) >= 1 and events.purchase.within(24h) == 0

The public face of `tokens` (errors), `names` (the name registry and `Env`) and `parser`
(compilation); callers import from here.
"""

from __future__ import annotations

from slotwise.gateway.rules.names import (
    NAMES,
    Env,
    NameSpec,
    Resolver,
    describe_names,
    name_spec,
    register,
    unregister,
)
from slotwise.gateway.rules.parser import Compiled, compile_expr, in_segment
from slotwise.gateway.rules.tokens import MAX_SOURCE, ExprError

__all__ = [
    "MAX_SOURCE",
    "NAMES",
    "Compiled",
    "Env",
    "ExprError",
    "NameSpec",
    "Resolver",
    "compile_expr",
    "describe_names",
    "in_segment",
    "name_spec",
    "register",
    "unregister",
]
