# SPDX-License-Identifier: Apache-2.0
"""`slotwise import-attributes` and `slotwise rebuild-profiles` against a real SQLite store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from slotwise.gateway.cli import main as cli_main
from slotwise.gateway.config.loader import load_config
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.rules.expr import Env
from slotwise.gateway.visitors.store_cli import email_hash
from slotwise.gateway.visitors.stores.sqlite import SQLiteStore
from tests.gateway.conftest import minimal_config


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    data = minimal_config(
        attributes=["age_bracket", "income_band", "loyalty"], store={"backend": "sqlite", "path": "store.db"}
    )
    data["segments"]["young_b"] = "attr.age_bracket == '25-34' and attr.income_band == 'B'"
    path = tmp_path / "slotwise.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_import_attributes_reports_and_feeds_rules(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crm = config_path.parent / "crm.csv"
    crm.write_text(
        "visitor_id,email,age_bracket,income_band,shoe_size\n"
        "v1,,25-34,B,42\n"
        ",Ann@Example.com ,35-44,A,\n"
        "bad id!,,25-34,B,\n"
        ",,25-34,B,\n"
        "v2,,,,44\n"
    )
    assert cli_main(["import-attributes", str(crm), "--config", str(config_path), "--site", "shop"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out.strip().splitlines()[-1]) == {"accepted": 2, "rejected": 3}
    assert "line 4" in out.err and "line 5" in out.err and "line 6" in out.err
    jsonl = config_path.parent / "crm.jsonl"
    jsonl.write_text(json.dumps({"email_sha256": email_hash("bob@example.com"), "loyalty": "gold"}) + "\n{oops\n")
    assert cli_main(["import-attributes", str(jsonl), "--config", str(config_path), "--site", "shop"]) == 0
    assert json.loads(capsys.readouterr().out.strip()) == {"accepted": 1, "rejected": 1}

    config = load_config(config_path)
    site = config.sites["shop"]

    async def check() -> None:
        store = SQLiteStore(config_path.parent / "store.db")
        try:
            _, attrs = await store.load_for_render("shop", "v1")
            assert attrs == {"age_bracket": "25-34", "income_band": "B"}  # shoe_size is not declared
            ctx = resolve_context(
                body_context={}, headers={}, peer=None, config=config, site=site, allow_simulation=False
            )
            assert config.segments["young_b"].evaluate(Env(ctx, site=site, attributes=attrs))
            assert await store.attributes("shop", ["email:" + email_hash("ann@example.com")]) == {
                "age_bracket": "35-44",
                "income_band": "A",
            }
        finally:
            await store.close()

    asyncio.run(check())


def test_rebuild_profiles_restores_them_from_the_log(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = config_path.parent / "store.db"

    async def setup() -> str:
        store = SQLiteStore(db)
        try:
            await store.ingest(
                "shop",
                [
                    {"event_id": f"e{i}", "visitor_id": "v1", "type": "page_view", "ts": 1_790_000_000.0 + i}
                    for i in range(5)
                ],
            )
            before = await store.profile("shop", "v1")
            assert before is not None
            await store.replace_profile("shop", "v1", None)
            return before.to_json()
        finally:
            await store.close()

    before = asyncio.run(setup())
    assert cli_main(["rebuild-profiles", "--config", str(config_path)]) == 0
    assert "shop: rebuilt 1 profile(s)" in capsys.readouterr().out

    async def after() -> str | None:
        store = SQLiteStore(db)
        try:
            p = await store.profile("shop", "v1")
            return p.to_json() if p else None
        finally:
            await store.close()

    assert asyncio.run(after()) == before


def test_cli_errors_are_short(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["import-attributes", "missing.csv", "--config", str(config_path), "--site", "shop"]) == 2
    assert cli_main(["import-attributes", str(config_path), "--config", str(config_path), "--site", "nope"]) == 2
    assert "unknown site 'nope'" in capsys.readouterr().err
