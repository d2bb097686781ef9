# SPDX-License-Identifier: Apache-2.0
"""Alerts: something an operator must hear about (a retraining candidate that failed, ...).

`raise_alert(kind, message, **details)` logs one ERROR line, counts `slotwise_alerts_total{kind}`
in the metrics it is given, and calls every hook added with `add_alert_hook(fn)`; a hook gets one
`Alert` and must not block (delivery by e-mail or webhook belongs in the hook's own task). A
failing hook is logged and never stops the others nor the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("slotwise.alerts")


@dataclass(frozen=True)
class Alert:
    kind: str
    """What happened, one word: `retrain_failed`, ..."""
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


AlertHook = Callable[[Alert], None]
_HOOKS: list[AlertHook] = []


def add_alert_hook(hook: AlertHook) -> Callable[[], None]:
    """Call `hook` for every alert from now on; returns a function that removes it again."""
    _HOOKS.append(hook)
    return lambda: _HOOKS.remove(hook) if hook in _HOOKS else None


def raise_alert(kind: str, message: str, metrics: Any = None, **details: Any) -> Alert:
    alert = Alert(kind, message, details)
    log.error("ALERT %s: %s", kind, message)
    counter = getattr(metrics, "alerts", None)
    if counter is not None:
        counter.labels(kind).inc()
    for hook in list(_HOOKS):
        try:
            hook(alert)
        except Exception:  # one broken delivery must not hide the alert from the others
            log.exception("alert hook %r failed", hook)
    return alert
