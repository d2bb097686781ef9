# SPDX-License-Identifier: Apache-2.0
"""`run_every`: the gateway's background rounds (model directory watch, scheduled retraining,
alert rules, following the studio's configuration versions) and the one rule they share: a
failing round is logged and the next one comes all the same."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn


async def run_every(
    seconds: float | Callable[[], float], job: Callable[[], Awaitable[object]], log: logging.Logger, failure: str
) -> NoReturn:
    """Forever (until the task is cancelled): wait `seconds` (a callable is asked before each
    wait), then `await job()`; an exception of a round goes to `log` with the message `failure`."""
    while True:
        await asyncio.sleep(seconds() if callable(seconds) else seconds)
        try:
            await job()
        except Exception:  # a background round must never end the schedule
            log.exception(failure)
