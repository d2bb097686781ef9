# SPDX-License-Identifier: Apache-2.0
"""Deterministic, sticky experiment assignment: a hash of (experiment key, visitor id).

No assignment is stored: the same visitor always lands in the same bucket, on every replica.
"""

from __future__ import annotations

import hashlib

from slotwise.gateway.config.loader import Arm, Experiment


def bucket(key: str, visitor_id: str) -> float:
    """A uniform number in [0, 1) for this visitor in this experiment."""
    digest = hashlib.blake2b(f"{key}\x00{visitor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


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
