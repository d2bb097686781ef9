# SPDX-License-Identifier: Apache-2.0
"""`slotwise demo`: a fashion shop's catalog, a config with four slots, and a page to try them.

Everything is generated from a fixed seed, so two runs show the same shop. With `--data DIR`
the store lives in DIR and a later run goes on with what is there.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

import jinja2
import yaml
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from slotwise.gateway.demo.catalog import build_catalog, image_svg
from slotwise.gateway.demo.simulate import add_behaviour

log = logging.getLogger("slotwise.demo")
SITE, PUBLISHABLE, SECRET = "demo", "pk_demo", "sk_demo"
SLOTS = ("home-hero", "welcome", "recommendations", "offer")


def demo_config(port: int) -> dict[str, Any]:
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    return {
        "sites": {
            SITE: {
                "publishable_key": PUBLISHABLE,
                "secret_key": SECRET,
                "origins": origins,
                "timezone": "Europe/Berlin",
                "allow_simulation": True,
                "business_hours": {"days": "mon..fri", "start": "09:00", "end": "17:00"},
            }
        },
        "gateway": {"slot_budget_ms": 50},
        "geo": {"country_headers": ["CF-IPCountry", "CloudFront-Viewer-Country"]},
        "catalog": {"path": "items.jsonl"},
        "models": {"dir": "models", "watch_seconds": 5},
        "segments": {
            "mobile": {"when": "device.class == 'mobile'", "description": "phones"},
            "night-owl": {
                "when": "local.daypart == 'night' or local.hour >= 22",
                "description": "browsing late at night",
            },
            "business-hours": {"when": "local.business_hours", "description": "weekday office hours"},
            "mobile-business": {
                "when": "device.class == 'mobile' and local.business_hours",
                "description": "phones during business hours",
            },
            "abroad": {
                "when": "geo.country != null and geo.country not in ['DE', 'AT']",
                "description": "visitors from outside the home market",
            },
            "from-search": {"when": "referrer.class == 'search'", "description": "arrived from a search engine"},
        },
        "slots": {
            "home-hero": {
                "description": "Hero banner at the top of the home page",
                "variants": [
                    {
                        "id": "mobile-night",
                        "when": ["mobile", "night-owl"],
                        "block": {
                            "type": "banner",
                            "title": "Late-night picks, one thumb away",
                            "text": "Save them now, they ship first thing tomorrow.",
                            "theme": "dark",
                            "url": "/demo?category=knitwear",
                            "cta": "Cosy up",
                        },
                    },
                    {
                        "id": "mobile",
                        "when": "mobile",
                        "block": {
                            "type": "banner",
                            "title": "Swipe the new season",
                            "text": "Made for your phone: quick looks, one-tap checkout.",
                            "theme": "mobile",
                            "url": "/demo?category=sportswear",
                            "cta": "Start swiping",
                        },
                    },
                    {
                        "id": "abroad",
                        "when": "abroad",
                        "block": {
                            "type": "banner",
                            "title": "We ship worldwide",
                            "text": "Free international delivery on orders over 100 EUR.",
                            "theme": "world",
                            "url": "/demo?category=bags",
                        },
                    },
                    {
                        "id": "desktop-office",
                        "when": "business-hours",
                        "block": {
                            "type": "banner",
                            "title": "Order before 3 pm, wear it tomorrow",
                            "text": "Same-day dispatch on weekdays.",
                            "theme": "office",
                            "url": "/demo?category=shirts",
                            "cta": "Shop workwear",
                        },
                    },
                    {
                        # Everyone the rules above leave: a bandit learns which banner earns clicks.
                        "id": "season",
                        "bandit": {
                            "key": "hero-season",
                            "policy": "thompson",
                            "reward": "click",
                            "min_share": 0.05,
                            "arms": [
                                {
                                    "name": "colours",
                                    "block": {
                                        "type": "banner",
                                        "title": "The new season is here",
                                        "text": "Fresh colours, honest materials.",
                                        "url": "/demo?category=jackets",
                                    },
                                },
                                {
                                    "name": "denim",
                                    "block": {
                                        "type": "banner",
                                        "title": "Denim that lasts",
                                        "text": "Organic cotton, repaired for free.",
                                        "url": "/demo?category=jeans",
                                        "cta": "Find your fit",
                                    },
                                },
                                {
                                    "name": "sneakers",
                                    "block": {
                                        "type": "banner",
                                        "title": "Sneakers for every day",
                                        "text": "Light, washable, made to walk.",
                                        "url": "/demo?category=shoes",
                                        "cta": "Step in",
                                    },
                                },
                            ],
                        },
                    },
                ],
                "default": {
                    "type": "banner",
                    "title": "The new season is here",
                    "text": "Fresh colours, honest materials.",
                    "url": "/demo?category=jackets",
                },
            },
            "welcome": {
                "description": "A greeting under the hero",
                "variants": [
                    {
                        "id": "abroad",
                        "when": "abroad",
                        "block": {
                            "type": "welcome",
                            "message": "Hello to {{ context.country }}! Prices include delivery to your door.",
                        },
                    },
                    {
                        "id": "search",
                        "when": "from-search",
                        "block": {
                            "type": "welcome",
                            "message": "Found us on {{ 'search' }}? Here is what others love.",
                        },
                    },
                ],
                "default": {"type": "welcome", "message": "Good {{ context.daypart }}, welcome to Slotwise Fashion."},
            },
            "recommendations": {
                "description": "Product recommendations",
                "variants": [
                    {
                        "id": "similar",
                        "when": "page.item_id != null",
                        "block": {
                            "type": "recommendations",
                            "strategy": "similar",
                            "count": 4,
                            "title": "You may also like",
                        },
                    },
                    {
                        "id": "for-you",
                        "when": "visitor.known",
                        "block": {
                            "type": "recommendations",
                            "strategy": "hybrid",
                            "count": 4,
                            "title": "Picked for you",
                        },
                    },
                ],
                "default": {"type": "recommendations", "strategy": "popular", "count": 4, "title": "Popular right now"},
            },
            "offer": {
                "description": "Offer box",
                "variants": [
                    {
                        "id": "international",
                        "when": "abroad",
                        "block": {
                            "type": "offer",
                            "title": "Your first international order",
                            "discount": "Free shipping",
                            "code": "WORLDWIDE",
                            "conditions": "Orders over 100 EUR.",
                        },
                    },
                    {
                        "id": "test",
                        "experiment": {
                            "key": "offer-2026",
                            "holdout": 0.1,
                            "arms": [
                                {
                                    "name": "percent",
                                    "weight": 1,
                                    "block": {
                                        "type": "offer",
                                        "title": "10% off your next order",
                                        "discount": "-10%",
                                        "code": "SAVE10",
                                        "conditions": "One use per customer.",
                                    },
                                },
                                {
                                    "name": "shipping",
                                    "weight": 1,
                                    "block": {
                                        "type": "offer",
                                        "title": "Free express shipping",
                                        "discount": "Express for free",
                                        "code": "FASTFREE",
                                        "conditions": "Orders over 50 EUR.",
                                    },
                                },
                            ],
                        },
                    },
                ],
                "default": {"type": "offer", "title": "Join our newsletter", "text": "News and offers once a month."},
            },
        },
    }


def prepare_data(data_dir: Path, port: int) -> Path:
    """Write the catalog and config into `data_dir` unless they are there already."""
    data_dir.mkdir(parents=True, exist_ok=True)
    items_path = data_dir / "items.jsonl"
    if not items_path.exists():
        tmp = items_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(i) + "\n" for i in build_catalog()), encoding="utf-8")
        tmp.replace(items_path)
    config_path = data_dir / "slotwise.yaml"
    if not config_path.exists():
        config_path.write_text(
            "# Generated by `slotwise demo`; edit and POST /v1/admin/reload.\n"
            + yaml.safe_dump(add_behaviour(demo_config(port)), sort_keys=False),
            encoding="utf-8",
        )
    else:
        _allow_origins(config_path, demo_config(port)["sites"]["demo"]["origins"])
    return config_path


def _allow_origins(config_path: Path, origins: list[str]) -> None:
    """A later start on another port must still let the demo page call the gateway: add this
    port's origins to the saved config (and keep whatever the user added)."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    site = (data.get("sites") or {}).get("demo") if isinstance(data, dict) else None
    if not isinstance(site, dict):
        return
    given = site.get("origins")
    have: list[Any] = given if isinstance(given, list) else []
    missing = [o for o in origins if o not in have]
    if missing:
        site["origins"] = have + missing
        header = "# Generated by `slotwise demo`; edit and POST /v1/admin/reload.\n"
        config_path.write_text(header + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


_SWITCHES = {
    "device": (("", "as detected"), ("mobile", "mobile"), ("desktop", "desktop"), ("tablet", "tablet")),
    "hour": (("", "now"), ("11", "11:00"), ("16", "16:00"), ("23", "23:00"), ("3", "03:00")),
    "weekday": (("", "today"), ("wed", "Wednesday"), ("sat", "Saturday")),
    "country": (("", "as detected"), ("DE", "Germany"), ("US", "USA"), ("FR", "France"), ("JP", "Japan")),
}


@functools.cache
def _page_template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("slotwise.gateway.demo", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("demo.html")


async def demo_page(request: Request) -> Response:
    """The demo shop page: the simulation switches, the product of `?item=`, and empty slots."""
    query = request.query_params
    simulate: dict[str, Any] = {}
    for key in _SWITCHES:
        value = query.get(key, "")
        if value and value in {v for v, _ in _SWITCHES[key]}:
            simulate[key] = int(value) if key == "hour" else value
    item = query.get("item", "")
    product = request.app.state.runtime.catalog.get(item) if item else None
    page = _page_template().render(
        switches=list(_SWITCHES.items()),
        chosen={k: str(v) for k, v in simulate.items()},
        item=item,
        product=product,
        simulate=simulate,
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


async def demo_image(request: Request) -> Response:
    svg = image_svg(str(request.path_params["name"]))
    if svg is None:
        return Response(status_code=404)
    headers = {"Cache-Control": "public, max-age=86400", "Access-Control-Allow-Origin": "*"}
    return Response(svg, media_type="image/svg+xml", headers=headers)


ROUTES = [Route("/demo", demo_page, methods=["GET"]), Route("/demo/img/{name}.svg", demo_image, methods=["GET"])]


def prepare_hooks() -> list[Any]:
    """Steps that fill the demo store before the gateway starts: simulated visitors, trained models.

    Each is `hook(data_dir, config_path)`; parts that are not installed add nothing.
    """
    from slotwise.gateway.demo.simulate import demo_hook  # first: it writes events.jsonl, the models' training input

    hooks = [demo_hook]
    try:
        from slotwise.models.demo import demo_hook as train_models  # needs the `train` extra
    except ImportError:
        log.warning(
            "scikit-learn is not installed: the demo serves without trained models (pip install 'slotwise[train]')"
        )
    else:
        hooks.append(train_models)
    return hooks
