# SPDX-License-Identifier: Apache-2.0
"""KPI and bandit pages: daily plots from the store's KPI counters, and what each bandit has
learned now (`decisions.bandit_report`, the same figures as the admin route)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.gateway.decisions.bandit_report import UnknownBandit, bandit_results, bandits_of
from slotwise.gateway.studio import series
from slotwise.gateway.studio.pages import view
from slotwise.gateway.studio.web import page, require

DAY_CHOICES = (7, 14, 30, 60, 90)


def _store(request: Request) -> Any:
    store = request.app.state.services.store
    return store if store is not None and hasattr(store, "counters") else None


def _choice(value: str | None, allowed: list[str] | tuple[Any, ...], default: Any) -> Any:
    """A query parameter taken only when it is one of `allowed` (anything else: the default)."""
    for option in allowed:
        if value == str(option):
            return option
    return default


@view
async def kpi_page(request: Request) -> Response:
    require(request)
    config = request.app.state.runtime.config
    q = request.query_params
    sites, slots, segments = list(config.sites), list(config.slots), ["", *config.segments]
    chosen = {
        "site": _choice(q.get("site"), sites, sites[0]),
        "slot": _choice(q.get("slot"), ["", *slots], ""),
        "segment": _choice(q.get("segment"), segments, ""),
        "metric": _choice(q.get("metric"), series.METRICS, "ctr"),
        "days": _choice(q.get("days"), DAY_CHOICES, 30),
    }
    store = _store(request)
    plot, totals = None, []
    if store is not None:
        days = series.last_days(chosen["days"])
        raw = await series.read(store, chosen["site"], days)
        plot = series.kpi_plot(raw, days, chosen["metric"], slots, chosen["slot"] or None, chosen["segment"])
        for line in plot["series"]:
            seen = [v for v in line["values"] if v is not None]
            totals.append({"label": line["label"], "last": seen[-1] if seen else None, "days": len(seen)})
    return page(
        request,
        "kpis.html",
        chosen=chosen,
        sites=sites,
        slots=slots,
        segments=segments,
        metrics=series.METRICS,
        day_choices=DAY_CHOICES,
        plot=plot,
        totals=totals,
        has_store=store is not None,
    )


@view
async def bandit_page(request: Request) -> Response:
    require(request)
    state = request.app.state
    config = state.runtime.config
    store = _store(request)
    site = next(iter(config.sites))
    days = series.last_days(30)
    raw = await series.read(store, site, days) if store is not None else {}
    rows = []
    for slot, variant, bandit in bandits_of(config):
        row: dict[str, Any] = {"key": bandit.key, "slot": slot.name, "variant": variant.id, "bandit": bandit}
        if store is not None:
            events = (await store.counters(site, ["exp|" + bandit.key])).get("exp|" + bandit.key, {})
            try:
                row["now"] = await bandit_results(store, config, state.runtime.bandits, site, bandit.key, events)
            except UnknownBandit as exc:
                row["error"] = str(exc)
            row["plots"] = series.bandit_plots(raw, days, slot.name, variant.id, list(bandit.arm_names), bandit.reward)
        rows.append(row)
    return page(request, "bandits.html", rows=rows, site=site, has_store=store is not None)


ROUTES = [
    Route("/kpis", kpi_page, methods=["GET"]),
    Route("/bandits", bandit_page, methods=["GET"]),
]
