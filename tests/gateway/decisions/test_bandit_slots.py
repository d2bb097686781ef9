# SPDX-License-Identifier: Apache-2.0
"""Bandit variants over the real app and a real SQLite store: config checks, decisions with
their propensities, rewards through `POST /v1/events`, and the admin route showing the change."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from slotwise.gateway.blocks.page import measure_attrs
from slotwise.gateway.common.eventlog import format_ts
from slotwise.gateway.config.loader import ConfigError, parse_config
from tests.gateway.conftest import DESKTOP_UA, GOOGLEBOT_UA, IPHONE_UA, minimal_config

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
SECRET = {"Authorization": "Bearer sk_shop"}
ARMS = ["red", "green", "blue"]


def arms(names: list[str] = ARMS) -> list[dict[str, Any]]:
    return [{"name": n, "block": {"type": "banner", "title": n.title()}} for n in names]


def config(tmp_path: Path, **bandit: Any) -> dict[str, Any]:
    data = minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "events.db")})
    data["slots"]["hero"] = {
        "default": {"type": "banner", "title": "Default"},
        "variants": [{"id": "colour", "bandit": {"policy": "thompson", "arms": arms(), **bandit}}],
    }
    return data


@pytest.mark.parametrize(
    ("bandit", "message"),
    [
        ({"policy": "thompson", "arms": []}, "bandit.arms: needs at least one arm"),
        ({"policy": "softmax", "arms": arms()}, "bandit.policy: unknown policy 'softmax'"),
        ({"policy": "ucb1", "arms": arms(), "c": -1.0}, "bandit: c: must lie in [0.0, 1000000.0], got -1.0"),
        ({"policy": "thompson", "arms": arms(), "min_share": float("nan")}, "min_share: must be a finite number"),
        ({"policy": "epsilon_greedy", "arms": arms(), "epsilon": float("inf")}, "epsilon: must be a finite number"),
        ({"policy": "thompson", "arms": arms(), "prior": [1.0, -2.0]}, "prior: must lie in (0.0"),
        ({"policy": "thompson", "arms": arms(), "min_share": 0.5}, "adds up to more than 1"),
        ({"policy": "thompson", "arms": arms(), "epsilon": 0.1}, "'epsilon' is not a setting of policy thompson"),
        ({"policy": "thompson", "arms": arms(), "reward": "likes"}, "bandit.reward"),
        ({"policy": "thompson", "arms": arms(["a", "a"])}, "duplicate arm name 'a'"),
        ({"policy": "thompson", "arms": arms(["a b"])}, "bandit.arms[0].name: must be 1-64 letters"),
        ({"policy": "contextual", "arms": arms(), "keys": ["mood"]}, "unknown context key 'mood'"),
        ({"policy": "thompson", "arms": arms(), "half_life_days": 0.0}, "half_life_days: must be between"),
        ({"policy": "thompson", "arms": arms(), "discount": 0.9}, "bandit.discount: unknown key"),
        ({"policy": "thompson", "arms": [{"name": "a", "block": {"type": "nope"}}]}, "arms[0].block.type"),
    ],
)
def test_hostile_settings_are_refused_at_load_with_their_path(
    tmp_path: Path, bandit: dict[str, Any], message: str
) -> None:
    data = config(tmp_path)
    data["slots"]["hero"]["variants"][0]["bandit"] = bandit
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert any(e.startswith("slots.hero.variants[0].bandit") and message in e for e in err.value.errors), err.value


def test_keys_are_unique_across_experiments_and_bandits(tmp_path: Path) -> None:
    data = config(tmp_path, key="shared")
    data["slots"]["offer"] = {
        "default": {"type": "banner", "title": "D"},
        "variants": [{"experiment": {"key": "shared", "arms": arms(["x"])}}],
    }
    with pytest.raises(ConfigError, match="key 'shared' is used by slots 'hero' and 'offer'"):
        parse_config(data)


def render(client: TestClient, visitor: str, headers: dict[str, str] = KEY) -> dict[str, Any]:
    r = client.post("/v1/render", json={"site": "shop", "visitor_id": visitor, "slots": ["hero"]}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["blocks"]["hero"]  # type: ignore[no-any-return]


def test_each_view_gets_an_arm_with_its_propensity(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(config(tmp_path, min_share=0.05))
    seen: Counter[str] = Counter()
    for i in range(60):
        block = render(client, f"v{i}")
        exp = block["experiment"]
        assert exp["key"] == "hero" and exp["bandit"] is True and exp["arm"] in ARMS
        assert block["variant"] == f"colour:{exp['arm']}" and exp["arm"].title() in block["html"]
        assert exp["propensity"] == pytest.approx(1 / 3, abs=0.02)  # nothing learned yet
        assert block["ttl"] <= 1  # a new choice per view: no one caches it longer
        seen[exp["arm"]] += 1
    assert set(seen) == set(ARMS)
    bot = render(client, "v1", {**KEY, "User-Agent": GOOGLEBOT_UA})
    assert bot["variant"] == "default" and bot["experiment"] is None


def test_a_paused_bandit_falls_through(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(config(tmp_path, status="paused"))
    assert render(client, "v1")["variant"] == "default"


def _events(visitor: str, block: dict[str, Any], clicked: bool) -> list[dict[str, Any]]:
    exp = block["experiment"]
    props = {
        "slot": "hero",
        "variant": block["variant"],
        "experiment": exp["key"],
        "arm": exp["arm"],
        "propensity": exp["propensity"],
        **({"bucket": exp["bucket"]} if "bucket" in exp else {}),
    }
    now = time.time()
    out = [{"event_id": f"{visitor}-i", "visitor_id": visitor, "type": "impression", "ts": format_ts(now),
            "properties": props}]  # fmt: skip
    if clicked:
        out.append({"event_id": f"{visitor}-c", "visitor_id": visitor, "type": "click", "ts": format_ts(now + 1),
                    "properties": props})  # fmt: skip
    return out


def test_clicks_move_the_probabilities_within_a_second(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(config(tmp_path, min_share=0.02))
    events = []
    for i in range(90):
        block = render(client, f"v{i}")
        events += _events(f"v{i}", block, clicked=block["experiment"]["arm"] == "green")
    r = client.post("/v1/events", json={"site": "shop", "events": events}, headers=KEY)
    assert r.status_code == 200 and not r.json()["rejected"], r.text
    r = client.get("/v1/admin/bandits/hero?site=shop", headers=SECRET)
    assert r.status_code == 200, r.text
    body = r.json()
    by_arm = {a["name"]: a for a in body["arms"]}
    assert body["pulls"] == 90 and sum(a["impressions"] for a in body["arms"]) == 90
    assert by_arm["green"]["reward_sum"] == by_arm["green"]["pulls"] > 0
    assert by_arm["red"]["reward_sum"] == 0 and by_arm["green"]["mean_reward"] == 1.0
    assert by_arm["green"]["probability"] > 0.9
    time.sleep(1.1)  # the render path's copy is at most a second old
    render(client, "late")  # starts the background reload
    time.sleep(0.2)
    shares = Counter(render(client, f"w{i}")["experiment"]["arm"] for i in range(50))
    assert shares["green"] >= 40
    listed = client.get("/v1/admin/bandits?site=shop", headers=SECRET).json()["bandits"]
    assert listed == [
        {"key": "hero", "slot": "hero", "variant": "colour", "policy": "thompson", "reward": "click",
         "status": "running", "arms": ARMS}
    ]  # fmt: skip


def test_admin_route_refusals(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(config(tmp_path))
    assert client.get("/v1/admin/bandits/nope?site=shop", headers=SECRET).json()["error"]["code"] == "unknown_bandit"
    assert client.get("/v1/admin/bandits/hero?site=shop", headers=KEY).status_code == 401
    assert client.get("/v1/admin/bandits/hero", headers=SECRET).status_code == 400


def test_server_rendered_markup_carries_what_client_js_reads() -> None:
    block = {"variant": "colour:red", "experiment": {"key": "hero", "arm": "red", "propensity": 0.25,
             "bucket": "mobile", "bandit": True}, "segments": ["vip", "new"]}  # fmt: skip
    attrs = " ".join(measure_attrs(block))
    for expected in (
        'data-slotwise-variant="colour:red"',
        'data-slotwise-experiment="hero"',
        'data-slotwise-arm="red"',
        'data-slotwise-propensity="0.25"',
        'data-slotwise-bucket="mobile"',
        'data-slotwise-segments="vip,new"',
    ):
        assert expected in attrs
    assert "<" not in " ".join(measure_attrs({"variant": '"><script>', "experiment": {"key": "<k>", "arm": "&"}}))


def test_a_fetched_fragment_carries_the_bandit_data(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(config(tmp_path))
    r = client.get("/v1/slots/hero/fragment?site=shop&key=pk_shop&visitor_id=v1", headers={"User-Agent": DESKTOP_UA})
    assert r.status_code == 200
    assert r.text.startswith(
        '<div data-slotwise-rendered="hero" data-slotwise-state="ready" data-slotwise-variant="colour:'
    )
    assert 'data-slotwise-experiment="hero"' in r.text and 'data-slotwise-propensity="0.3' in r.text


def test_a_contextual_bandit_learns_per_device(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(config(tmp_path, policy="contextual", keys=["device"], min_share=0.02))
    phone = {**KEY, "User-Agent": IPHONE_UA}
    events = []
    for i in range(240):  # rewards arrive after all views: the shares stay even meanwhile
        headers, best = (phone, "red") if i % 2 else (KEY, "blue")
        block = render(client, f"c{i}", headers)
        assert block["experiment"]["bucket"] == ("mobile" if i % 2 else "desktop")
        events += _events(f"c{i}", block, clicked=block["experiment"]["arm"] == best)
    assert not client.post("/v1/events", json={"site": "shop", "events": events}, headers=KEY).json()["rejected"]
    body = client.get("/v1/admin/bandits/hero?site=shop", headers=SECRET).json()
    buckets = {name: {a["name"]: a["probability"] for a in b["arms"]} for name, b in body["buckets"].items()}
    assert set(buckets) == {"desktop", "mobile"}
    assert max(buckets["mobile"], key=buckets["mobile"].__getitem__) == "red"
    assert max(buckets["desktop"], key=buckets["desktop"].__getitem__) == "blue"
    assert body["pulls"] == 240


@pytest.mark.parametrize("propensity", [0, -0.5, 1.5, "0.3", None, True])
def test_an_impression_with_a_bad_propensity_is_rejected(
    make_client: Callable[..., TestClient], tmp_path: Path, propensity: Any
) -> None:
    client = make_client(config(tmp_path))
    props = {"slot": "hero", "variant": "colour:red", "experiment": "hero", "arm": "red", "propensity": propensity}
    event = {"event_id": "bad-1", "visitor_id": "v1", "type": "impression", "ts": format_ts(time.time()),
             "properties": props}  # fmt: skip
    r = client.post("/v1/events", json={"site": "shop", "events": [event]}, headers=KEY)
    assert r.status_code == 200, r.text
    rejected = r.json()["rejected"]
    assert len(rejected) == 1 and "propensity" in str(rejected[0])


def test_bots_and_visitors_without_consent_never_update_a_bandit(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(config(tmp_path))
    block = render(client, "human")
    events = _events("crawler", block, clicked=True)
    r = client.post("/v1/events", json={"site": "shop", "events": events}, headers={**KEY, "User-Agent": GOOGLEBOT_UA})
    assert r.status_code == 200
    for consent in ("none", "anonymous"):  # anonymous: aggregates only, no state to attribute a reward to
        events = _events(f"visitor-{consent}", block, clicked=True)
        r = client.post("/v1/events", json={"site": "shop", "events": events, "consent": consent}, headers=KEY)
        assert r.status_code == 200 and not r.json()["rejected"], r.text
    body = client.get("/v1/admin/bandits/hero?site=shop", headers=SECRET).json()
    assert body["pulls"] == 0 and all(a["reward_sum"] == 0 for a in body["arms"])
    r = client.post("/v1/events", json={"site": "shop", "events": _events("human", block, True)}, headers=KEY)
    assert r.status_code == 200 and not r.json()["rejected"]
    assert client.get("/v1/admin/bandits/hero?site=shop", headers=SECRET).json()["pulls"] == 1  # the test can fail
