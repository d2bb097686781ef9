# SPDX-License-Identifier: Apache-2.0
"""Hostile input gets a clear error in the page, never a 500, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from tests.gateway.studio.conftest import token_of
from tests.gateway.studio.test_changes import add_variant


def test_a_10_mb_variant_is_refused_with_a_message(as_role: Callable[[str], TestClient], config_file: Path) -> None:
    client = as_role("editor")
    before = config_file.read_text()
    r = add_variant(client, "x" * 10_000_000)
    assert r.status_code == 413 and "the form is over 512 KB; nothing was saved" in r.text
    assert config_file.read_text() == before


def test_a_rule_nested_10000_deep_is_an_error_in_the_form(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("editor")
    rule = "(" * 10_000 + "true" + ")" * 10_000
    r = client.get("/studio/segments/check", params={"rule": rule})
    assert r.status_code == 200 and r.json()["ok"] is False
    csrf = token_of(client.get("/studio/segments").text)
    r = client.post("/studio/segments", data={"csrf": csrf, "etag": "", "name": "deep", "when": rule})
    assert r.status_code == 422 and "segments.deep:" in r.text
    r = add_variant(client, "Deep", when=rule)
    assert r.status_code == 422 and "slots.hero.variants[1].when" in r.text


def test_unknown_block_types_and_bad_numbers_are_named(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("editor")
    r = add_variant(client, "X", type="carousel")
    assert r.status_code == 422 and "unknown block type &#39;carousel&#39;" in r.text
    r = add_variant(
        client, "X", type="recommendations", f_recommendations_strategy="popular", f_recommendations_count="many"
    )
    assert r.status_code == 422 and "count: expected a whole number" in r.text
    r = add_variant(client, "X", type="recommendations", f_recommendations_strategy="no-such")
    assert r.status_code == 422 and "unknown strategy" in r.text


def test_garbage_forms_and_ids_never_fail_the_server(as_role: Callable[[str], TestClient]) -> None:
    client = as_role("admin")
    csrf = token_of(client.get("/studio/").text)
    for data in ({"csrf": csrf, "index": "99999999999999999999", "etag": "x"}, {"csrf": csrf, "index": "-1"}):
        assert client.post("/studio/slots/hero/variants", data=data).status_code in {409, 422}
    assert client.post("/studio/slots/nope/variants", data={"csrf": csrf}).status_code == 404
    assert client.get("/studio/slots/%3Cscript%3E").status_code == 404
    assert client.post("/studio/versions/999/rollback", data={"csrf": csrf}).status_code == 422
    r = client.post(
        "/studio/segments", content=b"\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 400
    assert client.get("/studio/slots/hero/preview?hour=99&country=%00%00&timezone=Mars/Base").status_code == 200
