# SPDX-License-Identifier: Apache-2.0
"""Connector registry: built-ins plus the `slotwise.connectors` entry points group.

A third-party package adds a connector by declaring, in its pyproject.toml,

    [project.entry-points."slotwise.connectors"]
    shopify = "slotwise_shopify:ShopifyConnector"

where the target is a `connectors.base.Connector` subclass. Targets are imported only when
asked for, so one broken plugin cannot stop the others from loading.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util

from slotwise.connectors.base import Connector

GROUP = "slotwise.connectors"
# name -> "module:Class"; listed here too so they work from a source checkout without reinstall.
BUILTINS: dict[str, str] = {
    "wordpress": "slotwise.connectors.wordpress:WordPressConnector",
    "woocommerce": "slotwise.connectors.woocommerce:WooCommerceConnector",
    "drupal": "slotwise.connectors.drupal:DrupalConnector",
    "files": "slotwise.connectors.files:FilesConnector",
}
_registered: dict[str, type[Connector]] = {}


class UnknownConnector(LookupError):
    pass


def register(name: str, cls: type[Connector]) -> None:
    """Add a connector at run time (tests, embedding applications)."""
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"connector {name!r} must be a Connector subclass, got {cls!r}")
    _registered[name] = cls


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}


def _builtin_available(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


def names() -> list[str]:
    """Every connector name that can be asked for, sorted."""
    found = {n for n, t in BUILTINS.items() if _builtin_available(t)}
    found.update(_entry_points())
    found.update(_registered)
    return sorted(found)


def _load(target: str) -> object:
    module_name, _, attr = target.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def get(name: str) -> type[Connector]:
    """The connector class called `name`; UnknownConnector names the ones that exist."""
    if name in _registered:
        return _registered[name]
    eps = _entry_points()
    if name in eps:
        obj = eps[name].load()
    elif name in BUILTINS and _builtin_available(BUILTINS[name]):
        obj = _load(BUILTINS[name])
    else:
        raise UnknownConnector(f"unknown connector {name!r}; available: {', '.join(names()) or 'none'}")
    if not (isinstance(obj, type) and issubclass(obj, Connector)):
        raise UnknownConnector(f"connector {name!r} points at {obj!r}, which is not a Connector subclass")
    return obj
