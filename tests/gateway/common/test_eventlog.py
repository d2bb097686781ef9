# SPDX-License-Identifier: Apache-2.0
"""The one event-log reader: what the gateway writes, the profiles and the models read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.gateway.common.eventlog import (
    EventLogError,
    Invalid,
    event_line,
    parse_event_line,
    parse_ts,
    read_event_lines,
    read_event_log,
)
from slotwise.gateway.visitors.profiles import replay
from slotwise.models.data import read_events

TS = 1_790_000_000.25


def test_event_line_round_trips() -> None:
    event = {"event_id": "e1", "visitor_id": "v1", "type": "item_view", "ts": TS, "item_id": "sku-é"}
    line = event_line(event)
    assert '"ts":"2026-' in line and line.index('"event_id"') < line.index('"visitor_id"')
    assert parse_event_line(line) == event


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"type": "click", "ts": 1}', "'visitor_id' must be a non-empty string"),
        ('{"visitor_id": "v", "type": "", "ts": 1}', "'type' must be a non-empty string"),
        ('{"visitor_id": "v", "type": "click"}', "'ts' is missing"),
        ('{"visitor_id": "v", "type": "click", "ts": "2026-01-31T12:00:00"}', "not RFC 3339 with an offset"),
        ('{"visitor_id": "v", "type": "click", "ts": "2026-02-31T12:00:00Z"}', "not a valid date"),
        ('{"visitor_id": "v", "type": "click", "ts": true}', "must be an RFC 3339 string"),
    ],
)
def test_a_bad_line_names_its_file_line_and_reason(line: str, reason: str, tmp_path: Path) -> None:
    good = '{"event_id":"a","visitor_id":"v","type":"click","ts":"2026-01-31T12:00:00Z"}'
    path = tmp_path / "events.jsonl"
    path.write_text(f"{good}\n\n{line}\n{good}\n", encoding="utf-8")
    with pytest.raises(EventLogError, match=rf"events.jsonl:3: .*{reason}"):
        read_event_log(path)
    # The models' reader is the same reader, so training refuses the same file.
    with pytest.raises(EventLogError, match=r"events\.jsonl:3: "):
        read_events(path)


def test_numbers_and_offsets_are_unix_seconds_and_missing_ids_are_made_up() -> None:
    lines = [
        '{"visitor_id":"v","type":"page_view","ts":1790000000.5}',
        '{"visitor_id":"v","type":"page_view","ts":"2026-09-21T16:53:20+02:00"}',
        '{"visitor_id":"v","type":"made_up_type","ts":1790000001}',
    ]
    events = list(read_event_lines(lines))
    assert [e["ts"] for e in events] == [1790000000.5, parse_ts("2026-09-21T16:53:20+02:00"), 1790000001.0]
    assert [e["event_id"] for e in events] == ["line:1", "line:2", "line:3"]
    assert events[2]["type"] == "made_up_type"  # kept; the fold and the trainers ignore it


def test_read_event_log_sorts_by_time_keeping_file_order_for_ties(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        "".join(
            event_line({"event_id": i, "visitor_id": "v", "type": "click", "ts": ts}) + "\n"
            for i, ts in (("z", TS), ("b", TS - 5), ("a", TS))
        ),
        encoding="utf-8",
    )
    assert [e["event_id"] for e in read_event_log(path)] == ["b", "z", "a"]
    assert [e["event_id"] for e in read_events(path)] == ["b", "z", "a"]


def test_replay_uses_the_same_rules() -> None:
    profiles = replay(['{"visitor_id":"v","type":"purchase","ts":1790000000,"value":5}', "\n"])
    assert profiles["v"].purchases == 1 and profiles["v"].monetary == 5.0
    with pytest.raises(EventLogError, match=r"events:2: 'ts' is missing"):
        replay(['{"visitor_id":"v","type":"click","ts":1}', '{"visitor_id":"v","type":"x"}'])


def test_parse_ts_is_strict_about_offsets() -> None:
    assert parse_ts("2026-01-31T12:00:00Z") == parse_ts("2026-01-31T13:00:00+01:00")
    with pytest.raises(Invalid):
        parse_ts("2026-01-31T12:00:00+25:00")
