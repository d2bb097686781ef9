# SPDX-License-Identifier: Apache-2.0
"""`slotwise consume` argument and URL errors: exit 2 with a message naming the value at fault."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from slotwise.gateway.cli import main as cli_main
from slotwise.gateway.streams.source import open_source
from tests.gateway.conftest import minimal_config


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("kafka://127.0.0.1:9092/events", "unsupported stream source 'kafka://127.0.0.1:9092/events'"),
        ("redis://127.0.0.1:6379", "expected redis://HOST:PORT/STREAM"),
        ("redis://127.0.0.1:6379/events?db=x", "'db' and 'claim_idle_ms' must be integers"),
        ("nats://127.0.0.1:4222/events.>", "has wildcards: name a dead-letter subject"),
        ("nats://127.0.0.1:4222/e?ack_wait=soon", "'ack_wait' must be a number"),
    ],
)
def test_bad_source_urls_are_refused(
    url: str, message: str, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        open_source(url, "shop")
    assert cli_main(["consume", "--config", str(config_path), "--site", "shop", "--source", url]) == 2
    assert message in capsys.readouterr().err


def test_unknown_site_and_missing_store(tmp_path: Path, config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "redis://127.0.0.1:6379/never-read"
    assert cli_main(["consume", "--config", str(config_path), "--site", "nope", "--source", url]) == 2
    assert "unknown site 'nope'; one of shop" in capsys.readouterr().err
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump(minimal_config()))
    assert cli_main(["consume", "--config", str(bare), "--site", "shop", "--source", url]) == 2
    assert "no 'store' configured" in capsys.readouterr().err


def test_source_options_from_the_url() -> None:
    redis = open_source("redis://127.0.0.1:6379/ev?db=3&group=g&consumer=c&dead=dl&claim_idle_ms=5&start=$", "shop")
    assert (redis.url, redis.stream, redis.group, redis.consumer, redis.dead) == (  # type: ignore[attr-defined]
        "redis://127.0.0.1:6379/3",
        "ev",
        "g",
        "c",
        "dl",
    )
    nats = open_source("nats://127.0.0.1:4222/events.shop?ack_wait=2.5", "my.site")
    assert (nats.durable, nats.dead, nats.ack_wait) == ("slotwise-my_site", "events.shop.dead", 2.5)  # type: ignore[attr-defined]
