# SPDX-License-Identifier: Apache-2.0
"""Slots authored in a CMS: published through PUT /v1/admin/slots/{slot}, versioned, rendered,
refused with the variant and column at fault, retired, and seen by every replica."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from slotwise.gateway.config.loader import load_config
from slotwise.gateway.http.app import create_app
from slotwise.gateway.studio.store import open_studio_store
from tests.gateway.conftest import DESKTOP_UA, IPHONE_UA, minimal_config

SECRET = {"Authorization": "Bearer sk_shop"}


def html(text: str) -> dict[str, str]:
    return {"type": "html", "html": text}


AUTHORED: dict[str, Any] = {
    "source": "wordpress:post/12",
    "description": "Hero of post 12",
    "variants": [
        {"id": "mobile", "when": "device.class == 'mobile'", "block": html("<p>Phone hero</p>")},
        {"id": "desktop", "when": "device.class == 'desktop'", "block": html("<p>Desktop hero</p>")},
    ],
    "default": html("<p>Everyone else</p>"),
}


def write_config(path: Path, **overrides: Any) -> Path:
    path.write_text(yaml.safe_dump(minimal_config(**overrides), sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path / "slotwise.yaml", store={"backend": "sqlite", "path": "visitors.db"})


@pytest.fixture
def client(config_file: Path) -> Iterator[TestClient]:
    with TestClient(create_app(load_config(config_file, check_files=True), config_file)) as c:
        yield c


def render(client: TestClient, slot: str, ua: str) -> dict[str, Any]:
    r = client.post(
        "/v1/render",
        json={"site": "shop", "slots": [slot], "context": {"user_agent": ua}},
        headers={"X-Slotwise-Key": "pk_shop", "Origin": "https://shop.example"},
    )
    if r.status_code == 404:  # the only slot asked for is not configured
        assert r.json()["error"]["code"] == "unknown_slot", r.text
        return {"blocks": {}, "errors": {slot: r.json()["error"]}}
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_published_slot_renders_per_device_and_is_a_config_version(client: TestClient, config_file: Path) -> None:
    r = client.put("/v1/admin/slots/wp-12-hero", json=AUTHORED, headers=SECRET)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "published" and body["variants"] == ["mobile", "desktop"]
    assert render(client, "wp-12-hero", IPHONE_UA)["blocks"]["wp-12-hero"]["variant"] == "mobile"
    desktop = render(client, "wp-12-hero", DESKTOP_UA)["blocks"]["wp-12-hero"]
    assert desktop["variant"] == "desktop" and "Desktop hero" in desktop["html"]
    on_disk = yaml.safe_load(config_file.read_text())["slots"]["wp-12-hero"]
    assert on_disk["authored"] == {"site": "shop", "source": "wordpress:post/12"}
    studio = open_studio_store(load_config(config_file), config_file)
    try:
        newest = studio.versions(1)[0]
        assert newest["number"] == body["version"] and "publish authored slot wp-12-hero" in newest["message"]
        assert "+    - id: mobile" in newest["diff"] or "id: mobile" in newest["diff"]
    finally:
        studio.close()
    again = client.put("/v1/admin/slots/wp-12-hero", json=AUTHORED, headers=SECRET)
    assert again.json()["status"] == "unchanged" and again.json()["version"] is None


def test_an_invalid_condition_names_its_variant_and_column_and_changes_nothing(
    client: TestClient, config_file: Path
) -> None:
    before = config_file.read_text()
    bad = {**AUTHORED, "variants": [AUTHORED["variants"][0], {**AUTHORED["variants"][1], "when": "device.clas == 'x'"}]}
    r = client.put("/v1/admin/slots/wp-12-hero", json=bad, headers=SECRET)
    assert r.status_code == 422, r.text
    details = r.json()["error"]["details"]
    assert details == [
        {
            "path": "slots.wp-12-hero.variants[1].when",
            "field": "when",
            "message": "unknown name 'device.clas' at column 1",
            "index": 1,
            "variant": "desktop",
            "column": 1,
        }
    ]
    assert "desktop" in r.json()["error"]["message"]
    assert config_file.read_text() == before
    assert "wp-12-hero" in render(client, "wp-12-hero", DESKTOP_UA)["errors"]
    late = {**AUTHORED, "variants": [{"id": "m", "when": "device.class == ", "block": html("x")}]}
    detail = client.put("/v1/admin/slots/wp-12-hero", json=late, headers=SECRET).json()["error"]["details"][0]
    assert (detail["variant"], detail["column"]) == ("m", 17)
    block = {**AUTHORED, "default": {"type": "html", "html": "{{ broken"}}
    detail = client.put("/v1/admin/slots/wp-12-hero", json=block, headers=SECRET).json()["error"]["details"][0]
    assert detail["field"] == "default.html" and "index" not in detail


def test_an_experiment_split_is_accepted_and_assigns_an_arm(client: TestClient) -> None:
    split = {
        "default": html("<p>Control</p>"),
        "variants": [
            {
                "id": "split",
                "experiment": {
                    "key": "wp-12-split",
                    "arms": [{"name": "a", "block": html("<p>A</p>")}, {"name": "b", "block": html("<p>B</p>")}],
                },
            }
        ],
    }
    assert client.put("/v1/admin/slots/wp-12-split", json=split, headers=SECRET).status_code == 200
    block = render(client, "wp-12-split", DESKTOP_UA)["blocks"]["wp-12-split"]
    assert block["experiment"]["key"] == "wp-12-split" and block["experiment"]["arm"] in {"a", "b"}


def test_slots_of_the_file_are_never_replaced_or_retired(client: TestClient) -> None:
    put = client.put("/v1/admin/slots/hero", json=AUTHORED, headers=SECRET)
    assert put.status_code == 409 and put.json()["error"]["code"] == "not_authored"
    delete = client.delete("/v1/admin/slots/hero", headers=SECRET)
    assert delete.status_code == 409
    assert render(client, "hero", IPHONE_UA)["blocks"]["hero"]["variant"] == "m"


def test_retire_removes_the_slot_and_a_second_retire_is_404(client: TestClient) -> None:
    assert client.put("/v1/admin/slots/wp-12-hero", json=AUTHORED, headers=SECRET).status_code == 200
    gone = client.delete("/v1/admin/slots/wp-12-hero", headers=SECRET)
    assert gone.status_code == 200 and gone.json()["status"] == "retired"
    assert "wp-12-hero" in render(client, "wp-12-hero", DESKTOP_UA)["errors"]
    assert client.delete("/v1/admin/slots/wp-12-hero", headers=SECRET).status_code == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer pk_shop"}, 403), ({"Authorization": "Bearer nope"}, 403)],
)
def test_authoring_needs_the_secret_key(client: TestClient, headers: dict[str, str], status: int) -> None:
    assert client.put("/v1/admin/slots/wp-1", json=AUTHORED, headers=headers).status_code == status
    assert client.delete("/v1/admin/slots/wp-1", headers=headers).status_code == status
    assert client.get("/v1/admin/names", headers=headers).status_code == status


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/v1/admin/slots/bad.name", AUTHORED, "invalid_slot_name"),
        ("/v1/admin/slots/wp-1", [1], "invalid_request"),
        ("/v1/admin/slots/wp-1", {**AUTHORED, "site": "x"}, "invalid_request"),
        ("/v1/admin/slots/wp-1", {**AUTHORED, "variants": {}}, "invalid_request"),
        ("/v1/admin/slots/wp-1", {**AUTHORED, "source": 5}, "invalid_request"),
    ],
)
def test_malformed_bodies_are_400(client: TestClient, path: str, body: Any, code: str) -> None:
    r = client.put(path, json=body, headers=SECRET)
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text


def test_names_for_pickers_list_segments_and_context_names(client: TestClient) -> None:
    client.put("/v1/admin/slots/wp-12-hero", json=AUTHORED, headers=SECRET)
    names = client.get("/v1/admin/names", headers=SECRET).json()
    assert {"name": "mobile", "description": ""} in names["segments"]
    listed = {n["name"] for n in names["names"]}
    assert {"device.class", "geo.country", "utm.source", "referrer.host"} <= listed, sorted(listed)
    assert names["authored"] == ["wp-12-hero"]


def test_a_gateway_without_a_config_file_answers_409(tmp_path: Path) -> None:
    from slotwise.gateway.config.loader import parse_config

    with TestClient(create_app(parse_config(minimal_config()))) as c:
        r = c.put("/v1/admin/slots/wp-1", json=AUTHORED, headers=SECRET)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_config_file"


def test_an_authored_slot_reaches_the_other_replica(tmp_path: Path) -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("needs a Redis server on 127.0.0.1:6379")
    store = {"backend": "redis", "url": "redis://127.0.0.1:6379/0", "prefix": f"t{uuid.uuid4().hex[:8]}:"}
    path = write_config(tmp_path / "slotwise.yaml", store=store)
    with (
        TestClient(create_app(load_config(path, check_files=True), path)) as one,
        TestClient(create_app(load_config(path, check_files=True), path)) as two,
    ):
        assert one.put("/v1/admin/slots/wp-12-hero", json=AUTHORED, headers=SECRET).status_code == 200
        deadline = time.monotonic() + 5
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            seen = render(two, "wp-12-hero", IPHONE_UA)
            if "wp-12-hero" in seen["blocks"]:
                break
            time.sleep(0.05)
        assert seen["blocks"]["wp-12-hero"]["variant"] == "mobile", seen
        assert one.delete("/v1/admin/slots/wp-12-hero", headers=SECRET).status_code == 200
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "wp-12-hero" in render(two, "wp-12-hero", IPHONE_UA)["blocks"]:
            time.sleep(0.05)
        assert "wp-12-hero" not in render(two, "wp-12-hero", IPHONE_UA)["blocks"]


def test_oversized_and_deeply_nested_bodies_are_refused_cleanly(client: TestClient, config_file: Path) -> None:
    before = config_file.read_text()
    big = {**AUTHORED, "default": html("x" * 1_100_000)}
    assert client.put("/v1/admin/slots/wp-1", json=big, headers=SECRET).status_code == 413
    deep = "[" * 5000 + '"mobile"' + "]" * 5000
    raw = '{"default": {"type": "html", "html": "x"}, "variants": [{"id": "x", "when": ' + deep + "}]}"
    nested = client.put("/v1/admin/slots/wp-1", content=raw, headers={**SECRET, "Content-Type": "application/json"})
    assert nested.status_code in (400, 422), nested.text
    assert config_file.read_text() == before
