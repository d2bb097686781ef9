# SPDX-License-Identifier: Apache-2.0
"""Segments page: rules edited with live validation (error column) and the visitors matching now."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from slotwise.gateway.config.fields import NAME_PATTERN
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.rules.expr import MAX_SOURCE, Env, ExprError, compile_expr
from slotwise.gateway.studio import changes
from slotwise.gateway.studio.pages import view
from slotwise.gateway.studio.web import page, read_form, require, save_change

SAMPLE = 2000  # visitors read for the "matching now" count


def check_rule(source: str, segments: set[str], attributes: set[str]) -> dict[str, Any]:
    """{'ok': True} or the error with its 1-based column, as the configuration loader reports it."""
    if len(source) > MAX_SOURCE:
        return {"ok": False, "error": f"rule over {MAX_SOURCE} characters", "column": MAX_SOURCE + 1}
    if not source.strip():
        return {"ok": False, "error": "a rule is required", "column": 1}
    names = [n.strip() for n in source.split(",")]
    if all(n in segments for n in names):  # a segment name, or several (all must match), as in `when:`
        return {"ok": True}
    try:
        compile_expr(source, segments, attributes)
    except ExprError as exc:
        return {"ok": False, "error": exc.reason, "column": exc.pos + 1}
    except RecursionError:
        return {"ok": False, "error": "the rule is nested too deeply", "column": 1}
    return {"ok": True}


async def matching_now(request: Request, source: str) -> dict[str, Any] | None:
    """How many stored visitors (of the first site, up to SAMPLE) the rule matches at this moment."""
    state = request.app.state
    store, runtime = state.services.store, state.runtime
    if store is None or not runtime.config.sites:
        return None
    site = next(iter(runtime.config.sites.values()))
    names = [n.strip() for n in source.split(",")]
    if all(n in runtime.config.segments for n in names):
        source = " and ".join(f"segment('{n}')" for n in names)
    rule = compile_expr(source, set(runtime.config.segments), set(runtime.config.attributes))
    ctx = resolve_context(
        body_context={"consent": "full"},
        headers={},
        peer=None,
        config=runtime.config,
        site=site,
        allow_simulation=False,
    )
    visitors = (await store.visitors(site.name))[:SAMPLE]
    hits = 0
    for visitor in visitors:
        profile, attributes = await store.load_for_render(site.name, visitor)
        env = Env(ctx, site=site, runtime=runtime, services=state.services, profile=profile, attributes=attributes)
        try:
            hits += bool(rule.evaluate(env))
        except Exception:  # a rule that fails on one profile counts as not matching, as in a render
            continue
    return {"matching": hits, "of": len(visitors), "site": site.name}


def _names(data: dict[str, Any]) -> tuple[set[str], set[str]]:
    segs = data.get("segments") or {}
    attrs = data.get("attributes") or []
    return set(segs), {a for a in attrs if isinstance(a, str)}


def _rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, seg in (data.get("segments") or {}).items():
        when, desc = (seg.get("when"), seg.get("description", "")) if isinstance(seg, dict) else (seg, "")
        out.append(
            {
                "name": name,
                "when": ", ".join(when) if isinstance(when, list) else str(when),
                "description": desc,
                "etag": changes.fingerprint(seg),
            }
        )
    return out


async def _list(
    request: Request, errors: list[str] | None = None, status: int = 200, form: dict[str, str] | None = None
) -> Response:
    session = require(request)
    data = changes.read_data(request.app)
    return page(
        request, "segments.html", status, rows=_rows(data), csrf=session["csrf"], errors=errors or [], form=form or {}
    )


@view
async def segment_list(request: Request) -> Response:
    return await _list(request)


@view
async def check(request: Request) -> Response:
    require(request)
    source = request.query_params.get("rule", "")
    data = changes.read_data(request.app)
    segments, attributes = _names(data)
    segments.discard(request.query_params.get("name", ""))  # a segment cannot name itself
    result = check_rule(source, segments, attributes)
    if result["ok"]:
        try:
            result["count"] = await matching_now(request, source)
        except ExprError:  # valid in the edited file, not yet in the running configuration
            result["count"] = None
    return JSONResponse(result, headers={"Cache-Control": "no-store"})


@view
async def save(request: Request) -> Response:
    session = require(request, "editor")
    form = await read_form(request, session)
    data = changes.read_data(request.app)
    segs = dict(data.get("segments") or {})
    name = form.get("name", "").strip()
    if not re.fullmatch(NAME_PATTERN, name):
        return await _list(
            request, [f"segment name {name[:64]!r}: use lower-case letters, digits and - or _"], 422, form
        )
    current = segs.get(name)
    expected = form.get("etag", "")
    if (current is None and expected) or (current is not None and expected != changes.fingerprint(current)):
        return await _list(
            request, [f"conflict: segment '{name}' changed since you opened it; nothing was saved"], 409, form
        )
    if form.get("action") == "delete":
        segs.pop(name, None)
        message = f"delete segment {name}"
    else:
        segments, attributes = _names(data)
        segments.discard(name)
        result = check_rule(form.get("when", ""), segments, attributes)
        if not result["ok"]:
            return await _list(request, [f"segments.{name}: {result['error']} at column {result['column']}"], 422, form)
        entry: dict[str, Any] = {"when": form["when"].strip()}
        if form.get("description", "").strip():
            entry["description"] = form["description"].strip()
        segs[name] = entry
        message = f"{'edit' if current is not None else 'add'} segment {name}"
    data["segments"] = segs
    return await save_change(
        request, session, message, data, "/studio/segments", lambda errors: _list(request, errors, 422, form)
    )


ROUTES = [
    Route("/segments", segment_list, methods=["GET"]),
    Route("/segments", save, methods=["POST"]),
    Route("/segments/check", check, methods=["GET"]),
]
