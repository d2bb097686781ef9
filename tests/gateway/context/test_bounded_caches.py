# SPDX-License-Identifier: Apache-2.0
"""The context caches are keyed by what clients send: each is bounded (issue 11, defect 6)."""

from __future__ import annotations

import sys

import pytest

from slotwise.gateway.context import clock, device


def test_the_time_zone_cache_is_bounded_and_still_answers() -> None:
    for i in range(clock._zone.cache_info().maxsize + 500):
        assert clock.zone(f"Bogus/Zone{i}") is None
    assert clock._zone.cache_info().currsize <= clock._zone.cache_info().maxsize
    berlin = clock.zone("Europe/Berlin")
    assert berlin is not None and berlin.key == "Europe/Berlin"
    assert clock.zone("Europe/Berlin") is berlin


def test_the_user_agent_cache_is_bounded() -> None:
    for i in range(device._parse_device.cache_info().maxsize + 500):
        device.resolve_device(f"Mozilla/5.0 (X11; Linux x86_64; rv:{i}) Gecko/20100101 Firefox/{i}", None)
    assert device._parse_device.cache_info().currsize <= device._parse_device.cache_info().maxsize


def test_the_referrer_host_caches_are_bounded() -> None:
    from slotwise.gateway.context import page

    for i in range(page._host.cache_info().maxsize + 500):
        ref = page.classify_referrer(f"https://h{i}.example/x", "shop.example", {}, ())
        assert ref.cls == "other" and ref.host == f"h{i}.example"
    assert page._host.cache_info().currsize <= page._host.cache_info().maxsize
    assert page._host_class.cache_info().currsize <= page._host_class.cache_info().maxsize
    assert page.classify_referrer("https://www.google.com/", "shop.example", {}, ()).cls == "search"


def test_an_unknown_time_zone_is_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients send any string as their zone: an unknown one is refused before `ZoneInfo`, which
    would try to import it from `tzdata` through every import hook, for each new name (issue 11)."""
    from slotwise.gateway.visitors import ingest

    attempted: list[str] = []

    class Recorder:
        @staticmethod
        def find_spec(name: str, path: object = None, target: object = None) -> None:
            attempted.append(name)

    monkeypatch.setattr(sys, "meta_path", [Recorder(), *sys.meta_path])
    assert clock.zone("Bogus/Zone987654") is None
    assert ingest._zone("Bogus/Ev987654") is None
    assert attempted == []
    assert clock.zone("posixrules") is None  # a file in the zone folder, not a zone
    assert clock.zone("America/Argentina/Buenos_Aires") is not None
    assert ingest._zone("Asia/Tokyo") is not None
