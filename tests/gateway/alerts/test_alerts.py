# SPDX-License-Identifier: Apache-2.0
"""Alerts end to end in one app: real events in a real SQLite store, rules judged by the app's
alerter, notices to a real local webhook receiver and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import importlib.util
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.alerts.channels import Alert, deliver, webhook_body
from slotwise.gateway.alerts.cli import main as alerts_cli
from slotwise.gateway.config.loader import ConfigError, parse_config
from slotwise.gateway.ops.alerts import raise_alert
from slotwise.gateway.visitors.events import format_ts
from tests.conftest import need
from tests.gateway.alerts.receivers import Hook, smtp_server, webhook_receiver
from tests.gateway.conftest import DESKTOP_UA, minimal_config

KEY = {"X-Slotwise-Key": "pk_shop", "User-Agent": DESKTOP_UA}
RULE = {"name": "hero-ctr", "kind": "kpi", "metric": "ctr", "slot": "hero", "below": 0.2, "min_volume": 10}


@pytest.fixture
def hook() -> Iterator[Hook]:
    with webhook_receiver() as receiver:
        yield receiver


def alerts_config(tmp_path: Path, hook: Hook, **alerts: Any) -> dict[str, Any]:
    section = {"every_seconds": 3600, "webhooks": [{"url": hook.url}], "rules": [RULE], **alerts}
    return minimal_config(store={"backend": "sqlite", "path": str(tmp_path / "events.db")}, alerts=section)


def post(client: TestClient, etype: str, n: int, ago: float = 5.0) -> None:
    events = [
        {
            "event_id": uuid.uuid4().hex,
            "visitor_id": f"v{i}",
            "type": etype,
            "ts": format_ts(time.time() - ago),
            "properties": {"slot": "hero", "variant": "m"},
        }
        for i in range(n)
    ]
    r = client.post("/v1/events", json={"site": "shop", "events": events}, headers=KEY)
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def evaluate(client: TestClient) -> list[Alert]:
    return client.portal.call(client.app.state.alerter.evaluate)  # type: ignore[attr-defined,union-attr]


def test_a_ctr_drop_fires_once_and_recovers_once(
    make_client: Callable[..., TestClient], tmp_path: Path, hook: Hook
) -> None:
    client = make_client(alerts_config(tmp_path, hook))
    post(client, "impression", 5)
    assert evaluate(client) == [] and hook.bodies == []  # 5 impressions: below min_volume, no verdict
    post(client, "impression", 15)
    for _ in range(3):  # CTR 0 over 20 impressions: fires, and only once
        evaluate(client)
    assert hook.states() == [("hero-ctr", "firing")]
    body = hook.bodies[0]
    assert body["text"].startswith(":rotating_light: [slotwise] FIRING hero-ctr: ctr of hero is 0")
    assert body["alert"]["fields"]["volume"] == 20 and body["alert"]["fields"]["value"] == 0
    assert "hero-ctr" in client.app.state.alerter.firing  # type: ignore[attr-defined]
    post(client, "click", 10)
    for _ in range(3):  # CTR 0.5: one recovery
        evaluate(client)
    assert hook.states() == [("hero-ctr", "firing"), ("hero-ctr", "resolved")]
    assert "back to normal" in hook.bodies[1]["text"]
    assert client.app.state.alerter.firing == {}  # type: ignore[attr-defined]


def test_a_fall_against_the_trailing_baseline_fires(
    make_client: Callable[..., TestClient], tmp_path: Path, hook: Hook
) -> None:
    rule = {"name": "hero-drop", "kind": "kpi", "metric": "ctr", "slot": "hero", "drop": 0.5, "min_volume": 10}
    client = make_client(alerts_config(tmp_path, hook, rules=[rule]))
    for days_ago in range(1, 8):  # a steady week: CTR 0.3
        post(client, "impression", 10, ago=days_ago * 86400.0)
        post(client, "click", 3, ago=days_ago * 86400.0)
    post(client, "impression", 20)
    post(client, "click", 5)  # today 0.25: within half of the baseline
    evaluate(client)
    assert hook.bodies == []
    post(client, "impression", 80)  # today 5 / 100 = 0.05: 83 % below
    evaluate(client)
    assert hook.states() == [("hero-drop", "firing")]
    assert "83% below its 7-day baseline 0.3" in hook.bodies[0]["text"]
    assert hook.bodies[0]["alert"]["fields"]["baseline"] == 0.3


def test_health_rules_fire_from_this_processs_renders(
    make_client: Callable[..., TestClient], tmp_path: Path, hook: Hook
) -> None:
    rules = [
        {"name": "fallbacks", "kind": "fallback_rate", "above": 0.1, "min_renders": 5},
        {"name": "slow", "kind": "render_p99", "above_ms": 0.01, "min_renders": 5},
    ]
    broken = tmp_path / "templates" / "blocks"
    broken.mkdir(parents=True)
    (broken / "offer.html").write_text("{{ 1 // 0 }}")  # every offer block fails: its slot falls back
    data = alerts_config(tmp_path, hook, rules=rules)
    data["gateway"] = {"templates_dir": "templates"}
    data["slots"]["deal"] = {
        "default": {"type": "banner", "title": "D"},
        "variants": [{"block": {"type": "offer", "title": "x"}}],
    }
    client = make_client(data)
    for _ in range(10):
        body = {"site": "shop", "visitor_id": "x", "slots": ["hero", "deal"]}
        r = client.post("/v1/render", json=body, headers=KEY)
        assert r.status_code == 200 and r.json()["blocks"]["deal"]["fallback"] == "error"
    evaluate(client)
    assert sorted(hook.states()) == [("fallbacks", "firing"), ("slow", "firing")]
    texts = [b["text"] for b in hook.bodies]
    assert any("fallback rate 50.0% over the last 20 slots rendered (limit 10.0%)" in t for t in texts), texts
    evaluate(client)  # no renders since: no verdict, no notice
    assert len(hook.bodies) == 2


def test_email_goes_through_a_real_smtp_server(tmp_path: Path, hook: Hook) -> None:
    need(importlib.util.find_spec("aiosmtpd") is not None, "aiosmtpd (the dev extra)")
    with smtp_server() as box:
        email = {"host": "127.0.0.1", "port": box.port, "sender": "gw@shop.example", "to": ["ops@shop.example"]}
        config = parse_config(alerts_config(tmp_path, hook, email=email))
        assert config.alerts is not None
        alert = Alert("kpi", "hero-ctr", "firing", "ctr of hero is 0.01", {"value": 0.01, "slot": "hero"})
        results = asyncio.run(deliver(config.alerts, alert))
        assert list(results.values()) == [None, None], results
    (sender, rcpt, message), *_ = box.messages
    assert sender == "gw@shop.example" and rcpt == ["ops@shop.example"]
    assert message["Subject"] == "[slotwise] FIRING hero-ctr: ctr of hero is 0.01"
    assert "value: 0.01" in message.get_payload() and "slot: hero" in message.get_payload()
    assert hook.states() == [("hero-ctr", "firing")]


def test_alerts_test_command_reaches_every_channel_and_names_a_broken_one(
    tmp_path: Path, hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    need(importlib.util.find_spec("aiosmtpd") is not None, "aiosmtpd (the dev extra)")
    path = tmp_path / "slotwise.yaml"
    with smtp_server() as box:
        email = {"host": "127.0.0.1", "port": box.port, "sender": "gw@shop.example", "to": ["ops@shop.example"]}
        path.write_text(yaml.safe_dump(alerts_config(tmp_path, hook, email=email)))
        assert alerts_cli(["alerts", "test", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"webhook 1 (http://127.0.0.1:{hook.url.split(':')[2].split('/')[0]}): sent" in out
    assert "secret" not in out  # a webhook's path is its secret
    assert len(box.messages) == 1 and hook.states() == [("test", "test")]
    hook.status = 500
    assert alerts_cli(["alerts", "test", "--config", str(path)]) == 1
    assert "webhook 1" in capsys.readouterr().out.split("FAILED")[0]


def test_raise_alert_reaches_the_channels_of_the_running_gateway(
    make_client: Callable[..., TestClient], tmp_path: Path, hook: Hook
) -> None:
    raise_alert("retrain_failed", "no gateway yet")  # logged and counted only: nothing to send it
    client = make_client(alerts_config(tmp_path, hook))
    metrics = client.app.state.metrics  # type: ignore[attr-defined]
    raise_alert("retrain_failed", "candidate recs/v7 refused", metrics, bundle="recs", ndcg=0.12)
    raise_alert("retrain_failed", "candidate recs/v7 refused", metrics, bundle="recs")  # the same: sent once
    deadline = time.monotonic() + 5
    while not hook.bodies and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert hook.states() == [("retrain_failed", "raised")]
    assert hook.bodies[0]["alert"]["fields"] == {"bundle": "recs", "ndcg": 0.12}
    assert metrics.alerts.labels("retrain_failed")._value.get() == 2
    recent = client.app.state.alerter.recent  # type: ignore[attr-defined]
    assert [a.state for a in recent] == ["raised"]
    client.__exit__(None, None, None)
    raise_alert("retrain_failed", "after the gateway stopped")  # its hook is gone
    time.sleep(0.2)
    assert len(hook.bodies) == 1


def test_the_payload_is_what_slack_reads() -> None:
    body = webhook_body(Alert("srm", "srm/offer", "resolved", "back", {"p": 0.2}))
    assert set(body) == {"text", "alert"} and isinstance(body["text"], str)
    assert body["alert"]["state"] == "resolved" and body["alert"]["fields"] == {"p": 0.2}


@pytest.mark.parametrize(
    ("alerts", "error"),
    [
        (
            {"rules": [{"name": "a", "kind": "kpi", "metric": "ctr", "below": 0.1}]},
            "alerts.rules[0]: metric ctr needs a slot",
        ),
        (
            {"rules": [{"name": "a", "kind": "kpi", "metric": "ctr", "slot": "nope", "below": 0.1}]},
            "alerts.rules[0].slot: unknown slot 'nope'",
        ),
        (
            {"rules": [{"name": "a", "kind": "kpi", "metric": "ctr", "slot": "hero"}]},
            "alerts.rules[0]: a kpi rule needs below",
        ),
        ({"rules": [{"name": "a", "kind": "srm", "above": 0.1}]}, "alerts.rules[0]: a srm rule does not read above"),
        (
            {"rules": [{"name": "a", "kind": "srm", "experiment": "x"}]},
            "alerts.rules[0].experiment: unknown experiment 'x'",
        ),
        ({"rules": [{"name": "a", "kind": "fallback_rate", "above": 2}]}, "alerts.rules[0].above: must be <= 1"),
        ({"rules": [{"name": "a", "kind": "render_p99"}]}, "alerts.rules[0]: a render_p99 rule needs above_ms"),
        ({"rules": [{"name": "a", "kind": "nope"}]}, "alerts.rules[0].kind: must be one of"),
        ({"webhooks": [{"url": "ftp://x"}]}, "alerts.webhooks[0].url: expected an http:// or https:// URL"),
        ({"email": {"host": "h", "sender": "bad", "to": ["a@b"]}}, "alerts.email.sender: expected an e-mail address"),
        ({"email": {"host": "h", "sender": "a@b", "to": []}}, "alerts.email.to: needs at least 1"),
        ({"every_seconds": 0}, "alerts.every_seconds: must be between 1 and 86400"),
        ({"pager": {}}, "alerts.pager: unknown key (expected one of: email, every_seconds, rules, webhooks)"),
    ],
)
def test_bad_alert_settings_are_errors_by_path(alerts: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(minimal_config(alerts=alerts))
    assert any(e.startswith(error) for e in exc.value.errors), exc.value.errors


def test_duplicate_rule_names_are_refused() -> None:
    rule = {"name": "a", "kind": "render_p99", "above_ms": 5}
    with pytest.raises(ConfigError) as exc:
        parse_config(minimal_config(alerts={"rules": [rule, rule]}))
    assert exc.value.errors == ["alerts.rules: rule names must be unique: a"]


def test_replicas_on_one_redis_send_one_notice_between_them(make_client: Callable[..., TestClient], hook: Hook) -> None:
    from tests.procs import redis_up

    need(redis_up("redis://127.0.0.1:6379/0"), "a Redis server on 127.0.0.1:6379")
    prefix = f"swtest-alerts-{uuid.uuid4().hex[:8]}:"
    store = {"backend": "redis", "url": "redis://127.0.0.1:6379/0", "prefix": prefix}
    section = {"every_seconds": 3600, "webhooks": [{"url": hook.url}], "rules": [RULE]}
    replicas = [make_client(minimal_config(store=store, alerts=section)) for _ in range(2)]
    try:
        post(replicas[0], "impression", 20)
        for _ in range(2):
            for replica in replicas:  # both judge the same shared counters
                evaluate(replica)
        assert hook.states() == [("hero-ctr", "firing")]
        assert all("hero-ctr" in r.app.state.alerter.firing for r in replicas)  # type: ignore[attr-defined]
        post(replicas[1], "click", 10)
        for replica in reversed(replicas):
            evaluate(replica)
        assert hook.states() == [("hero-ctr", "firing"), ("hero-ctr", "resolved")]
    finally:
        import redis

        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)


def test_alerts_rules_lists_them_and_a_missing_section_is_a_clear_error(
    tmp_path: Path, hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(alerts_config(tmp_path, hook)))
    assert alerts_cli(["alerts", "rules", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hero-ctr: kind=kpi, metric=ctr, slot=hero, below=0.2, min_volume=10" in out
    assert "1 rule(s), judged every 3600 s" in out
    path.write_text(yaml.safe_dump(minimal_config()))
    assert alerts_cli(["alerts", "test", "--config", str(path)]) == 2
    assert "has no alert channels" in capsys.readouterr().err
    path.write_text("alerts: {rules: [{name: a, kind: kpi}]}\n" + yaml.safe_dump(minimal_config()))
    assert alerts_cli(["alerts", "test", "--config", str(path)]) == 2
    assert "alerts.rules[0]: a kpi rule needs metric" in capsys.readouterr().err
