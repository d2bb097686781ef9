# SPDX-License-Identifier: Apache-2.0
"""Deterministic, sticky experiment assignment: a hash of (experiment key, visitor id).

No assignment is stored: the same visitor always lands in the same bucket, on every replica.
The lifecycle (`phase`): a draft, a paused experiment, and one before its `start` serve nobody
(visitors fall through to the slot's later variants); a stopped one, or one past its `end`,
serves its `winner` to everyone (or nobody without a winner). Only a running experiment
assigns arms, to the `traffic` share of visitors; the counters, and so the results, stay.
"""

from __future__ import annotations

import hashlib

from slotwise.gateway.config.loader import Arm, Experiment


def bucket(key: str, visitor_id: str) -> float:
    """A uniform number in [0, 1) for this visitor in this experiment."""
    digest = hashlib.blake2b(f"{key}\x00{visitor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def phase(experiment: Experiment, now: float) -> str:
    """`running`, `stopped` (serve the winner) or `off` (serve nothing) at this time."""
    status = getattr(experiment, "status", "running")
    if status == "stopped" or (experiment.end is not None and now >= experiment.end):
        return "stopped"
    if status != "running" or (experiment.start is not None and now < experiment.start):
        return "off"
    return "running"


def winner(experiment: Experiment) -> Arm | None:
    return next((arm for arm in experiment.arms if arm.name == experiment.winner), None)


def in_traffic(experiment: Experiment, visitor_id: str) -> bool:
    """Whether the visitor is in the experiment's traffic share (an independent hash)."""
    return experiment.traffic >= 1.0 or bucket(experiment.key + "\x00traffic", visitor_id) < experiment.traffic


def assign(experiment: Experiment, visitor_id: str) -> Arm | None:
    """The visitor's arm, or None for the holdout (who sees the slot's default block)."""
    u = bucket(experiment.key, visitor_id)
    if u < experiment.holdout:
        return None
    u = (u - experiment.holdout) / (1.0 - experiment.holdout)
    total = sum(arm.weight for arm in experiment.arms)
    edge = 0.0
    for arm in experiment.arms:
        edge += arm.weight / total
        if u < edge:
            return arm
    return experiment.arms[-1]
