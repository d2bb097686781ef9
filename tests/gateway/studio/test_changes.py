# SPDX-License-Identifier: Apache-2.0
"""Studio edits: validated, versioned with author and diff, applied to the running gateway,
rolled back; conflicts refused; segments checked live; YAML export and import."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from starlette.testclient import TestClient

from tests.gateway.conftest import IPHONE_UA
from tests.gateway.studio.conftest import token_of


def etag_of(html: str) -> str:
    match = re.search(r'name="etag" value="([^"]+)"', html)
    assert match
    return match.group(1)


def add_variant(client: TestClient, title: str, when: str = "geo.country == 'DE'", **extra: str) -> Any:
    page = client.get("/studio/slots/hero").text
    data = {"csrf": token_of(page), "etag": etag_of(page), "index": "new", "id": "de", "when": when}
    data.update({"type": "banner", "f_banner_title": title, **extra})
    return client.post("/studio/slots/hero/variants", data=data, follow_redirects=False)


def rendered(client: TestClient, **sim: Any) -> str:
    body = {"site": "shop", "slots": ["hero"], "context": {"simulate": sim}}
    r = client.post("/v1/render", json=body, headers={"X-Slotwise-Key": "sk_shop", "User-Agent": IPHONE_UA})
    return str(r.json()["blocks"]["hero"]["html"])


def test_an_added_variant_is_previewed_applied_versioned_and_rolled_back(
    as_role: Callable[[str], TestClient], config_file: Path
) -> None:
    client = as_role("editor")
    original = config_file.read_text()
    assert add_variant(client, "Hallo Berlin").status_code == 303
    assert "Hallo Berlin" in client.get("/studio/slots/hero/preview?country=DE").text
    assert "Hallo Berlin" not in client.get("/studio/slots/hero/preview?country=FR").text
    assert "Hallo Berlin" in rendered(client, country="DE", device="desktop")  # the running gateway serves it
    saved = yaml.safe_load(config_file.read_text())
    assert saved["slots"]["hero"]["variants"][-1]["block"]["title"] == "Hallo Berlin"
    versions = client.get("/studio/versions").text
    assert "add variant to hero" in versions and "editor" in versions and "+        title: Hallo Berlin" in versions
    first = int(re.findall(r"/studio/versions/(\d+)/rollback", versions)[-1])
    r = client.post(f"/studio/versions/{first}/rollback", data={"csrf": token_of(versions)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Hallo Berlin" not in rendered(client, country="DE", device="desktop")
    assert yaml.safe_load(config_file.read_text()) == yaml.safe_load(original)
    assert f"roll back to v{first}" in client.get("/studio/versions").text
    audit = as_role("admin").get("/studio/audit").text
    assert "add variant to hero" in audit and f"roll back to v{first}" in audit


def test_the_preview_follows_device_segment_and_hour(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("editor")
    assert add_variant(client, "Night owls", when="local.hour >= 22").status_code == 303
    assert "Mobile" in client.get("/studio/slots/hero/preview?device=mobile").text
    desktop = client.get("/studio/slots/hero/preview?device=desktop&hour=12").text
    assert "Default" in desktop and "Night owls" not in desktop
    assert "Night owls" in client.get("/studio/slots/hero/preview?device=desktop&hour=23").text
    assert "Mobile" in client.get("/studio/slots/hero/preview?device=desktop&segment=mobile").text
    assert "visitor id is" in client.get("/studio/slots/hero/preview?visitor_id=bad id!").text


def test_a_second_editor_saving_the_same_slot_gets_a_conflict(
    as_role: Callable[[str], TestClient], config_file: Path
) -> None:
    alice, bob = as_role("editor"), as_role("admin")
    page_a, page_b = alice.get("/studio/slots/hero").text, bob.get("/studio/slots/hero").text
    form = {"index": "new", "when": "", "type": "banner"}
    r = alice.post(
        "/studio/slots/hero/variants",
        data={**form, "csrf": token_of(page_a), "etag": etag_of(page_a), "f_banner_title": "Alice"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = bob.post(
        "/studio/slots/hero/variants",
        data={**form, "csrf": token_of(page_b), "etag": etag_of(page_b), "f_banner_title": "Bob"},
        follow_redirects=False,
    )
    assert r.status_code == 409 and "conflict" in r.text
    titles = [v["block"]["title"] for v in yaml.safe_load(config_file.read_text())["slots"]["hero"]["variants"]]
    assert "Alice" in titles and "Bob" not in titles


def test_an_invalid_edit_names_its_fault_and_changes_nothing(
    as_role: Callable[[str], TestClient], config_file: Path
) -> None:
    client = as_role("editor")
    before = config_file.read_text()
    r = add_variant(client, "X", when="segment('nope')")
    assert r.status_code == 422 and "unknown segment" in r.text and "slots.hero.variants[1].when" in r.text
    r = add_variant(client, "X", when="", type="offer")  # the title was typed into the banner's fields
    assert r.status_code == 422 and "slots.hero.variants[1].block.title: is required for a offer block" in r.text
    assert config_file.read_text() == before


def test_segments_are_checked_live_with_the_error_column(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("viewer")
    ok = client.get("/studio/segments/check", params={"rule": "local.hour >= 22"}).json()
    assert ok["ok"] is True and ok["count"] == {"matching": 0, "of": 0, "site": "shop"}
    bad = client.get("/studio/segments/check", params={"rule": "local.hour >= "}).json()
    assert bad["ok"] is False and bad["column"] == 15
    unknown = client.get("/studio/segments/check", params={"rule": "device.colour == 'x'"}).json()
    assert unknown["ok"] is False and unknown["column"] == 1 and "device.colour" in unknown["error"]


def test_the_matching_count_reads_the_stored_visitors(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("viewer")
    store = client.app.state.services.store  # type: ignore[attr-defined]
    now = time.time()
    events = [
        {"event_id": f"e{i}", "visitor_id": f"v{i % 3}", "type": "page_view", "ts": now - 60} for i in range(3)
    ] + [{"event_id": "p1", "visitor_id": "v0", "type": "purchase", "ts": now - 30, "value": 10}]
    client.portal.call(store.ingest, "shop", events)  # type: ignore[union-attr]
    r = client.get("/studio/segments/check", params={"rule": "events.purchase.within(24h) >= 1"}).json()
    assert r["count"] == {"matching": 1, "of": 3, "site": "shop"}


def test_create_edit_and_delete_a_segment(as_role: Callable[[str], TestClient], config_file: Path) -> None:
    client = as_role("editor")
    csrf = token_of(client.get("/studio/segments").text)
    new = {"csrf": csrf, "etag": "", "name": "night", "when": "local.hour >= 22", "description": "late"}
    assert client.post("/studio/segments", data=new, follow_redirects=False).status_code == 303
    assert yaml.safe_load(config_file.read_text())["segments"]["night"] == {
        "when": "local.hour >= 22",
        "description": "late",
    }
    again = client.post("/studio/segments", data=new, follow_redirects=False)  # stale: it exists now
    assert again.status_code == 409
    bad = client.post("/studio/segments", data={**new, "name": "owls", "when": "local.hour >"})
    assert bad.status_code == 422 and "segments.owls:" in bad.text and "column" in bad.text
    page = client.get("/studio/segments").text
    etag = re.findall(r'name="etag" value="([^"]*)"', page)
    night_etag = [e for e in etag if e][-1]
    r = client.post(
        "/studio/segments",
        data={"csrf": csrf, "etag": night_etag, "name": "night", "action": "delete"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "night" not in yaml.safe_load(config_file.read_text())["segments"]


def test_yaml_export_and_import(as_role: Callable[[str], TestClient], config_file: Path) -> None:
    client = as_role("editor")
    exported = client.get("/studio/export.yaml")
    assert exported.headers["content-type"].startswith("application/yaml")
    data = yaml.safe_load(exported.text)
    assert set(data) == {"segments", "slots"}  # never the sites and their keys
    data["slots"]["hero"]["default"]["title"] = "Imported"
    csrf = token_of(client.get("/studio/versions").text)
    r = client.post("/studio/import", data={"csrf": csrf, "yaml": yaml.safe_dump(data)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Imported" in rendered(client, device="desktop")
    bad = client.post("/studio/import", data={"csrf": csrf, "yaml": "slots: [\n"})
    assert bad.status_code == 422 and "invalid YAML at line" in bad.text
    keys = client.post("/studio/import", data={"csrf": csrf, "yaml": "sites: {}\n"})
    assert keys.status_code == 422 and "only segments and slots" in keys.text


def test_users_page_adds_accounts_and_the_cli_does_too(as_role: Callable[[str], TestClient], config_file: Path) -> None:
    import subprocess
    import sys

    admin = as_role("admin")
    csrf = token_of(admin.get("/studio/users").text)
    r = admin.post("/studio/users", data={"csrf": csrf, "name": "dana", "role": "editor", "password": "short"})
    assert r.status_code == 422 and "at least 8" in r.text
    r = admin.post(
        "/studio/users",
        data={"csrf": csrf, "name": "dana", "role": "editor", "password": "long enough"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "dana" in admin.get("/studio/users").text
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "slotwise.gateway.cli",
            "users",
            "add",
            "erin",
            "--role",
            "viewer",
            "--password-stdin",
            "--config",
            str(config_file),
        ],
        input="erin's password\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "slotwise.gateway.cli", "users", "list", "--config", str(config_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "erin\tviewer" in listed and "dana\teditor" in listed


def test_a_segment_name_is_a_valid_condition(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("viewer")
    assert client.get("/studio/segments/check", params={"rule": "mobile"}).json()["ok"] is True
    assert client.get("/studio/segments/check", params={"rule": "mobile, mobile"}).json()["ok"] is True
    assert client.get("/studio/segments/check", params={"rule": "mobile-x"}).json()["ok"] is False


def test_the_demo_login_it_prints_works(tmp_path: Path) -> None:
    from slotwise.gateway.config.loader import load_config
    from slotwise.gateway.demo.site import prepare_data
    from slotwise.gateway.http.app import create_app
    from slotwise.gateway.studio.cli import demo_login
    from tests.gateway.studio.conftest import login

    config_path = prepare_data(tmp_path, 8099)
    first, line = demo_login(config_path, 8099), demo_login(config_path, 8099)
    assert line.startswith("Studio: http://127.0.0.1:8099/studio  (user admin, password ")
    password = line.split("password ")[1].split(";")[0]
    assert password not in first  # a new password on every start
    with TestClient(create_app(load_config(config_path), config_path), base_url="http://127.0.0.1") as client:
        assert login(client, "admin", password).status_code == 303
        assert client.get("/studio/users").status_code == 200
        assert login(client, "admin", first.split("password ")[1].split(";")[0]).status_code == 401
