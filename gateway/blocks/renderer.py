# SPDX-License-Identifier: Apache-2.0
"""Block types: their configuration schema and their rendering in Jinja2's sandbox.

Catalog text is data, never markup: templates autoescape, and links pass `safe_url`, which
drops `javascript:` and other active schemes. Editors' own strings (a welcome message, an
html block) are sandboxed templates too, so they can use variables but not reach Python.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    meta,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

_STR, _INT, _LIST = (str,), (int,), (list,)
FIELDS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "banner": {
        "title": (_STR, True),
        "text": (_STR, False),
        "image": (_STR, False),
        "url": (_STR, False),
        "cta": (_STR, False),
        "theme": (_STR, False),
    },
    "offer": {
        "title": (_STR, True),
        "text": (_STR, False),
        "code": (_STR, False),
        "discount": (_STR, False),
        "expires": (_STR, False),
        "conditions": (_STR, False),
        "url": (_STR, False),
        "cta": (_STR, False),
    },
    "welcome": {"message": (_STR, True), "title": (_STR, False)},
    "items": {"items": (_LIST, True), "title": (_STR, False)},
    "html": {"html": (_STR, True)},
    "recommendations": {
        "strategy": (_STR, True),
        "count": (_INT, False),
        "title": (_STR, False),
        "category": (_STR, False),
        "fallback": (_STR, False),
    },
}
COMMON = {"type", "template", "id"}
_SAFE_SCHEME = re.compile(r"^(https?:|mailto:|/|#|\?|\.{0,2}/|[^:/?#]*(?:[/?#]|$))", re.I)
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.I)


def safe_url(value: Any) -> str:
    """A link or image address, or '#' when its scheme could run script."""
    text = str(value or "").strip()
    cleaned = re.sub(r"[\x00-\x20]", "", text)
    if _DATA_IMAGE.match(cleaned) or _SAFE_SCHEME.match(cleaned):
        return text
    return "#"


def make_environment(templates_dir: Path | None, sandboxed: bool = True) -> Environment:
    """Editors' templates (`templates_dir`, strings in the configuration) run in Jinja2's sandbox;
    `sandboxed=False` is for the package's own templates only (a third faster)."""
    loaders: list[Any] = [PackageLoader("slotwise.gateway.blocks", "templates")]
    if templates_dir is not None:
        loaders.insert(0, FileSystemLoader(str(templates_dir)))
    kind = ImmutableSandboxedEnvironment if sandboxed else Environment
    env = kind(
        loader=ChoiceLoader(loaders), autoescape=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False
    )  # no stat() per render; reload builds anew
    env.filters["safe_url"] = safe_url
    env.filters["money"] = lambda v, cur="": f"{float(v):,.2f} {cur}".strip() if v not in (None, "") else ""
    return env


_ENV_FOR_CHECKS = make_environment(None)


def parse_expiry(value: str) -> float | None:
    """`2026-12-31` (end of that day, UTC) or an RFC 3339 time, as unix seconds."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time.max, dt.UTC).timestamp()
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    except ValueError:
        return None


def validate_block(
    raw: Any, path: str, error: Callable[[str, str], None], ctx: dict[str, Any], required: bool = False
) -> dict[str, Any] | None:
    """Check one block's configuration; return a normalized copy or None (errors reported)."""
    from slotwise.gateway.recommend.strategies import STRATEGIES

    if raw is None:
        if required:
            error(path, "is required")
        return None
    if not isinstance(raw, dict):
        error(path, f"expected a mapping, got {type(raw).__name__}")
        return None
    kind = raw.get("type")
    if kind not in FIELDS:
        error(f"{path}.type", f"unknown block type {kind!r} (expected one of: {', '.join(FIELDS)})")
        return None
    ok = True
    fields = FIELDS[kind]
    for key, value in raw.items():
        if key in COMMON:
            continue
        if key not in fields:
            error(f"{path}.{key}", f"unknown key for a {kind} block (expected one of: {', '.join(fields)})")
            ok = False
        elif not isinstance(value, fields[key][0]) or isinstance(value, bool):
            error(f"{path}.{key}", f"expected {fields[key][0][0].__name__}, got {type(value).__name__}")
            ok = False
    for key, (_, needed) in fields.items():
        if needed and key not in raw:
            error(f"{path}.{key}", f"is required for a {kind} block")
            ok = False
    block = dict(raw)
    if not ok:
        return None
    template = block.get("template", f"blocks/{kind}.html")
    if not isinstance(template, str):
        error(f"{path}.template", "expected a template file name")
        return None
    try:
        make_environment(ctx.get("templates_dir")).get_template(template)
    except TemplateNotFound:
        hint = " (`template` names a file; inline markup goes in an html block's `html`)" if "{" in template else ""
        error(f"{path}.template", f"no template file {template[:80]!r} in the templates directory{hint}")
    except TemplateSyntaxError as exc:
        error(f"{path}.template", f"{template!r} line {exc.lineno}: {exc.message}")
    except TemplateError as exc:
        error(f"{path}.template", f"cannot load template {template[:80]!r}: {exc.message or type(exc).__name__}")
        ok = False
    for key in ("message", "html"):
        if key in block:
            try:
                _ENV_FOR_CHECKS.from_string(block[key])
            except TemplateError as exc:
                error(f"{path}.{key}", f"template error: {exc}")
                ok = False
    if kind == "offer" and "expires" in block and parse_expiry(block["expires"]) is None:
        error(f"{path}.expires", f"expected a date (2026-12-31) or RFC 3339 time, got {block['expires']!r}")
        ok = False
    if kind == "recommendations":
        if block["strategy"] not in STRATEGIES:
            error(
                f"{path}.strategy",
                f"unknown strategy {block['strategy']!r} (available: {', '.join(sorted(STRATEGIES))})",
            )
            ok = False
        count = block.setdefault("count", 4)
        if not 1 <= count <= 50:
            error(f"{path}.count", "must be between 1 and 50")
            ok = False
    if kind == "items" and not all(isinstance(i, (str, int)) for i in block["items"]):
        error(f"{path}.items", "expected a list of item ids")
        ok = False
    block["template"] = template
    block["cache"] = cache_scope(block) if ok else None
    block["id"] = hashlib.blake2b(repr(sorted(raw.items())).encode(), digest_size=6).hexdigest()
    return block if ok else None


def names_used(source: str) -> frozenset[str]:
    """Top-level variables an editor's template string reads (`context`, `visitor`, ...)."""
    return frozenset(meta.find_undeclared_variables(_ENV_FOR_CHECKS.parse(source)))


def cache_scope(block: dict[str, Any]) -> str | None:
    """What a block's HTML depends on: "config" (its configuration and the catalog only),
    "context" (plus the request context's template variables), or None (the visitor too)."""
    kind = block["type"]
    if kind in {"banner", "offer", "items"}:
        return "config"
    if kind == "recommendations":
        # Keyed by the page's item as well (see render.py), so "similar" qualifies too.
        return "config" if block["strategy"] in {"popular", "similar"} else None
    source = block.get("message") or block.get("html") or ""
    used = names_used(source)
    if not used:
        return "config"
    return "context" if used <= {"context"} else None


class Renderer:
    """Renders blocks; one per configuration, so compiled templates are reused."""

    def __init__(self, templates_dir: Path | None):
        self.env = make_environment(templates_dir)
        self._strings: dict[str, Any] = {}
        self._templates: dict[str, Any] = {}
        # The package's templates run outside the sandbox unless the site's folder overrides one
        # of them (an override may be included by a package template).
        own = PackageLoader("slotwise.gateway.blocks", "templates").list_templates()
        overrides = templates_dir is not None and any((templates_dir / name).is_file() for name in own)
        self._own = frozenset(own) if not overrides else frozenset()
        self._trusted = make_environment(None, sandboxed=False)

    def prepare(self, block: dict[str, Any]) -> None:
        """Compile the block's template and its editor string ahead of the first render.
        A template that does not load is left to the render (which falls back and counts it)."""
        with contextlib.suppress(TemplateError):
            self._template(block["template"])
            if block["type"] in ("welcome", "html"):
                self._string(block["message" if block["type"] == "welcome" else "html"])

    def is_own(self, name: str) -> bool:
        """Whether `name` renders the package's own template (which reads only what it is given)."""
        return name in self._own

    def _template(self, name: str) -> Any:
        tpl = self._templates.get(name)
        if tpl is None:
            env = self._trusted if name in self._own else self.env
            tpl = self._templates[name] = env.get_template(name)
        return tpl

    def _string(self, source: str) -> Any:
        tpl = self._strings.get(source)
        if tpl is None:
            tpl = self._strings[source] = self.env.from_string(source)
        return tpl

    def render(
        self, block: dict[str, Any], *, slot: str, variant: str, items: list[dict[str, Any]], variables: dict[str, Any]
    ) -> str:
        extra: dict[str, Any] = {}
        if block["type"] == "welcome":
            extra["message"] = Markup(self._string(block["message"]).render(**variables))
        elif block["type"] == "html":
            extra["html"] = Markup(self._string(block["html"]).render(**variables))
        tpl = self._template(block["template"])
        return str(tpl.render(block=block, slot=slot, variant=variant, items=items, **variables, **extra)).strip()
