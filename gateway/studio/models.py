# SPDX-License-Identifier: Apache-2.0
"""Models page: each bundle's versions with their metrics (the manifest's, else the scores of
`retrain.json`) and model cards, which one serves, the
history of promotions; editors promote a version or roll back (`recommend.bundle_versions`, the
same files `slotwise models promote|rollback` writes), then the registry reloads at once (and
tells the other replicas, as every bundle load does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from slotwise.gateway.recommend import bundle_versions as bv
from slotwise.gateway.studio.pages import view
from slotwise.gateway.studio.web import audit, page, read_form, require

CARD_LIMIT = 64 * 1024  # bytes of a model card shown


def _root(request: Request) -> Path | None:
    models = request.app.state.runtime.config.models
    return Path(models.dir) if models is not None else None


def _card(path: Path) -> str | None:
    try:
        with (path / "model_card.md").open("rb") as fh:
            return fh.read(CARD_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return None


def _retrain_record(path: Path) -> dict[str, Any]:
    """What `slotwise retrain` wrote beside a candidate (`retrain.json`): its scores and why."""
    try:
        record = json.loads((path / "retrain.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _version(info: bv.VersionInfo) -> dict[str, Any]:
    record = _retrain_record(info.path)
    scores = record.get("scores")
    scores = scores if isinstance(scores, dict) else {}
    candidate = scores.get("candidate")
    candidate = candidate if isinstance(candidate, dict) else {}
    metrics = info.metrics or {k: v for k, v in candidate.items() if isinstance(v, int | float)}
    why = record.get("why") if isinstance(record.get("why"), str) else None
    return {**info.describe(), "metrics": metrics, "why": why, "card": _card(info.path)}


def _bundles(root: Path) -> list[dict[str, Any]]:
    out = []
    for name in bv.bundle_names(root):
        versions = [_version(v) for v in bv.list_versions(root, name)]
        out.append(
            {
                "name": name,
                "versions": versions,
                "history": list(reversed(bv.history(root, name)))[:20],
                "rollback_to": bv.rollback_target(root, name),
            }
        )
    return out


async def _render(request: Request, session: dict[str, Any], errors: list[str], status: int = 200) -> Response:
    root = _root(request)
    registry = getattr(request.app.state.services, "models", None)
    loaded = registry.list() if registry is not None and hasattr(registry, "list") else []
    return page(
        request,
        "models.html",
        status,
        root=root,
        bundles=_bundles(root) if root is not None else [],
        loaded=loaded,
        csrf=session["csrf"],
        errors=errors,
    )


@view
async def models_page(request: Request) -> Response:
    return await _render(request, require(request), [])


@view
async def change(request: Request) -> Response:
    session = require(request, "editor")
    form = await read_form(request, session)
    root = _root(request)
    if root is None:
        return await _render(request, session, ["no models section in the configuration"], 409)
    name, action, version = form.get("bundle", ""), form.get("action", ""), form.get("version", "")
    if name not in bv.bundle_names(root):
        return await _render(request, session, [f"no model bundle {name[:64]!r}"], 404)
    try:
        if action == "promote":
            entry = bv.promote(root, name, version, f"promoted in the studio by {session['user']}")
        elif action == "rollback":
            entry = bv.rollback(root, name, f"rolled back in the studio by {session['user']}")
        else:
            return await _render(request, session, ["unknown action (promote or rollback)"], 400)
    except bv.VersionError as exc:
        return await _render(request, session, [str(exc)], 422)
    audit(request, session, "model", f"{action} {name} to {entry['version']} (was {entry['previous']})")
    registry = getattr(request.app.state.services, "models", None)
    if registry is not None:
        await registry.areload()  # serve it now; its listeners tell the other replicas
    return RedirectResponse("/studio/models", status_code=303)


ROUTES = [
    Route("/models", models_page, methods=["GET"]),
    Route("/models", change, methods=["POST"]),
]
