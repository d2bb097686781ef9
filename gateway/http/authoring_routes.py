# SPDX-License-Identifier: Apache-2.0
"""Slots authored in a CMS (secret key): publish, retire, and the names its pickers offer.

A CMS sends a slot as the configuration file would hold it (variants with `when` conditions or
an experiment, and a default). The slot goes through the studio's change path
(`studio.changes.apply`): the same schema as `check-config`, a new configuration version with
its diff, an atomic write, a reload, and the replica sync that makes every gateway on the same
file reload. Errors come back one per problem with the variant and column, so the CMS can show
each beside the condition the editor typed. A slot from the file itself is never replaced.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.config.fields import NAME_PATTERN
from slotwise.gateway.config.loader import ConfigError, SiteConfig
from slotwise.gateway.http.admin_routes import admin_site
from slotwise.gateway.http.errors import ApiError, JSONResponse
from slotwise.gateway.http.render_routes import read_body
from slotwise.gateway.http.schemas import load_json
from slotwise.gateway.rules.expr import describe_names
from slotwise.gateway.serving.runtime import Runtime
from slotwise.gateway.studio import changes
from slotwise.gateway.studio.web import studio

BODY_LIMIT = 1_000_000  # a page's variants hold whole blocks of editor content
SLOT_KEYS = ("description", "default", "variants", "ttl", "budget_ms")
_NAME = re.compile(NAME_PATTERN)
_WHERE = re.compile(
    r"^slots\.(?P<slot>[^.\[]+)"
    r"(?:\.variants\[(?P<v>\d+)\](?:\.experiment\.arms\[(?P<a>\d+)\])?)?"
    r"\.?(?P<field>[^:]*): (?P<msg>.*)$"
)
_COLUMN = re.compile(r" at column (\d+)")


def _lock(request: Request) -> asyncio.Lock:
    state = request.app.state
    if getattr(state, "authoring_lock", None) is None:
        state.authoring_lock = asyncio.Lock()
    return state.authoring_lock  # type: ignore[no-any-return]


def _slot_name(request: Request) -> str:
    name = str(request.path_params["slot"])
    if not _NAME.fullmatch(name):
        raise ApiError(400, "invalid_slot_name", "slot names are 1-64 letters, digits, '-' and '_', starting alnum")
    return name


def _owned(existing: Any, site: SiteConfig, name: str) -> None:
    """Refuse to touch a slot of the file, or one another site authored."""
    if existing is None:
        return
    authored = existing.get("authored") if isinstance(existing, dict) else None
    if not isinstance(authored, dict):
        raise ApiError(409, "not_authored", f"slot '{name}' is defined in the configuration file; pick another name")
    if authored.get("site") != site.name:
        raise ApiError(409, "authored_elsewhere", f"slot '{name}' was authored for another site")


def details_of(errors: list[str], name: str, variants: list[Any]) -> list[dict[str, Any]]:
    """'slots.S.variants[1].when: unknown name 'x' at column 3' -> {variant, index, field, column, message}."""
    out: list[dict[str, Any]] = []
    for line in errors:
        m = _WHERE.match(line)
        if m is None or m["slot"] != name:
            out.append({"path": line.partition(": ")[0], "message": line.partition(": ")[2] or line})
            continue
        message = m["msg"]
        item: dict[str, Any] = {"path": line.partition(": ")[0], "field": m["field"] or None, "message": message}
        if m["v"] is not None:
            index = int(m["v"])
            raw = variants[index] if index < len(variants) else None
            item["index"] = index
            item["variant"] = raw.get("id") if isinstance(raw, dict) else None
            if m["a"] is not None:
                item["arm"] = int(m["a"])
        column = _COLUMN.search(message)
        item["column"] = int(column.group(1)) if column else None
        out.append(item)
    return out


async def publish_slot(request: Request) -> Response:
    """PUT /v1/admin/slots/{slot}: create or replace an authored slot, as a new config version."""
    site = admin_site(request)
    name = _slot_name(request)
    body = load_json(await read_body(request, BODY_LIMIT))
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "request body must be a JSON object")
    unknown = sorted(set(body) - {*SLOT_KEYS, "source"})
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown key '{unknown[0]}' (expected: {', '.join(SLOT_KEYS)}, source)")
    if not isinstance(body.get("variants", []), list):
        raise ApiError(400, "invalid_request", "'variants' must be a list")
    source = body.get("source", "")
    if not isinstance(source, str) or len(source) > 200:
        raise ApiError(400, "invalid_request", "'source' must be a string of at most 200 characters")
    slot: dict[str, Any] = {k: body[k] for k in SLOT_KEYS if k in body}
    slot["authored"] = {"site": site.name, "source": source}
    async with _lock(request):
        data = _read(request)
        slots = data.setdefault("slots", {}) or {}
        data["slots"] = slots
        _owned(slots.get(name), site, name)
        if slots.get(name) == slot:
            return _answer(request, name, "unchanged", None)
        slots[name] = slot
        outcome = await changes.apply(
            request.app, studio(request), f"{site.name}:{source or 'cms'}", f"publish authored slot {name}", data
        )
    if not outcome.ok:
        details = details_of(outcome.errors, name, body.get("variants") or [])
        summary = "; ".join(
            d["message"] if "variant" not in d else f"{d['variant'] or d['index']}: {d['message']}" for d in details[:5]
        )
        raise ApiError(422, "invalid_slot", summary or "the slot was refused", details=details)
    return _answer(request, name, "published", outcome.version)


async def retire_slot(request: Request) -> Response:
    """DELETE /v1/admin/slots/{slot}: remove an authored slot (unpublished or deleted in the CMS)."""
    site = admin_site(request)
    name = _slot_name(request)
    async with _lock(request):
        data = _read(request)
        slots = data.get("slots") or {}
        if name not in slots:
            raise ApiError(404, "unknown_slot", f"no slot '{name}'")
        _owned(slots[name], site, name)
        del slots[name]
        outcome = await changes.apply(
            request.app, studio(request), f"{site.name}:cms", f"retire authored slot {name}", data
        )
    if not outcome.ok:
        raise ApiError(422, "invalid_config", "; ".join(outcome.errors[:5]))
    return _answer(request, name, "retired", outcome.version)


async def authoring_names(request: Request) -> Response:
    """GET /v1/admin/names: what a CMS's condition picker offers (segments and context names)."""
    admin_site(request)
    runtime: Runtime = request.app.state.runtime
    cfg = runtime.config
    return JSONResponse(
        {
            "segments": [{"name": s.name, "description": s.description} for s in cfg.segments.values()],
            "names": describe_names(),
            "authored": sorted(n for n, s in _raw_slots(request).items() if isinstance(s, dict) and "authored" in s),
        }
    )


def _read(request: Request) -> dict[str, Any]:
    try:
        return changes.read_data(request.app)
    except ConfigError as exc:
        raise ApiError(409, "no_config_file", "; ".join(exc.errors)) from None


def _raw_slots(request: Request) -> dict[str, Any]:
    if request.app.state.config_path is None:
        return {}
    slots = _read(request).get("slots") or {}
    return slots if isinstance(slots, dict) else {}


def _answer(request: Request, name: str, status: str, version: int | None) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    slot = runtime.config.slots.get(name)
    variants = [v.id for v in slot.variants] if slot else []
    return JSONResponse({"slot": name, "status": status, "version": version, "variants": variants})


ROUTES = [
    Route("/v1/admin/slots/{slot}", publish_slot, methods=["PUT"]),
    Route("/v1/admin/slots/{slot}", retire_slot, methods=["DELETE"]),
    Route("/v1/admin/names", authoring_names, methods=["GET"]),
]
