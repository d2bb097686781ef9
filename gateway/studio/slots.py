# SPDX-License-Identifier: Apache-2.0
"""Slots page: variants in order with their conditions, blocks edited as fields, live preview.

The preview renders through the gateway's own path (`resolve_context` with `simulate`, the
store's profile for a real visitor id, `render_page`) in process, so no key leaves the server.
"""

from __future__ import annotations

import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from slotwise.gateway.blocks.page import render_page
from slotwise.gateway.blocks.renderer import FIELDS
from slotwise.gateway.common.vocabulary import WEEKDAYS
from slotwise.gateway.context.request import resolve_context
from slotwise.gateway.ops.metrics import Metrics
from slotwise.gateway.rules.expr import Env
from slotwise.gateway.studio import changes
from slotwise.gateway.studio.pages import view
from slotwise.gateway.studio.web import fragment, page, read_form, require, save_change

DEVICES = ("mobile", "tablet", "desktop")
VISITOR_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")  # as the render API accepts
PREVIEW_KEYS = ("site", "device", "country", "hour", "weekday", "timezone", "segment", "visitor_id")


def _slot_data(request: Request, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = changes.read_data(request.app)
    slots = data.get("slots") or {}
    if name not in slots or not isinstance(slots[name], dict):
        raise KeyError(name)
    return data, slots[name]


def _when_text(when: Any) -> str:
    if when is None:
        return ""
    return ", ".join(when) if isinstance(when, list) else str(when)


def _preview_params(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "")[:128] for k in PREVIEW_KEYS}


async def preview_of(request: Request, slot_name: str, params: dict[str, str]) -> dict[str, Any]:
    """What the running gateway renders for this slot in the chosen context."""
    runtime = request.app.state.runtime
    slot = runtime.config.slots.get(slot_name)
    if slot is None:
        return {"error": f"slot '{slot_name}' is not in the running configuration"}
    sites = runtime.config.sites
    site = sites.get(params.get("site", "")) or next(iter(sites.values()))
    sim: dict[str, Any] = {}
    if params.get("device") in DEVICES:
        sim["device"] = params["device"]
    if len(params.get("country", "")) == 2 and params["country"].isalpha():
        sim["country"] = params["country"]
    if params.get("hour", "").isdigit() and 0 <= int(params["hour"]) <= 23:
        sim["hour"] = int(params["hour"])
    if params.get("weekday") in WEEKDAYS:
        sim["weekday"] = params["weekday"]
    if params.get("timezone"):
        sim["timezone"] = params["timezone"]
    visitor_id = params.get("visitor_id") or None
    if visitor_id and not VISITOR_ID.match(visitor_id):
        return {"error": "a visitor id is 1-128 characters of A-Z a-z 0-9 _ . : -"}
    ctx = resolve_context(
        body_context={"simulate": sim, "consent": "full"},
        headers={},
        peer=None,
        config=runtime.config,
        site=site,
        allow_simulation=True,
    )
    services = request.app.state.services
    env = Env(ctx, site=site, runtime=runtime, services=services)
    if services.store is not None and visitor_id:  # full consent is simulated; the profile is real
        env.profile, env.attributes = await services.store.load_for_render(site.name, visitor_id)
    segment = params.get("segment")
    if segment and segment in runtime.config.segments:
        env.memo[("segment", segment)] = (True, math.inf)  # the visitor is taken to be in it
    block = (await render_page(env, site, [slot], visitor_id, Metrics()))[slot.name]
    return {
        "site": site.name,
        "variant": block.get("variant"),
        "segments": block.get("segments", []),
        "experiment": block.get("experiment"),
        "ttl": block.get("ttl"),
        "html": block.get("html", ""),
        "simulated": list(ctx.simulated),
    }


@view
async def slot_list(request: Request) -> Response:
    require(request)
    data = changes.read_data(request.app)
    slots = [
        {"name": n, "description": s.get("description", ""), "variants": len(s.get("variants") or [])}
        for n, s in (data.get("slots") or {}).items()
        if isinstance(s, dict)
    ]
    return page(request, "slots.html", slots=slots)


@view
async def slot_detail(request: Request) -> Response:
    return await _detail(request)


async def _detail(
    request: Request, errors: list[str] | None = None, status: int = 200, form: dict[str, str] | None = None
) -> Response:
    session = require(request)
    name = request.path_params["name"]
    try:
        data, slot = _slot_data(request, name)
    except KeyError:
        return page(request, "error.html", 404, errors=[f"unknown slot '{name[:100]}'"])
    params = _preview_params(request) if form is None else {}
    variants = [
        {
            "index": i,
            "id": v.get("id") or f"v{i + 1}",
            "when": _when_text(v.get("when")),
            "block": v.get("block"),
            "experiment": v.get("experiment"),
        }
        for i, v in enumerate(slot.get("variants") or [])
        if isinstance(v, dict)
    ]
    return page(
        request,
        "slot.html",
        status,
        name=name,
        slot=slot,
        variants=variants,
        fields=FIELDS,
        etag=changes.fingerprint(slot),
        csrf=session["csrf"],
        errors=errors or [],
        form=form or {},
        params=params,
        sites=list(request.app.state.runtime.config.sites),
        segments=list(data.get("segments") or {}),
        devices=DEVICES,
        weekdays=WEEKDAYS,
        preview=await preview_of(request, name, params),
    )


@view
async def preview(request: Request) -> Response:
    require(request)
    result = await preview_of(request, request.path_params["name"], _preview_params(request))
    return HTMLResponse(fragment("preview.html", preview=result))


def block_from_form(form: dict[str, str], old: Any) -> tuple[dict[str, Any] | None, list[str]]:
    kind = form.get("type", "")
    if kind not in FIELDS:
        return None, [f"unknown block type {kind[:40]!r} (expected one of: {', '.join(FIELDS)})"]
    block: dict[str, Any] = {"type": kind}
    if isinstance(old, dict) and old.get("type") == kind and "template" in old:
        block["template"] = old["template"]
    errors = []
    for key, (types, _) in FIELDS[kind].items():
        raw = form.get(f"f_{kind}_{key}", "").strip()
        if not raw:
            continue
        if types == (list,):
            block[key] = [x.strip() for x in raw.split(",") if x.strip()]
        elif types == (int,):
            if not raw.lstrip("-").isdigit():
                errors.append(f"{key}: expected a whole number, got {raw[:40]!r}")
                continue
            block[key] = int(raw)
        else:
            block[key] = raw
    return block, errors


@view
async def save_variant(request: Request) -> Response:
    session = require(request, "editor")
    form = await read_form(request, session)
    name = request.path_params["name"]
    try:
        data, slot = _slot_data(request, name)
    except KeyError:
        return page(request, "error.html", 404, errors=[f"unknown slot '{name[:100]}'"])
    if form.get("etag") != changes.fingerprint(slot):
        return await _detail(
            request, ["conflict: someone changed this slot since you opened it; your edit was not saved"], 409, form
        )
    variants = list(slot.get("variants") or [])
    where, action = form.get("index", "new"), form.get("action", "save")
    index = int(where) if where.isdigit() and int(where) < len(variants) else None
    if action in {"delete", "up", "down"} and index is not None:
        if action == "delete":
            variants.pop(index)
        else:
            other = index - 1 if action == "up" else index + 1
            if 0 <= other < len(variants):
                variants[index], variants[other] = variants[other], variants[index]
        message = f"{action} variant {index + 1} of {name}"
    else:
        old = slot.get("default") if where == "default" else variants[index].get("block") if index is not None else None
        block, errors = block_from_form(form, old)
        if block is None or errors:
            return await _detail(request, errors, 422, form)
        if where == "default":
            slot["default"] = block
            message = f"edit default of {name}"
        else:
            variant: dict[str, Any] = {"id": form["id"].strip()} if form.get("id", "").strip() else {}
            if form.get("when", "").strip():
                variant["when"] = form["when"].strip()
            variant["block"] = block
            if index is None and form.get("position") == "first":
                variants.insert(0, variant)
                message = f"add variant to {name}"
            elif index is None:
                variants.append(variant)
                message = f"add variant to {name}"
            else:
                variants[index] = variant
                message = f"edit variant {index + 1} of {name}"
    slot["variants"] = variants
    return await save_change(
        request, session, message, data, f"/studio/slots/{name}", lambda errors: _detail(request, errors, 422, form)
    )


ROUTES = [
    Route("/slots", slot_list, methods=["GET"]),
    Route("/slots/{name}", slot_detail, methods=["GET"]),
    Route("/slots/{name}/preview", preview, methods=["GET"]),
    Route("/slots/{name}/variants", save_variant, methods=["POST"]),
]
