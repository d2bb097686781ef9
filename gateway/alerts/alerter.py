# SPDX-License-Identifier: Apache-2.0
"""The alerter: judges the rules every `every_seconds`, sends a notice when a rule starts firing
and one when it recovers (never twice for one change), and relays the alerts that other code
raises with `ops.alerts.raise_alert` (retraining, ...) to the same channels.

Deduplication: each rule's last state is swapped atomically; only the caller that changed it
sends. With a Redis store the states of rules on the store are shared (`{prefix}alerts:...`, one
`SET ... GET`), so several replicas send one notice between them; health rules (fallbacks,
render p99) judge one process and keep a state per replica.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slotwise.gateway.alerts.channels import Alert, deliver
from slotwise.gateway.alerts.rules import Check, HealthWindow, judge
from slotwise.gateway.common.periodic import run_every
from slotwise.gateway.config.alerts import AlertsSettings
from slotwise.gateway.ops.alerts import Alert as RaisedAlert
from slotwise.gateway.ops.alerts import add_alert_hook

log = logging.getLogger("slotwise.alerts")
RAISE_COOLDOWN = 600.0  # the same alert raised by code again within this many seconds is not resent


class MemoryState:
    def __init__(self) -> None:
        self._states: dict[str, str] = {}

    async def swap(self, key: str, value: str) -> str | None:
        old = self._states.get(key)
        self._states[key] = value
        return old

    async def close(self) -> None:
        pass


class RedisState:
    """Rule states shared by the replicas on one Redis."""

    def __init__(self, url: str, prefix: str):
        from redis import asyncio as aioredis

        self.r = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
        self.prefix = f"{prefix}alerts:"

    async def swap(self, key: str, value: str) -> str | None:
        old = await self.r.set(self.prefix + key, value, get=True, ex=90 * 86400)
        return None if old is None else str(old)

    async def close(self) -> None:
        await self.r.aclose()


class Alerter:
    """`app`: a running gateway (its config, store and metrics are read at each round), or None
    for a process that only raises alerts and tests channels (`settings` then)."""

    def __init__(self, app: Any = None, settings: AlertsSettings | None = None, state: Any = None):
        self.app = app
        self._settings = settings
        self.state = state or MemoryState()
        self.replica = f"{socket.gethostname()}:{os.getpid()}"
        self.firing: dict[str, Alert] = {}
        """What fires now, as this process judged it at its last round (shown by the studio)."""
        self.recent: collections.deque[Alert] = collections.deque(maxlen=50)
        """Notices sent (or raised) lately, newest last."""
        self.rounds = 0
        self._raised: dict[tuple[str, str], float] = {}
        self._window = HealthWindow(app.state.metrics) if app is not None else None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        self.remove_hook: Callable[[], None] = lambda: None

    @property
    def settings(self) -> AlertsSettings | None:
        if self.app is not None:
            return getattr(self.app.state.runtime.config, "alerts", None)  # follows reloads
        return self._settings

    async def evaluate(self) -> list[Alert]:
        """One round: judge every rule, send the changes; returns the notices sent."""
        settings = self.settings
        if settings is None or self.app is None or self._window is None:
            return []
        config = self.app.state.runtime.config
        store = getattr(self.app.state.services, "store", None)
        checks = await judge(settings.rules, store, config, self._window, datetime.now(UTC).date())
        sent = []
        for check in checks:
            alert = await self._transition(check)
            if alert is not None:
                await deliver(settings, alert)
                sent.append(alert)
        names = {r.name for r in settings.rules}
        for key in [k for k in self.firing if k.split("/")[0] not in names]:
            del self.firing[key]  # a rule removed by a reload no longer fires
        self.rounds += 1
        return sent

    async def _transition(self, check: Check) -> Alert | None:
        state = "firing" if check.firing else "ok"
        key = check.key if check.shared else f"{check.key}@{self.replica}"
        if check.firing:
            self.firing[check.key] = Alert(check.rule.kind, check.key, "firing", check.message, check.fields)
        else:
            self.firing.pop(check.key, None)
        old = await self.state.swap(key, state)
        if old == state or (old is None and state == "ok"):
            return None
        alert = Alert(check.rule.kind, check.key, "firing" if check.firing else "resolved", check.message, check.fields)
        self.recent.append(alert)
        return alert

    async def test(self) -> dict[str, str | None]:
        settings = self.settings
        if settings is None:
            return {}
        alert = Alert(
            "test", "test", "test", "a test alert from slotwise: this channel works", {"replica": self.replica}
        )
        return await deliver(settings, alert)

    def relay(self, kind: str, message: str, **fields: Any) -> bool:
        """Send an alert raised by code (`ops.alerts.raise_alert` reaches it through a hook) to
        the channels without blocking the caller, from the event loop or another thread. False
        when no channel is set or the same alert was sent within RAISE_COOLDOWN seconds."""
        settings = self.settings
        if settings is None or settings.channels == 0:
            return False
        now = time.monotonic()
        if now - self._raised.get((kind, message), -RAISE_COOLDOWN) < RAISE_COOLDOWN:
            return False
        self._raised[(kind, message)] = now
        alert = Alert(kind, kind, "raised", message, {k: v for k, v in fields.items() if v is not None})
        self.recent.append(alert)
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            task = asyncio.get_running_loop().create_task(deliver(settings, alert))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        elif self._loop is not None and self._loop.is_running():  # a thread: hand it to the loop
            asyncio.run_coroutine_threadsafe(deliver(settings, alert), self._loop)
        else:  # a process without a running gateway (a command): send from here
            asyncio.run(deliver(settings, alert))
        return True

    def _every(self) -> float:
        settings = self.settings
        return settings.every_seconds if settings is not None else 60.0

    async def _run(self) -> None:
        await run_every(self._every, self.evaluate, log, "alert rules could not be judged")

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._pending):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
        await self.state.close()


async def start_alerter(app: Any, store: Any) -> Alerter:
    """The app's alerter, scheduled; its states in Redis when the store is Redis. Alerts raised
    by code in this process (`ops.alerts.raise_alert`) go to its channels too. It runs without
    rules as well (then it only relays)."""
    settings = getattr(store, "settings", None)
    state = RedisState(settings.url, settings.prefix) if settings is not None and settings.backend == "redis" else None
    alerter = Alerter(app, state=state)
    alerter.start()

    def hook(alert: RaisedAlert) -> None:
        alerter.relay(alert.kind, alert.message, **alert.details)

    alerter.remove_hook = add_alert_hook(hook)
    return alerter


async def stop_alerter(alerter: Alerter) -> None:
    alerter.remove_hook()
    await alerter.close()


def alerter_for(config: Any) -> Alerter:
    """An alerter for a process without a gateway (a command): it relays and tests only."""
    return Alerter(settings=getattr(config, "alerts", None))
