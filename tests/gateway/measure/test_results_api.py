# SPDX-License-Identifier: Apache-2.0
"""The results and KPI routes over the real app, a real SQLite store and real events."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from slotwise.gateway.decisions.experiments import assign
from slotwise.gateway.visitors.events import format_ts
from tests.gateway.conftest import DESKTOP_UA, minimal_config

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
SECRET = {"Authorization": "Bearer sk_shop"}
URL = "/v1/admin/experiments/offer-2026/results?site=shop"


def experiment(arms: int = 2, **extra: Any) -> dict[str, Any]:
    names = ["control", "B", *[f"arm{i}" for i in range(arms - 2)]][:arms]
    return {
        "key": "offer-2026",
        "arms": [{"name": n, "weight": 1, "block": {"type": "banner", "title": n}} for n in names],
        **extra,
    }


@pytest.fixture
def make(make_client: Callable[..., TestClient], tmp_path: Path) -> Callable[..., TestClient]:
    def build(arms: int = 2, **extra: Any) -> TestClient:
        data = minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "events.db"), "max_batch": 500})
        data["slots"]["offer"] = {
            "default": {"type": "banner", "title": "Default"},
            "variants": [{"id": "exp", "experiment": experiment(arms, **extra)}],
        }
        return make_client(data)

    return build


def _no_nan(text: str) -> None:
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def _visit(client: TestClient, visitor: str, buy: float | None, offset: float = -60.0) -> str:
    r = client.post("/v1/render", json={"site": "shop", "visitor_id": visitor, "slots": ["offer"]}, headers=KEY)
    block = r.json()["blocks"]["offer"]
    props = {
        "slot": "offer",
        "variant": block["variant"],
        "experiment": block["experiment"]["key"],
        "arm": block["experiment"]["arm"],
    }
    events = [
        {
            "event_id": f"{visitor}-i",
            "visitor_id": visitor,
            "type": "impression",
            "ts": format_ts(time.time() + offset),
            "properties": props,
        }
    ]
    if buy is not None:
        events.append(
            {
                "event_id": f"{visitor}-p",
                "visitor_id": visitor,
                "type": "purchase",
                "value": buy,
                "currency": "EUR",
                "ts": format_ts(time.time() + offset + 30),
            }
        )
    r = client.post("/v1/events", json={"site": "shop", "events": events}, headers=KEY)
    assert r.status_code == 200 and not r.json()["rejected"], r.text
    return str(block["experiment"]["arm"])


def test_results_come_from_the_live_counters(make: Callable[..., TestClient]) -> None:
    client = make()
    arms: dict[str, list[float]] = {"control": [], "B": []}
    for i in range(240):
        value = 20.0 + i % 7 if i % 5 == 0 else None
        arm = _visit(client, f"vis{i}", value)
        arms[arm].append(value or 0.0)
    r = client.get(URL, headers=SECRET)
    assert r.status_code == 200, r.text
    _no_nan(r.text)
    body = r.json()
    by_name = {a["name"]: a for a in body["arms"]}
    for name, values in arms.items():
        assert by_name[name]["n"] == len(values)
        assert by_name[name]["impressions"] == len(values)
    revenue = {a["name"]: a for a in body["metrics"]["revenue"]["arms"]}
    for name, values in arms.items():
        assert revenue[name]["mean"] == pytest.approx(sum(values) / len(values))
    conversion = {a["name"]: a for a in body["metrics"]["conversion"]["arms"]}
    assert conversion["B"]["p_value"] is not None and 0 <= conversion["B"]["p_value"] <= 1
    assert body["srm_p_value"] is not None and body["verdict"]["decision"]
    assert body["holdout"]["n"] == 0
    # The arm each visitor landed in is the deterministic assignment the gateway serves.
    from slotwise.gateway.config.loader import Arm, Experiment

    exp = Experiment("offer-2026", 0.0, (Arm("control", 1, {}), Arm("B", 1, {})))
    assert sum(1 for i in range(240) if (assign(exp, f"vis{i}") or Arm("x", 0, {})).name == "B") == len(arms["B"])

    kpis = client.get("/v1/admin/kpis?site=shop&slot=offer", headers=SECRET)
    assert kpis.status_code == 200
    _no_nan(kpis.text)
    totals = {(t["slot"], t["variant"]): t for t in kpis.json()["totals"] if t["segment"] is None}
    assert totals[("offer", "exp:B")]["counters"]["impressions"] == len(arms["B"])
    assert totals[(None, None)]["counters"]["revenue"] == pytest.approx(sum(arms["B"]) + sum(arms["control"]))
    assert totals[(None, None)]["aov"] == pytest.approx(
        (sum(arms["B"]) + sum(arms["control"])) / sum(1 for v in arms["B"] + arms["control"] if v)
    )


def test_refusals_are_clear_4xx(make: Callable[..., TestClient]) -> None:
    client = make()
    assert client.get("/v1/admin/experiments/nope/results?site=shop", headers=SECRET).status_code == 404
    empty = client.get(URL, headers=SECRET)
    assert empty.status_code == 409 and "no assigned visitors" in empty.json()["error"]["message"]
    assert [a["n"] for a in empty.json()["error"]["arms"]] == [0, 0]
    _visit(client, "a1", None)
    for bad in ("alpha=-1", "alpha=abc", "engine=magic", "metric=nope", "sequential=maybe", "min_sample=-3"):
        r = client.get(URL + "&" + bad, headers=SECRET)
        assert r.status_code in (400, 409), (bad, r.text)
    assert client.get(URL, headers={"Authorization": "Bearer pk_shop"}).status_code == 403
    assert client.get("/v1/admin/experiments/offer-2026/results?site=other", headers=SECRET).status_code == 403
    assert client.get(URL.split("?")[0], headers=SECRET).status_code == 400
    assert client.get("/v1/admin/kpis?site=shop&from=2026-13-01", headers=SECRET).status_code == 400
    assert client.get("/v1/admin/kpis?site=shop&from=2026-02-01&to=2026-01-01", headers=SECRET).status_code == 400
    assert client.get("/v1/admin/kpis?site=shop&from=2000-01-01&to=2026-01-01", headers=SECRET).status_code == 400
    negative = {"event_id": "neg", "visitor_id": "a1", "type": "purchase", "value": -5, "ts": format_ts(time.time())}
    r = client.post("/v1/events", json={"site": "shop", "events": [negative]}, headers=KEY)
    assert r.json()["rejected"][0]["reason"].startswith("'value' of a purchase must not be negative")


def test_too_many_arms_is_refused(make: Callable[..., TestClient]) -> None:
    client = make(arms=101)
    r = client.get(URL, headers=SECRET)
    assert r.status_code == 422 and "at most 100" in r.json()["error"]["message"]


def test_anonymous_consent_counts_without_assignment(make: Callable[..., TestClient]) -> None:
    client = make()
    event = {
        "event_id": "x1",
        "visitor_id": "anon",
        "type": "impression",
        "ts": format_ts(time.time() - 5),
        "properties": {"slot": "offer", "variant": "exp:B", "experiment": "offer-2026", "arm": "B"},
    }
    r = client.post("/v1/events", json={"site": "shop", "consent": "anonymous", "events": [event]}, headers=KEY)
    assert r.json()["ignored"]["event_ids"] == ["x1"]
    r = client.post(
        "/v1/events", json={"site": "shop", "consent": "none", "events": [{**event, "event_id": "x2"}]}, headers=KEY
    )
    totals = client.get("/v1/admin/kpis?site=shop", headers=SECRET).json()["totals"]
    offer = next(t for t in totals if t["variant"] == "exp:B" and t["segment"] is None)
    assert offer["counters"]["impressions"] == 1.0  # x1 counted, x2 (consent none) not
    assert "visitors" not in offer["counters"]
    assert client.get(URL, headers=SECRET).status_code == 409  # no visitor was assigned


def test_renders_count_served_impressions_and_the_assignment(make: Callable[..., TestClient]) -> None:
    client = make()
    body = {"site": "shop", "visitor_id": "srv1", "slots": ["offer"]}
    arm = client.post("/v1/render", json=body, headers=KEY).json()["blocks"]["offer"]["experiment"]["arm"]
    time.sleep(1.05)  # the counter flushes at most once a second
    client.post("/v1/render", json={**body, "visitor_id": "srv2"}, headers=KEY)
    deadline = time.time() + 5
    while time.time() < deadline:
        r = client.get("/v1/admin/kpis?site=shop&slot=offer", headers=SECRET)
        served = sum(t["counters"].get("served", 0) for t in r.json()["totals"] if t["segment"] is None)
        if served >= 1:
            break
        time.sleep(0.05)
    assert served >= 1
    visitor = client.get("/v1/visitors/srv1?site=shop", headers=SECRET).json()
    served_events = [e for e in visitor["events"] if (e.get("properties") or {}).get("kind") == "served"]
    assert served_events and served_events[0]["properties"]["arm"] == arm
    assert not math.isnan(served)


def test_report_cli_prints_the_results_as_a_table(
    make: Callable[..., TestClient], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from slotwise.gateway.experiments.cli import main

    client = make()
    for i in range(30):
        _visit(client, f"cli{i}", 10.0 if i % 3 == 0 else None)
    data = minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "events.db")})
    data["slots"]["offer"] = {
        "default": {"type": "banner", "title": "Default"},
        "variants": [{"id": "exp", "experiment": experiment()}],
    }
    config = tmp_path / "slotwise.yaml"
    config.write_text(yaml.safe_dump(data))
    assert main(["experiments", "report", "--site", "shop", "--key", "offer-2026", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    api = client.get(URL, headers=SECRET).json()
    assert f"control n={api['arms'][0]['n']}" in out and "revenue" in out and "verdict (conversion)" in out
    assert main(["experiments", "report", "--site", "shop", "--key", "nope", "--config", str(config)]) == 2
    assert "no experiment with key 'nope'" in capsys.readouterr().err


def test_stopping_keeps_the_results(make: Callable[..., TestClient], make_client: Callable[..., TestClient]) -> None:
    client = make()
    for i in range(20):
        _visit(client, f"st{i}", 5.0 if i % 2 else None)
    running = client.get(URL, headers=SECRET).json()
    client.close()
    stopped = make(status="stopped", winner="B")
    body = {"site": "shop", "visitor_id": "late", "slots": ["offer"]}
    block = stopped.post("/v1/render", json=body, headers=KEY).json()["blocks"]["offer"]
    assert block["variant"] == "exp:B" and block["experiment"] is None
    after = stopped.get(URL, headers=SECRET).json()
    assert after["status"] == "stopped" and after["winner"] == "B"
    assert [a["n"] for a in after["arms"]] == [a["n"] for a in running["arms"]]


def test_control_holdout_compares_every_arm_with_the_holdout(make: Callable[..., TestClient]) -> None:
    client = make(arms=1, holdout=0.5)
    bought: dict[str, list[float]] = {"control": [], "holdout": []}
    for i in range(200):
        arm = _visit(client, f"h{i}", 30.0 if i % 3 == 0 else None)
        bought[arm].append(1.0 if i % 3 == 0 else 0.0)
    # One arm and no control=holdout: nothing to compare.
    assert client.get(URL, headers=SECRET).json()["error"]["code"] == "single_arm"
    r = client.get(URL + "&control=holdout", headers=SECRET)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["control"] == "holdout" and body["holdout"]["n"] == len(bought["holdout"])
    rows = body["metrics"]["conversion"]["arms"]
    assert [row["name"] for row in rows] == ["holdout", "control"]
    for row in rows:
        assert row["n"] == len(bought[row["name"]])
        assert row["mean"] == pytest.approx(sum(bought[row["name"]]) / len(bought[row["name"]]))
    assert rows[1]["ci"] is not None and body["srm_p_value"] is not None
    refused = client.get(URL + "&control=nobody", headers=SECRET)
    assert refused.status_code == 400 and "control" in refused.json()["error"]["message"]


def test_control_holdout_needs_a_holdout(make: Callable[..., TestClient]) -> None:
    client = make()
    r = client.get(URL + "&control=holdout", headers=SECRET)
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_holdout"
