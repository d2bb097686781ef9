# SPDX-License-Identifier: Apache-2.0
"""Find Slotwise placeholders in an HTML stream and fill them in.

The tokenizer is the standard library's `html.parser.HTMLParser`: it is incremental (`feed`
takes any chunk and keeps an unfinished tag for the next one), knows raw-text elements (a
placeholder-looking string inside `<script>` is not a tag), and reports where each tag starts,
so every byte outside a placeholder is passed on exactly as the upstream sent it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

from slotwise.gateway.blocks.page import MEASURE_ATTRS, measure_attrs

SLOT_ATTR = "data-slotwise-slot"
RENDERED_ATTR = "data-slotwise-rendered"
ITEM_ATTR = "data-slotwise-item-id"
VOID = frozenset(
    "area base br col embed hr img input link meta source track wbr".split()  # noqa: SIM905
)


@dataclass
class Placeholder:
    slot: str
    tag: str
    attrs: list[tuple[str, str | None]]
    start: int  # offset of the start tag's "<" in the decoded page
    inner: int  # offset just after the start tag
    end: int | None = None  # offset of the end tag's "<" (None while open)
    self_closing: bool = False


class SlotScanner(HTMLParser):
    """Feed decoded text; `placeholders` lists the closed ones in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.placeholders: list[Placeholder] = []
        self.item_id: str | None = None
        self.fed = 0
        self._lines = [0]  # offset where each line starts (getpos() counts lines and columns)
        self._open: Placeholder | None = None
        self._depth = 0
        self.first_start: int | None = None

    def feed(self, data: str) -> None:
        find, base, at = data.find, self.fed, data.find("\n")
        while at >= 0:
            self._lines.append(base + at + 1)
            at = find("\n", at + 1)
        self.fed += len(data)
        super().feed(data)

    @property
    def consumed(self) -> int:
        """Offset up to which the tokenizer has read (the rest may be an unfinished tag)."""
        return self.fed - len(self.rawdata)

    def _here(self) -> int:
        line, col = self.getpos()
        return self._lines[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if self._open is not None:
            if tag == self._open.tag and not closed:
                self._depth += 1
            return
        values = dict(attrs)
        if self.item_id is None and values.get(ITEM_ATTR):
            self.item_id = values[ITEM_ATTR]
        slot = values.get(SLOT_ATTR)
        if not slot or tag in VOID or values.get("data-slotwise-state") == "ready":
            return
        start = self._here()
        raw = self.get_starttag_text() or ""
        placeholder = Placeholder(slot, tag, attrs, start, start + len(raw))
        if self.first_start is None:
            self.first_start = start
        if closed:
            placeholder.end, placeholder.self_closing = placeholder.inner, True
            self.placeholders.append(placeholder)
        else:
            self._open, self._depth = placeholder, 0

    def handle_endtag(self, tag: str) -> None:
        if self._open is None or tag != self._open.tag:
            return
        if self._depth:
            self._depth -= 1
            return
        self._open.end = self._here()
        self.placeholders.append(self._open)
        self._open = None

    def slot_names(self) -> list[str]:
        return list(dict.fromkeys(p.slot for p in self.placeholders))


def _start_tag(p: Placeholder, block: dict[str, object]) -> str:
    out = [p.tag]
    for name, value in p.attrs:
        if name in (SLOT_ATTR, "data-slotwise-state", "data-slotwise-variant", *MEASURE_ATTRS):
            continue
        out.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
    out.append(f'{RENDERED_ATTR}="{html.escape(p.slot, quote=True)}" data-slotwise-state="ready"')
    out.extend(measure_attrs(block))
    return "<" + " ".join(out) + ">"


def fill(
    text: str, base: int, placeholders: list[Placeholder], blocks: dict[str, dict[str, object]]
) -> tuple[str, int]:
    """`text` (which starts at offset `base` of the page) with each placeholder that has a
    non-empty block replaced by `<tag ... data-slotwise-rendered=SLOT>block html</tag>`; the
    others keep their fallback (and their `data-slotwise-slot`, so client.js may still try)."""
    parts: list[str] = []
    at = base
    filled = 0
    for p in placeholders:
        block = blocks.get(p.slot)
        inner = block.get("html") if block else None
        if not isinstance(inner, str) or not inner.strip() or p.end is None or p.start < at:
            continue
        parts.append(text[at - base : p.start - base])
        parts.append(_start_tag(p, block or {}))
        parts.append(inner)
        parts.append(f"</{p.tag}>" if p.self_closing else "")
        at = p.end
        filled += 1
    parts.append(text[at - base :])
    return "".join(parts), filled
