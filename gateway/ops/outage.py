# SPDX-License-Identifier: Apache-2.0
"""Log a dependency's outage by its changes of state, not by its failures.

A store that is down fails every request; logging each failure (with a traceback) floods the
log. An `Outage` logs the first failure with its cause, then a count at most once per
`every` seconds while it lasts, then the recovery with how long it lasted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class Outage:
    def __init__(
        self,
        what: str,
        log: logging.Logger,
        *,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.log, self.every, self.clock = what, log, every, clock
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.failures = 0
        self._last_report = 0.0

    @property
    def is_down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException) -> None:
        now = self.clock()
        with self._lock:
            self.failures += 1
            if self.down_since is None:
                self.down_since = self._last_report = now
                self.log.error("%s unavailable: %s: %s", self.what, type(exc).__name__, exc)
            elif now - self._last_report >= self.every:
                self._last_report = now
                self.log.warning(
                    "%s still unavailable after %.0f s (%d failures)", self.what, now - self.down_since, self.failures
                )

    def succeeded(self) -> None:
        if self.down_since is None:  # the hot path: one attribute read
            return
        now = self.clock()
        with self._lock:
            if self.down_since is None:
                return
            self.log.warning("%s recovered after %.1f s (%d failures)", self.what, now - self.down_since, self.failures)
            self.down_since, self.failures = None, 0
