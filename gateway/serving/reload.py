# SPDX-License-Identifier: Apache-2.0
"""Reload the configuration of a running app (admin route, SIGHUP).

The new file is validated and its runtime built before anything changes; when `store` or
`models` changed, the new store / model registry is opened first, then swapped in and the old
one closed. Any failure keeps the running configuration and services, with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slotwise.gateway.config.loader import Config, ConfigError, parse_config_text
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.serving.runtime import build_runtime
from slotwise.gateway.serving.services import close_parts, open_models, open_store

log = logging.getLogger("slotwise")
SERVICES = ("store", "models")


@dataclass
class ReloadResult:
    ok: bool
    errors: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    """The services (`store`, `models`) that were rebuilt because their section changed."""


def changed_services(old: Config, new: Config) -> list[str]:
    return [name for name in SERVICES if getattr(old, name) != getattr(new, name)]


def config_lock(app: Any) -> asyncio.Lock:
    """Held while this gateway changes its configuration file (a studio change, a followed
    version): a follower that looked in between would take the change's intermediate state."""
    lock = getattr(app.state, "config_lock", None)
    if lock is None:
        lock = app.state.config_lock = asyncio.Lock()
    return lock


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def reload_config(app: Any, publish: bool = True, text: str | None = None) -> ReloadResult:
    """Load the config file again (or `text`, a configuration for the same place, when the file
    cannot be written: a stored version); on any error the running configuration keeps serving.

    With replica sync (Redis store), a successful reload is published to the other gateways
    unless it was asked by one of them (`publish=False`). `app.state.config_sha` is then the
    sha256 of the text now serving.
    """
    path = app.state.config_path
    metrics: Metrics = app.state.metrics
    if path is None:
        return ReloadResult(False, ["this gateway was started without a configuration file"])
    try:
        if text is None:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
        config = parse_config_text(text, Path(path), check_files=True)
        runtime = build_runtime(config, metrics)
    except ConfigError as exc:
        return _refused(metrics, exc.errors)
    except (OSError, ValueError) as exc:
        return _refused(metrics, [str(exc)])
    changed = changed_services(app.state.runtime.config, config)
    fresh: dict[str, Any] = {}
    name = ""
    try:
        for name in changed:
            fresh[name] = await (open_store if name == "store" else open_models)(config)
    except Exception as exc:  # a store that cannot connect, a directory that cannot be read
        await close_parts(list(fresh.values()))
        return _refused(metrics, [f"{name}: cannot open with the new settings ({exc})"])
    services = app.state.services
    old = [getattr(services, name) for name in fresh]
    app.state.runtime = runtime
    for name, part in fresh.items():
        setattr(services, name, part)
    if "store" in fresh:
        app.state.event_limiters = None  # rebuilt from the new store's rate limits
    elif services.store is not None:
        from slotwise.gateway.measure.attribution import settings_from_config

        services.store.measure = settings_from_config(config)  # new windows, bandits and arms
    await close_parts(old)
    if changed:
        log.info("configuration reloaded; reopened %s", ", ".join(changed))
    metrics.config_reloads.labels("ok").inc()
    app.state.config_sha = text_sha(text)
    sync = getattr(app.state, "sync", None)
    if sync is not None:
        if "models" in fresh:
            sync.attach(fresh["models"])
        if publish:
            await sync.publish("config")
    return ReloadResult(True, applied=changed)


def _refused(metrics: Metrics, errors: list[str]) -> ReloadResult:
    metrics.config_reloads.labels("failed").inc()
    log.error("configuration reload refused, old configuration keeps serving:\n  %s", "\n  ".join(errors))
    return ReloadResult(False, errors)
