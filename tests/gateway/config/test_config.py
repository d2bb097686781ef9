# SPDX-License-Identifier: Apache-2.0
"""Configuration: every error with its path; invalid files refused; failed reloads keep serving."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.cli import main
from slotwise.gateway.config.loader import ConfigError, load_config, parse_config
from slotwise.gateway.http.app import create_app
from tests.gateway.conftest import minimal_config


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    return err.value.errors


def test_unknown_segment_in_a_variant_names_the_path() -> None:
    data = minimal_config()
    data["slots"]["hero"]["variants"] += [
        {"when": "device.class == 'desktop'", "block": {"type": "banner", "title": "D"}},
        {"when": "segment('vip')", "block": {"type": "banner", "title": "V"}},
    ]
    assert errors_of(data) == ["slots.hero.variants[2].when: unknown segment 'vip' at column 1"]


def test_many_errors_are_reported_at_once() -> None:
    data = minimal_config()
    data["sites"]["shop"]["timezone"] = "Mars/Olympus"
    data["sites"]["shop"]["origins"] = ["shop.example"]
    data["segments"]["bad"] = "device.class =="
    data["slots"]["hero"]["default"] = {"type": "carousel"}
    data["slots"]["recs"] = {"default": {"type": "recommendations", "strategy": "magic", "count": 99}}
    data["slots"]["promo"] = {
        "default": {"type": "offer", "title": "x", "expires": "next week"},
        "variants": [{"when": "cart-abandoner", "block": {"type": "html", "html": "{{ x"}}],
    }
    data["bogus"] = 1
    errs = errors_of(data)
    expected = [
        "bogus: unknown key",
        "sites.shop.origins[0]: expected an origin like https://example.com",
        "sites.shop.timezone: unknown IANA time zone 'Mars/Olympus'",
        "segments.bad: unexpected 'end of expression' at column 16",
        "slots.hero.default.type: unknown block type 'carousel'",
        "slots.recs.default.strategy: unknown strategy 'magic'",
        "slots.recs.default.count: must be between 1 and 50",
        "slots.promo.default.expires: expected a date",
        "slots.promo.variants[0].when: unknown segment 'cart-abandoner'",
        "slots.promo.variants[0].block.html: template error",
    ]
    for fragment in expected:
        assert any(e.startswith(fragment) for e in errs), (fragment, errs)


def test_required_parts_and_types() -> None:
    errs = errors_of(
        {
            "sites": {"s": {"publishable_key": "k", "secret_key": "k"}},
            "slots": {"a": {"variants": "nope"}},
            "gateway": {"slot_budget_ms": "fast"},
        }
    )
    assert "sites.s.secret_key: must differ from the publishable key" in errs
    assert "slots.a.default: is required" in errs
    assert "slots.a.variants: expected list, got str" in errs
    assert "gateway.slot_budget_ms: expected float, got str" in errs


def test_segment_cycles_are_rejected() -> None:
    data = minimal_config(segments={"a": "segment('b')", "b": "segment('a') or device.bot"})
    errs = errors_of(data)
    assert any("cycle: a -> b -> a" in e for e in errs)


def test_experiment_validation() -> None:
    data = minimal_config()
    data["slots"]["hero"]["variants"] = [
        {
            "experiment": {
                "key": "k",
                "holdout": 1.5,
                "arms": [{"name": "a", "weight": 0, "block": {"type": "banner", "title": "A"}}],
            }
        }
    ]
    errs = errors_of(data)
    assert any(e.startswith("slots.hero.variants[0].experiment.holdout: must be between") for e in errs)
    assert "slots.hero.variants[0].experiment.arms: weights must add up to more than 0" in errs


def test_environment_variables_supply_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    data = minimal_config()
    data["sites"]["shop"]["secret_key"] = "${SLOTWISE_TEST_SECRET}"
    assert any("environment variable" in e for e in errors_of(copy.deepcopy(data)))
    monkeypatch.setenv("SLOTWISE_TEST_SECRET", "sk_from_env")
    assert parse_config(data).sites["shop"].secret_key == "sk_from_env"


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = tmp_path / "slotwise.yaml"
    path.write_text("sites:\n  a: [unclosed\n")
    with pytest.raises(ConfigError, match="line 3"):
        load_config(path)


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(minimal_config()))
    assert main(["check-config", str(good)]) == 0
    assert "ok: 1 site(s), 1 segment(s), 1 slot(s)" in capsys.readouterr().out
    data = minimal_config()
    data["slots"]["hero"]["variants"][0]["when"] = "vip"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["check-config", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "slots.hero.variants[0].when: unknown name 'vip' at column 1" in err
    assert main(["serve", "--config", str(bad)]) == 2


def test_failed_reload_keeps_the_old_configuration(tmp_path: Path) -> None:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config()))
    app = create_app(load_config(path), path)
    auth = {"Authorization": "Bearer sk_shop"}
    body = {"site": "shop", "slots": ["hero"]}
    with TestClient(app) as client:
        path.write_text("sites: {shop: {publishable_key: pk_shop}}\n")
        r = client.post("/v1/admin/reload", headers=auth)
        assert r.status_code == 422 and "sites.shop.secret_key: is required" in r.json()["error"]["message"]
        r = client.post("/v1/render", json=body, headers={"X-Slotwise-Key": "pk_shop"})
        assert r.status_code == 200 and "Default" in r.json()["blocks"]["hero"]["html"]
        changed = minimal_config()
        changed["slots"]["hero"]["default"]["title"] = "Reloaded"
        path.write_text(yaml.safe_dump(changed))
        assert client.post("/v1/admin/reload", headers=auth).status_code == 200
        r = client.post("/v1/render", json=body, headers={"X-Slotwise-Key": "pk_shop"})
        assert "Reloaded" in r.json()["blocks"]["hero"]["html"]


def test_template_overrides_by_file(tmp_path: Path) -> None:
    (tmp_path / "tpl" / "blocks").mkdir(parents=True)
    (tmp_path / "tpl" / "blocks" / "banner.html").write_text("<aside class='mine'>{{ block.title }}</aside>")
    data = minimal_config(gateway={"templates_dir": "tpl"})
    config = parse_config(data, base_dir=tmp_path)
    with TestClient(create_app(config)) as client:
        r = client.post("/v1/render", json={"site": "shop", "slots": ["hero"]}, headers={"X-Slotwise-Key": "pk_shop"})
    assert r.json()["blocks"]["hero"]["html"] == "<aside class='mine'>Default</aside>"
    errs = errors_of(minimal_config(gateway={"templates_dir": "missing"}))
    assert errs[0].startswith("gateway.templates_dir: no such directory")


def test_a_template_that_is_markup_says_what_template_means(tmp_path: Path) -> None:
    """Hardening 13: `template: "{{ foo"` said `cannot load template '{{ foo': {{ foo`."""
    data = minimal_config()
    data["slots"]["hero"]["default"] = {"type": "banner", "title": "T", "template": "{{ foo"}
    with pytest.raises(ConfigError) as err:
        parse_config(data, base_dir=tmp_path)
    text = str(err.value)
    assert "slots.hero.default.template: no template file '{{ foo'" in text
    assert "inline markup goes in an html block" in text


def test_store_models_and_catalog_sections_are_checked(tmp_path: Path) -> None:
    errs = errors_of(
        minimal_config(
            store={"backend": "postgres", "max_batch": 0, "rate_limit": {"per_hour": 5}},
            models={"dirr": "x", "intra_op_threads": 999},
            catalog={"path": 7},
        )
    )
    assert "store.backend: must be one of sqlite, redis, got 'postgres'" in errs
    assert "store.max_batch: must be between 1 and 100000, got 0" in errs
    assert any(e.startswith("store.rate_limit.per_hour: unknown key (expected one of: client_per_minute") for e in errs)
    assert "models.dir: is required" in errs
    assert "models.intra_op_threads: must be between 1 and 64, got 999" in errs
    assert any(e.startswith("models.dirr: unknown key (expected one of: dir, intra_op_threads") for e in errs)
    assert "catalog.path: expected str, got int" in errs


def test_a_missing_catalog_file_fails_check_config_but_not_tools_that_write_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config(catalog={"path": "items.jsonl"})))
    assert load_config(path).catalog_path == tmp_path / "items.jsonl"  # e.g. `slotwise sync` writes it
    assert main(["check-config", str(path)]) == 1
    assert f"catalog.path: no such file: {tmp_path / 'items.jsonl'}" in capsys.readouterr().err
    (tmp_path / "items.jsonl").write_text('{"id": "a", "title": "A"}\n')
    assert main(["check-config", str(path)]) == 0


def test_settings_resolve_paths_against_the_file(tmp_path: Path) -> None:
    config = parse_config(
        minimal_config(store={"path": "db/s.db", "rate_limit": {"visitor_per_minute": 10}}, models={"dir": "m"}),
        base_dir=tmp_path,
    )
    assert config.store is not None and config.store.path == tmp_path / "db" / "s.db"
    assert config.store.rate_limit["visitor_per_minute"] == 10.0
    assert config.models is not None and config.models.root(Path("/elsewhere")) == tmp_path / "m"
    assert parse_config(minimal_config(store={})).store is None  # an empty section: profiles off


def test_reload_reopens_the_store_when_its_section_changes(tmp_path: Path) -> None:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config(store={"path": "one.db"})))
    app = create_app(load_config(path), path)
    auth = {"Authorization": "Bearer sk_shop"}
    with TestClient(app) as client:
        first = app.state.services.store
        assert first.settings.path == tmp_path / "one.db"
        r = client.post("/v1/admin/reload", headers=auth)
        assert r.status_code == 200 and r.json()["applied"] == []
        assert app.state.services.store is first  # unchanged section: the same store
        path.write_text(yaml.safe_dump(minimal_config(store={"path": "two.db"}, models={"dir": "models"})))
        r = client.post("/v1/admin/reload", headers=auth)
        assert r.status_code == 200 and r.json()["applied"] == ["store", "models"]
        second = app.state.services.store
        assert second is not first and second.settings.path == tmp_path / "two.db"
        assert app.state.services.models.root == tmp_path / "models"
        events = {"site": "shop", "events": [_event()]}
        r = client.post("/v1/events", json=events, headers={"X-Slotwise-Key": "pk_shop"})
        assert r.status_code == 200 and r.json()["accepted"] == ["e1"]
        assert (tmp_path / "two.db").exists()
        path.write_text(yaml.safe_dump(minimal_config()))
        r = client.post("/v1/admin/reload", headers=auth)
        assert r.status_code == 200 and r.json()["applied"] == ["store", "models"]
        assert app.state.services.store is None and app.state.services.models is None


def test_reload_refuses_a_store_that_cannot_open(tmp_path: Path) -> None:
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(minimal_config(store={"path": "one.db"})))
    app = create_app(load_config(path), path)
    with TestClient(app) as client:
        first = app.state.services.store
        (tmp_path / "blocked").write_text("a file, not a directory")
        path.write_text(yaml.safe_dump(minimal_config(store={"path": "blocked/two.db"})))
        r = client.post("/v1/admin/reload", headers={"Authorization": "Bearer sk_shop"})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("store: cannot open")
        assert app.state.services.store is first


def _event() -> dict[str, object]:
    import datetime as dt

    now = dt.datetime.now(dt.UTC).isoformat()
    return {"event_id": "e1", "visitor_id": "v1", "type": "page_view", "ts": now}
