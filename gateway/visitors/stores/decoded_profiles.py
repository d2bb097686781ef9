# SPDX-License-Identifier: Apache-2.0
"""Profiles a render decoded, kept by visitor with the stored text they came from.

A visitor's pages read the same stored profile again and again until an event changes it, and
decoding it was most of the look-up (about 12 µs for a short profile on a slow machine, against
a tenth of a microsecond to compare the text with the one kept). An entry is used only when the
text just read is the text it was decoded from, so it can never be stale, whoever wrote the row.

Only for reads that never change the profile (renders): every render of the same text gets
the same object. The stores forget a visitor they erase, so an erased profile does not stay in
memory until it is pushed out.
"""

from __future__ import annotations

from slotwise.gateway.visitors.profiles import Profile


class DecodedProfiles:
    """At most `max_chars` characters of stored text (the objects take a few times that) and
    `max_entries` visitors, the oldest entry pushed out first; a longer text is not kept."""

    def __init__(self, max_chars: int = 8 << 20, max_entries: int = 16_384) -> None:
        self._entries: dict[tuple[str, str], tuple[str | bytes, Profile]] = {}
        self._chars = 0
        self.max_chars = max_chars
        self.max_entries = max_entries

    def decode(self, site: str, visitor_id: str, text: str | bytes) -> Profile:
        key = (site, visitor_id)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == text:
            return entry[1]
        profile = Profile.from_json(text)
        if entry is not None:
            self.forget(site, visitor_id)
        if len(text) <= self.max_chars // 64:
            self._entries[key] = (text, profile)
            self._chars += len(text)
            while self._chars > self.max_chars or len(self._entries) > self.max_entries:
                self._chars -= len(self._entries.pop(next(iter(self._entries)))[0])
        return profile

    def forget(self, site: str, visitor_id: str) -> None:
        entry = self._entries.pop((site, visitor_id), None)
        if entry is not None:
            self._chars -= len(entry[0])

    def __len__(self) -> int:
        return len(self._entries)
