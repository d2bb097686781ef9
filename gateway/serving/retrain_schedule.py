# SPDX-License-Identifier: Apache-2.0
"""The retraining schedule of `slotwise serve` (config `retrain: {every: 24h}`, off by default).

Every `every` seconds the gateway starts `slotwise retrain --config FILE` as a subprocess and
waits for it without blocking the event loop (training never runs in the render process). The
subprocess's last stdout line is its outcome; a promotion makes this gateway reload its model
directory at once (which tells replicas on Redis too). A failed or timed-out run, or one whose
outcome is unreadable, raises a `retrain_failed` alert here (log, `slotwise_alerts_total`, the
alert hooks) and counts `slotwise_retrain_runs_total{result}`; the live bundle keeps serving.
Replicas that all schedule it share one run per period: the model directory's lock skips the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any

from slotwise.gateway.common.periodic import run_every
from slotwise.gateway.ops.alerts import raise_alert

log = logging.getLogger("slotwise.retrain")


class RetrainSchedule:
    def __init__(self, app: Any, every: float, timeout: float) -> None:
        self.app, self.every, self.timeout = app, every, timeout
        self._task: asyncio.Task[None] | None = None
        self.last: dict[str, Any] | None = None
        """The outcome of the last run (tests, and the studio's Models page)."""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        await run_every(self.every, self.run_once, log, "scheduled retraining crashed")

    def command(self) -> list[str]:
        path: Path = self.app.state.config_path
        return [sys.executable, "-m", "slotwise.gateway.cli", "retrain", "--config", str(path)]

    async def run_once(self) -> dict[str, Any]:
        metrics = self.app.state.metrics
        proc = await asyncio.create_subprocess_exec(
            *self.command(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout + 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            out, err = b"", b"scheduled retraining timed out"
        outcome = _outcome(out)
        if outcome is None:
            tail = (err.decode(errors="replace").strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            outcome = {"status": "failed", "reason": tail[:500]}
            raise_alert("retrain_failed", f"scheduled retraining failed: {tail[:500]}", metrics)
        elif outcome.get("status") == "failed":
            # the subprocess alerted in its own process; this process's metrics and hooks hear it too
            raise_alert("retrain_failed", str(outcome.get("reason")), metrics, bundle=outcome.get("bundle"))
        metrics.retrain_runs.labels(str(outcome.get("status"))).inc()
        registry = getattr(self.app.state.services, "models", None)
        if outcome.get("status") == "promoted" and registry is not None:
            await registry.areload()
        self.last = outcome
        log.info("scheduled retraining: %s (%s)", outcome.get("status"), outcome.get("reason"))
        return outcome

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _outcome(stdout: bytes) -> dict[str, Any] | None:
    lines = stdout.decode(errors="replace").strip().splitlines()
    try:
        outcome = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return outcome if isinstance(outcome, dict) and "status" in outcome else None


def start_schedule(app: Any, settings: Any) -> RetrainSchedule | None:
    """The schedule when `retrain.every` is set and the gateway runs from a file, else None."""
    if settings is None or settings.every is None or app.state.config_path is None:
        return None
    schedule = RetrainSchedule(app, float(settings.every), float(settings.timeout))
    schedule.start()
    log.info("retraining scheduled every %g s", settings.every)
    return schedule
