# SPDX-License-Identifier: Apache-2.0
"""Blocks as e-mail-safe HTML: table layout and inline CSS, absolute URLs, no scripts.

`EmailRenderer` renders the built-in block types with the templates in
`templates/email/blocks/` (same names as the web ones, so an editor's own `template:` still
resolves through the templates directory). `email_safe` then rewrites whatever came out, the
editors' html blocks included: elements that run or fetch code (`script`, `style`, `link`,
`iframe`, forms, ...) are dropped with their content, `on*`, `class`, `id`, `data-*` and
`srcset` attributes are dropped (mail clients ignore stylesheets, so styling must be inline),
and `href`/`src` are made absolute against the site's base URL; `javascript:` links become `#`.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader

from slotwise.gateway.blocks.renderer import Renderer, make_environment, safe_url

DROP_WITH_CONTENT = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head", "title"}
)
DROP_TAG = frozenset({"link", "meta", "base", "form", "input", "button", "select", "textarea", "option", "frame"})
VOID = frozenset({"br", "img", "hr", "col", "area", "wbr", "source", "track", "param", "input", "link", "meta"})
URL_ATTRS = frozenset({"href", "src", "background", "action", "poster"})


class EmailRenderer(Renderer):
    def __init__(self, templates_dir: Path | None):
        super().__init__(templates_dir)
        env = make_environment(templates_dir)
        loaders: list[Any] = [PackageLoader("slotwise.gateway.blocks", "templates/email")]
        if templates_dir is not None:
            loaders.append(FileSystemLoader(str(templates_dir)))
        loaders.append(PackageLoader("slotwise.gateway.blocks", "templates"))
        env.loader = ChoiceLoader(loaders)
        self.env = env
        self._own = frozenset()  # every template through this loader order, in the sandbox (not a hot path)


def absolute_url(value: str, base: str) -> str:
    """`value` resolved against `base`; anything that could run script, or is not http(s)/mailto, is '#'."""
    cleaned = safe_url(value)
    if cleaned == "#" and value.strip() != "#":
        return "#"
    if cleaned.lower().startswith("data:"):
        return cleaned  # inline images stay inline
    joined = urljoin(base, cleaned)
    return joined if urlsplit(joined).scheme in {"http", "https", "mailto"} else "#"


class _Cleaner(HTMLParser):
    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.out: list[str] = []
        self.skip = 0  # depth inside an element dropped with its content

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_WITH_CONTENT:
            if tag not in VOID:
                self.skip += 1
            return
        if self.skip or tag in DROP_TAG:
            return
        kept = []
        for name, value in attrs:
            if name.startswith("on") or name in {"class", "id", "srcset", "loading"} or name.startswith("data-"):
                continue
            if name in URL_ATTRS:
                value = absolute_url(value or "", self.base)
            kept.append(f' {name}="{escape(value or "", quote=True)}"' if value is not None else f" {name}")
        self.out.append(f"<{tag}{''.join(kept)}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in DROP_WITH_CONTENT and tag not in VOID:
            self.skip -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_WITH_CONTENT:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip or tag in DROP_TAG or tag in VOID:
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(escape(data, quote=False))


def email_safe(html: str, base: str) -> str:
    """`html` without scripts, stylesheets, classes or relative URLs (see the module docstring)."""
    cleaner = _Cleaner(base)
    cleaner.feed(html)
    cleaner.close()
    return "".join(cleaner.out)
