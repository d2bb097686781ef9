# SPDX-License-Identifier: Apache-2.0
"""Experiments page: every experiment of every slot with its arms, weights and holdout; editors
change weights and holdout (validated, versioned, applied like every other studio change)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.measure.results import ResultsError, experiment_results
from slotwise.gateway.studio import changes, series
from slotwise.gateway.studio.pages import view
from slotwise.gateway.studio.web import page, read_form, require, save_change

LIFT_DAYS = 30  # the cumulative lift plot's window


def _experiments(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for slot_name, slot in (data.get("slots") or {}).items():
        if not isinstance(slot, dict):
            continue
        for i, variant in enumerate(slot.get("variants") or []):
            exp = variant.get("experiment") if isinstance(variant, dict) else None
            if not isinstance(exp, dict):
                continue
            arms = [a for a in exp.get("arms") or [] if isinstance(a, dict)]
            total = sum(float(a.get("weight", 1)) for a in arms) or 1.0
            out.append(
                {
                    "slot": slot_name,
                    "index": i,
                    "variant_id": variant.get("id") or f"v{i + 1}",  # the loader's default id
                    "key": exp.get("key"),
                    "holdout": exp.get("holdout", 0),
                    "status": exp.get("status", "running"),
                    "winner": exp.get("winner") or "",
                    "when": variant.get("when") or "always",
                    "arms": [
                        {
                            "name": a.get("name"),
                            "weight": a.get("weight", 1),
                            "share": 100 * float(a.get("weight", 1)) / total,
                        }
                        for a in arms
                    ],
                    "etag": changes.fingerprint(slot),
                }
            )
    return out


async def results_of(request: Request, key: str) -> dict[str, Any]:
    """The live results (measure.results) of the running configuration's experiment, or why not."""
    state = request.app.state
    config, store = state.runtime.config, state.services.store
    if store is None or not hasattr(store, "counters"):
        return {"error": "results need a store (the `store` section)"}
    site = next(iter(config.sites))
    try:
        result = await experiment_results(store, config, site, key, {})
    except ResultsError as exc:
        return {"error": str(exc)}
    for metric in result["metrics"].values():
        metric["plot"] = _ci_plot(metric["arms"])
    return result


def _ci_plot(arms: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Geometry of a confidence-interval plot (SVG attributes, no inline style under the CSP)."""
    cis = [a["ci"] for a in arms[1:] if a.get("ci")]
    if not cis:
        return None
    lo = float(min(0.0, *(c[0] for c in cis)))
    hi = float(max(0.0, *(c[1] for c in cis)))
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return round(10 + 280 * (v - lo) / span, 2)

    rows = []
    for i, arm in enumerate(arms[1:]):
        if arm.get("ci"):
            lift = arm["relative_lift"] or 0.0
            rows.append(
                {
                    "name": arm["name"],
                    "y": 14 + 22 * i,
                    "x1": x(arm["ci"][0]),
                    "x2": x(arm["ci"][1]),
                    "mid": x(lift),
                    "up": lift > 0,
                }
            )
    return {"zero": x(0.0), "rows": rows, "height": 22 * len(rows), "lo": lo, "hi": hi}


async def _list(request: Request, errors: list[str] | None = None, status: int = 200) -> Response:
    session = require(request)
    rows = _experiments(changes.read_data(request.app))
    store, config = request.app.state.services.store, request.app.state.runtime.config
    days = series.last_days(LIFT_DAYS)
    raw = await series.read(store, next(iter(config.sites)), days) if rows and hasattr(store, "counters") else {}
    for row in rows:
        row["results"] = await results_of(request, str(row["key"]))
        arms = [str(a["name"]) for a in row["arms"]]
        if raw and len(arms) > 1:
            row["lift"] = series.cumulative_lift(raw, days, str(row["slot"]), str(row["variant_id"]), arms)
    return page(
        request, "experiments.html", status, rows=rows, csrf=session["csrf"], errors=errors or [], statuses=STATUSES
    )


@view
async def experiment_list(request: Request) -> Response:
    return await _list(request)


STATUSES = ("draft", "running", "paused", "stopped")


def _number(raw: str, what: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{what}: expected a number, got {raw[:40]!r}") from None


@view
async def save(request: Request) -> Response:
    session = require(request, "editor")
    form = await read_form(request, session)
    data = changes.read_data(request.app)
    slot = (data.get("slots") or {}).get(form.get("slot", ""))
    index = form.get("index", "")
    if not isinstance(slot, dict) or not index.isdigit() or int(index) >= len(slot.get("variants") or []):
        return await _list(request, ["no such experiment"], 404)
    if form.get("etag") != changes.fingerprint(slot):
        return await _list(request, ["conflict: the slot changed since you opened this page; nothing was saved"], 409)
    exp = slot["variants"][int(index)].get("experiment")
    if not isinstance(exp, dict):
        return await _list(request, ["no such experiment"], 404)
    try:
        exp["holdout"] = _number(form.get("holdout", "0"), "holdout")
        for j, arm in enumerate(exp.get("arms") or []):
            arm["weight"] = _number(form.get(f"weight_{j}", str(arm.get("weight", 1))), f"{arm.get('name')} weight")
    except ValueError as exc:
        return await _list(request, [str(exc)], 422)
    if form.get("status") in STATUSES:
        exp["status"] = form["status"]
    if form.get("winner", "").strip():
        exp["winner"] = form["winner"].strip()
    else:
        exp.pop("winner", None)
    message = f"experiment {exp.get('key')} in {form['slot']}: {exp.get('status', 'running')}, weights, holdout"
    return await save_change(
        request, session, message, data, "/studio/experiments", lambda errors: _list(request, errors, 422)
    )


ROUTES = [
    Route("/experiments", experiment_list, methods=["GET"]),
    Route("/experiments", save, methods=["POST"]),
]
