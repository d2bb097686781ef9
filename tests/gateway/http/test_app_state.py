# SPDX-License-Identifier: Apache-2.0
"""`app.state` is an `AppState`: what is set on it is read as a plain attribute (not through
Starlette's `State.__getattr__`, which a render would pay seven times), with `State`'s behaviour
otherwise: items, iteration, length, deletion, a missing attribute's AttributeError."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.datastructures import State
from starlette.testclient import TestClient

from slotwise.gateway.http.app import AppState
from tests.gateway.conftest import minimal_config


def test_app_state_keeps_states_behaviour_with_plain_attributes() -> None:
    state = AppState()
    state.runtime = "r"
    state["metrics"] = "m"
    assert isinstance(state, State)
    assert (state.runtime, state["runtime"], state.metrics) == ("r", "r", "m")
    assert vars(state)["runtime"] == "r" and vars(state)["metrics"] == "m"  # found without __getattr__
    assert sorted(state) == ["metrics", "runtime"] and len(state) == 2
    state.runtime = "r2"
    assert (state.runtime, state["runtime"]) == ("r2", "r2")
    del state.runtime
    del state["metrics"]
    assert len(state) == 0 and "runtime" not in vars(state) and getattr(state, "metrics", None) is None
    with pytest.raises(AttributeError, match="no attribute 'runtime'"):
        _ = state.runtime


def test_the_gateway_reads_its_state_as_plain_attributes(make_client: Callable[..., TestClient]) -> None:
    client = make_client(minimal_config())
    state = client.app.state  # type: ignore[attr-defined]
    assert isinstance(state, AppState)
    assert {"runtime", "metrics", "services"} <= set(vars(state))  # what a render reads
    body = {"site": "shop", "slots": ["hero"]}
    response = client.post("/v1/render", json=body, headers={"X-Slotwise-Key": "pk_shop"})
    assert response.status_code == 200 and "hero" in response.json()["blocks"]
    assert "served_counter" in vars(state)  # set by the render path, plain as well
