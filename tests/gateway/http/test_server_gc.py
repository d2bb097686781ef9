# SPDX-License-Identifier: Apache-2.0
"""A serving process collects garbage less often than Python's default (its startup objects are
frozen by the lifespan: tests/gateway/serving/test_runtime.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from slotwise.gateway.http.server import GC_THRESHOLD, tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restore_gc")
def test_serving_raises_the_youngest_threshold() -> None:
    older = gc.get_threshold()[1:]
    tune_gc()
    assert gc.get_threshold() == (GC_THRESHOLD, *older) and GC_THRESHOLD > 700
