# SPDX-License-Identifier: Apache-2.0
"""The registry of names expressions may read, and the per-request `Env` resolvers receive.

Names are registered from explicit lists by `slotwise.gateway.config.registries`, never as a
side effect of importing a module; a name not registered is a compile error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KINDS = {"str", "num", "bool", "list", "any"}


class Env:
    """Everything an expression may read for one request. Built per render, cheap."""

    __slots__ = (
        "attributes",
        "boundary",
        "ctx",
        "memo",
        "now",
        "profile",
        "read",
        "runtime",
        "services",
        "site",
    )

    def __init__(
        self,
        ctx: Any,
        *,
        site: Any = None,
        runtime: Any = None,
        services: Any = None,
        profile: Any = None,
        attributes: dict[str, Any] | None = None,
    ):
        self.ctx = ctx
        self.site = site
        self.runtime = runtime
        self.services = services
        self.profile = profile
        self.attributes = attributes or {}
        self.now: float = ctx.now
        self.boundary = math.inf
        self.memo: dict[Any, Any] = {}
        self.read = False

    def fork(self) -> Env:
        """A view for one slot: shares what was read, tracks its own ttl boundary."""
        other = Env.__new__(Env)
        other.ctx, other.profile, other.attributes = self.ctx, self.profile, self.attributes
        other.site, other.runtime, other.services = self.site, self.runtime, self.services
        other.now, other.memo, other.boundary = self.now, self.memo, math.inf
        other.read = False
        return other

    def bound(self, t: float) -> None:
        """Record that a value just read changes at unix time `t`."""
        if t < self.boundary:
            self.boundary = t

    def read_visitor(self) -> None:
        """Record that what this view (a slot's fork) decides depends on more than the context
        (the visitor, or a bandit's draw): the page cache re-renders that slot on every hit.
        Also recorded for the whole page (forks share the memo)."""
        self.read = True
        self.memo[VISITOR_READ] = True

    @property
    def visitor_read(self) -> bool:
        return VISITOR_READ in self.memo


VISITOR_READ = "visitor-read"
"""The memo key `Env.read_visitor` sets (memo keys of segments are tuples)."""


Resolver = Callable[[Env, tuple[str, ...], tuple[Any, ...]], Any]


@dataclass(frozen=True)
class NameSpec:
    pattern: tuple[str, ...]
    kind: str
    resolver: Resolver
    params: tuple[str, ...] = ()
    wild: dict[int, frozenset[str]] = field(default_factory=dict)
    doc: str = ""

    @property
    def display(self) -> str:
        base = ".".join(self.pattern)
        return f"{base}({', '.join(self.params)})" if self.params else base


NAMES: dict[tuple[str, ...], NameSpec] = {}
"""The names expressions may read; empty until `config.registries.install_defaults` fills it."""


def name_spec(
    pattern: str,
    kind: str,
    resolver: Resolver,
    params: tuple[str, ...] = (),
    wild: dict[int, set[str] | frozenset[str]] | None = None,
    doc: str = "",
) -> NameSpec:
    """A name for an explicit list (see `config.registries`); checked here, registered there."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    for p in params:
        if p not in {"duration", "str", "num"}:
            raise ValueError(f"unknown parameter type {p!r}")
    parts = tuple(pattern.split("."))
    return NameSpec(parts, kind, resolver, params, {i: frozenset(v) for i, v in (wild or {}).items()}, doc)


def register(spec: NameSpec) -> None:
    NAMES[spec.pattern] = spec


def unregister(pattern: str) -> NameSpec | None:
    """Remove a name again (tests clean up what they register)."""
    return NAMES.pop(tuple(pattern.split(".")), None)


def lookup(path: tuple[str, ...]) -> tuple[NameSpec, tuple[str, ...]] | None:
    best: tuple[int, NameSpec, tuple[str, ...]] | None = None
    for spec in NAMES.values():
        if len(spec.pattern) != len(path):
            continue
        wild_values: list[str] = []
        for i, (want, got) in enumerate(zip(spec.pattern, path, strict=False)):
            if want == "*":
                allowed = spec.wild.get(i)
                if allowed is not None and got not in allowed:
                    break
                wild_values.append(got)
            elif want != got:
                break
        else:
            if best is None or len(wild_values) < best[0]:
                best = (len(wild_values), spec, tuple(wild_values))
    return (best[1], best[2]) if best else None


def describe_names() -> list[dict[str, str]]:
    """The names editors may use, for docs and the admin UI."""
    return sorted(({"name": s.display, "kind": s.kind, "doc": s.doc} for s in NAMES.values()), key=lambda d: d["name"])
