# SPDX-License-Identifier: Apache-2.0
from __future__ import annotations

import logging

import pytest

from slotwise.gateway.ops.outage import Outage


def test_an_outage_is_logged_once_then_counted_then_its_recovery(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    outage = Outage("redis store", logging.getLogger("t.outage"), every=30, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="t.outage"):
        outage.succeeded()
        for _ in range(1000):
            outage.failed(ConnectionError("refused"))
            now[0] += 0.01  # 10 s of failures: no report yet
        now[0] += 25
        outage.failed(ConnectionError("refused"))
        outage.failed(ConnectionError("refused"))
        outage.succeeded()
        outage.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "redis store unavailable: ConnectionError: refused",
        "redis store still unavailable after 35 s (1001 failures)",
        "redis store recovered after 35.0 s (1002 failures)",
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert not outage.is_down
