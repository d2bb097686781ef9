# SPDX-License-Identifier: Apache-2.0
"""Render one page's slots: decide, fetch data, render; each slot in its own time budget.

A slot whose strategy, store or template fails or runs late gets its default block (and that
is counted), while the other slots render as usual: one bad slot never fails the page.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
from collections.abc import Callable
from typing import Any

from slotwise.gateway.config.loader import SiteConfig, Slot
from slotwise.gateway.decisions.decide import Decision, decide
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.recommend.strategies import STRATEGIES
from slotwise.gateway.rules.expr import Env, in_segment

log = logging.getLogger("slotwise.render")

_dumps_str = json.encoder.encode_basestring  # the C string encoder: what the encoder writes for a str


def _encoder() -> Callable[[Any], str]:
    """`json.dumps(x, ensure_ascii=False)`, the same text. `dumps` builds a new encoder on every
    call with arguments, and `JSONEncoder.encode` a new C encoder (and its circular-reference
    memo) on every call: half the cost of encoding a block's experiment. The values encoded
    here are the render's own (no cycles), so one C encoder without the memo serves them all."""
    std = json.JSONEncoder(ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return std.encode
    c_encode = make(None, std.default, _dumps_str, None, ": ", ", ", False, False, True)

    def dumps(value: Any) -> str:
        return _dumps_str(value) if type(value) is str else "".join(c_encode(value, 0))

    return dumps


_dumps = _encoder()


def memberships(env: Env) -> list[str]:
    """The rule segments the visitor is in. Results are memoized for the slots' decisions,
    and reading them here does not shorten any block's ttl (the probe's boundary is dropped)."""
    probe = env.fork()
    found = []
    for name in env.runtime.segments:
        try:
            if in_segment(probe, name):
                found.append(name)
        except Exception:  # a failing profile term must not break the page
            log.exception("segment %s failed", name)
    env.memo[SEGMENTS_BOUND] = probe.boundary  # the response lists them: the page cache needs it
    return found


async def _items_for(block: dict[str, Any], env: Env) -> tuple[list[dict[str, Any]], str | None]:
    catalog = env.runtime.catalog
    if block["type"] == "items":
        return [it for i in block["items"] if (it := catalog.get(str(i)))], None
    if block["type"] != "recommendations":
        return [], None
    count = int(block["count"])
    strategy = block["strategy"]
    hidden = getattr(env.profile, "hidden_items", None) or frozenset()
    ids = await STRATEGIES[strategy](env, block, count + len(hidden))
    ids = [i for i in ids if i not in hidden][:count]  # feedback events hide items at once
    used = strategy
    if len(ids) < count:
        # Cold start or a thin result: top up with popular items.
        skip = [*ids, *hidden, env.ctx.item_id or ""]
        extra = catalog.popular(count, exclude=skip, category=block.get("category"))
        if not ids:
            used = "popular"
        ids = [*ids, *extra][:count]
    return [it for i in ids if (it := catalog.get(i))], used


def _variables(env: Env, visitor_id: str | None, strategy: str | None) -> dict[str, Any]:
    ctx = env.ctx
    profile = env.profile
    return {
        "visitor": {
            "id": visitor_id,
            "returning": bool(getattr(profile, "sessions", 0) and profile.sessions > 1),
            "attributes": env.attributes,
        },
        "context": {
            "device": ctx.device.cls,
            "country": ctx.geo.country,
            "language": ctx.language,
            "daypart": ctx.local.daypart,
            "weekday": ctx.local.weekday,
            "hour": ctx.local.hour,
            "referrer": ctx.referrer.cls,
            "utm": ctx.utm,
        },
        "strategy": strategy,
    }


def _cache_key(
    block: dict[str, Any], slot: Slot, variant: str, env: Env, site: SiteConfig, variables: dict[str, Any] | None
) -> tuple[Any, ...] | None:
    scope = block["cache"]
    if scope is None or (block.get("strategy") == "similar" and not env.ctx.item_id):
        return None
    if block["type"] == "recommendations" and getattr(env.profile, "hidden_items", None):
        return None  # this visitor's feedback hides items: not the shared HTML
    key: tuple[Any, ...] = (site.name, slot.name, variant, block["id"], env.ctx.item_id)
    if scope == "context" and variables is not None:
        ctx = variables["context"]
        key += tuple((k, v if k != "utm" else tuple(sorted(v.items()))) for k, v in ctx.items())
    return key


async def _render_block(
    decision: Decision, slot: Slot, env: Env, site: SiteConfig, visitor_id: str | None
) -> tuple[str, str | None]:
    """The block's HTML and, when it came from the cache, that HTML already JSON-encoded."""
    block = decision.block
    runtime = env.runtime
    if block["cache"] is None:
        env.read_visitor()  # its template or strategy reads the visitor
    # Template variables are only built when the cache key or the template needs them.
    variables = _variables(env, visitor_id, None) if block["cache"] != "config" else None
    cache_key = _cache_key(block, slot, decision.variant, env, site, variables)
    if cache_key is not None:
        cached = runtime.block_cache.get(cache_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    if variables is None:
        variables = _variables(env, visitor_id, None)
    items, variables["strategy"] = await _items_for(block, env)
    if cache_key is None and block["type"] == "recommendations" and runtime.renderer.is_own(block["template"]):
        # The package's template reads only the block, its variant, the strategy used and the
        # items: visitors whose recommendations came out the same share the HTML.
        ids = tuple(item["item_id"] for item in items)
        cache_key = (site.name, slot.name, decision.variant, block["id"], variables["strategy"], ids)
        cached = runtime.block_cache.get(cache_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
    html = runtime.renderer.render(block, slot=slot.name, variant=decision.variant, items=items, variables=variables)
    if cache_key is not None:
        runtime.block_cache.put(cache_key, (html, _dumps_str(html)))
    return html, None


async def _fallback(slot: Slot, env: Env, site: SiteConfig, visitor_id: str | None) -> str:
    """The default block; if even that fails, an empty block so the page keeps its own fallback."""
    try:
        async with asyncio.timeout(0.05):
            return (await _render_block(Decision("default", slot.default), slot, env, site, visitor_id))[0]
    except Exception:
        log.exception("default block of slot %s failed", slot.name)
        return ""


def _ttl(env: Env, max_ttl: int) -> int:
    if math.isinf(env.boundary):
        return max_ttl
    return max(0, min(max_ttl, int(env.boundary - env.ctx.now)))


async def render_slot(
    slot: Slot, env: Env, site: SiteConfig, visitor_id: str | None, segments: list[str], metrics: Metrics
) -> dict[str, Any]:
    config = env.runtime.config
    budget = (slot.budget_ms or config.gateway.slot_budget_ms) / 1000.0
    max_ttl = slot.ttl if slot.ttl is not None else config.gateway.default_ttl
    reason = None
    html_json = None
    decision: Decision | None = None
    try:
        decision = decide(slot, env, visitor_id)
        if slot.name in env.runtime.concurrent_slots:
            async with asyncio.timeout(budget):
                html, html_json = await _render_block(decision, slot, env, site, visitor_id)
        else:
            # Nothing here waits, so a timer could never fire: render straight through.
            html, html_json = await _render_block(decision, slot, env, site, visitor_id)
    except TimeoutError:
        reason = "timeout"
    except Exception:
        log.exception("slot %s failed", slot.name)
        reason = "error"
    if reason is not None:
        metrics.fallbacks.labels(slot.name, reason).inc()
        env.bound(env.now + 30)  # retry soon once the failing part recovers
        env.read_visitor()  # a passing failure: never kept by the page cache
        decision = Decision("default", slot.default, decision.experiment if decision is not None else None)
        html = await _fallback(slot, env, site, visitor_id)
    assert decision is not None  # decided, or the default after a failure
    metrics.slot_outcomes[reason or "ok"] += 1
    result = {
        "html": html,
        "variant": decision.variant,
        "segments": segments,
        "experiment": decision.experiment,
        "ttl": _ttl(env, max_ttl),
    }
    if reason:
        result["fallback"] = reason
    env.memo[(SLOT_BOUND, slot.name)] = (env.boundary, max_ttl)
    if env.read:
        env.memo.setdefault(LIVE_SLOTS, set()).add(slot.name)
    if html_json is not None:
        result[HTML_JSON] = html_json
    return result


SEGMENTS_BOUND = "segments-bound"
SLOT_BOUND = "slot-bound"
LIVE_SLOTS = "live-slots"
"""Memo keys: when the segment memberships next change; (SLOT_BOUND, slot) -> (boundary, max ttl);
the names of the slots whose decision read the visitor or drew a bandit (`Env.read_visitor`)."""

MEASURE_ATTRS = ("data-slotwise-experiment", "data-slotwise-arm", "data-slotwise-propensity",
                 "data-slotwise-bucket", "data-slotwise-segments")  # fmt: skip


def measure_attrs(block: dict[str, object]) -> list[str]:
    """The data attributes client.js reads to send the block's impression and clicks."""
    out = []
    variant = block.get("variant")
    if variant:
        out.append(f'data-slotwise-variant="{html.escape(str(variant), quote=True)}"')
    exp = block.get("experiment")
    if isinstance(exp, dict) and exp.get("key"):
        out.append(f'data-slotwise-experiment="{html.escape(str(exp["key"]), quote=True)}"')
        out.append(f'data-slotwise-arm="{html.escape(str(exp.get("arm") or ""), quote=True)}"')
        if exp.get("propensity"):
            out.append(f'data-slotwise-propensity="{float(exp["propensity"])!r}"')
        if exp.get("bucket"):
            out.append(f'data-slotwise-bucket="{html.escape(str(exp["bucket"]), quote=True)}"')
    segments = block.get("segments")
    if isinstance(segments, list) and segments:
        out.append(f'data-slotwise-segments="{html.escape(",".join(map(str, segments)), quote=True)}"')
    return out


def wrap_fragment(slot: str, block: dict[str, Any]) -> str:
    """A bandit's block fetched alone (fragment, ESI) inside an element client.js measures:
    the chosen arm and its propensity travel with the markup, wherever it is included."""
    exp = block.get("experiment")
    if not (isinstance(exp, dict) and exp.get("bandit")):
        return str(block["html"])
    attrs = " ".join(measure_attrs(block))
    opening = f'<div data-slotwise-rendered="{html.escape(slot, quote=True)}" data-slotwise-state="ready" {attrs}>'
    return f"{opening}{block['html']}</div>"


HTML_JSON = "_html_json"
"""Key of a block's pre-encoded HTML; `encode_page` uses and drops it."""


def encode_page(head: dict[str, Any], blocks: dict[str, dict[str, Any]]) -> bytes:
    """The render response as JSON, reusing cached blocks' pre-encoded HTML (most of the bytes)."""
    seen: dict[int, str] = {}  # the page's segment list, shared by its blocks: encoded once
    parts = ",".join([encode_block(name, block, seen) for name, block in blocks.items()])
    # "replace": a lone surrogate a client sent (an unknown slot name, a debug URL) becomes "?".
    return f"{page_prefix(head)}{parts}}}}}".encode("utf-8", "replace")


def page_prefix(head: dict[str, Any]) -> str:
    """The response up to its blocks: the head's members, then `"blocks":{`."""
    head_json = _dumps(head)
    return f'{head_json[:-1]}{"," if head else ""}"blocks":{{'


_PLAIN_BLOCK = ("html", "variant", "segments", "experiment", "ttl")


def encode_block(name: str, block: dict[str, Any], seen: dict[int, str] | None = None) -> str:
    """One member of the response's `blocks` (`"name":{"html":...,...}`); drops `HTML_JSON`.
    `seen`: JSON of lists already encoded for this page, by id (the blocks share one segment list).

    A block as `render_slot` makes it is written member by member, the same text the encoder
    writes for the whole dict (its separators, no ASCII escapes); any other block by the encoder."""
    html = block["html"]
    html_json = block.pop(HTML_JSON, None) or (_dumps_str(html) if type(html) is str else _dumps(html))
    variant, segments, experiment, ttl = (
        block.get("variant"),
        block.get("segments"),
        block.get("experiment"),
        block.get("ttl"),
    )
    if (
        type(variant) is str
        and type(segments) is list
        and type(ttl) is int
        and (experiment is None or type(experiment) is dict)
        and len(block) == 5
        and tuple(block) == _PLAIN_BLOCK
    ):
        if seen is None:
            segments_json = _dumps(segments)
        elif (segments_json := seen.get(id(segments), "")) == "":
            segments_json = seen[id(segments)] = _dumps(segments)
        exp = "null" if experiment is None else _dumps(experiment)
        return (
            f'{json.dumps(name)}:{{"html":{html_json},"variant": {_dumps_str(variant)}, '
            f'"segments": {segments_json}, "experiment": {exp}, "ttl": {ttl}}}'
        )
    rest = _dumps({k: v for k, v in block.items() if k != "html"})
    return f'{json.dumps(name)}:{{"html":{html_json},{rest[1:]}'


async def render_page(
    env: Env,
    site: SiteConfig,
    slots: list[Slot],
    visitor_id: str | None,
    metrics: Metrics,
    segments: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The page's blocks, in the order of `slots`; `segments`: the memberships when already known."""
    if segments is None:
        segments = memberships(env)
    results: dict[str, dict[str, Any]] = {}
    waits = env.runtime.concurrent_slots
    concurrent = [s for s in slots if s.name in waits]
    for slot in slots:
        if slot.name not in waits:  # by name: a Slot compares field by field, in Python
            results[slot.name] = await render_slot(slot, env.fork(), site, visitor_id, segments, metrics)
    if len(concurrent) == 1:
        slot = concurrent[0]
        results[slot.name] = await render_slot(slot, env.fork(), site, visitor_id, segments, metrics)
    elif concurrent:
        done = await asyncio.gather(
            *(render_slot(s, env.fork(), site, visitor_id, segments, metrics) for s in concurrent)
        )
        results.update(zip((s.name for s in concurrent), done, strict=False))
    return {slot.name: results[slot.name] for slot in slots}
