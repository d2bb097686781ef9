# SPDX-License-Identifier: Apache-2.0
"""Load and validate `slotwise.yaml`; every error names its path in the file.

slots.home-hero.variants[2].when: unknown segment 'vip' at column 9
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slotwise.gateway.blocks.renderer import validate_block
from slotwise.gateway.common.vocabulary import CONSENT_LEVELS, WEEKDAYS
from slotwise.gateway.context.clock import zone
from slotwise.gateway.rules.expr import Compiled, ExprError, compile_expr
from slotwise.gateway.rules.segments import Segment

# Modules that register expression names and recommendation strategies when imported.
EXTENSIONS = ("slotwise.gateway.rules.profile_names", "slotwise.gateway.recommend.model_strategies")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


class ConfigError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("invalid configuration:\n  " + "\n  ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class BusinessHours:
    days: frozenset[str] = frozenset(WEEKDAYS[:5])
    start: int = 9 * 60
    end: int = 17 * 60


@dataclass(frozen=True)
class SiteConfig:
    name: str
    publishable_key: str
    secret_key: str
    origins: tuple[str, ...] = ()
    timezone: str = "UTC"
    business_hours: BusinessHours = BusinessHours()
    default_consent: str = "full"
    honour_dnt: bool = False
    allow_simulation: bool = False
    internal_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatewaySettings:
    slot_budget_ms: float = 50.0
    max_body_bytes: int = 65536
    max_slots: int = 20
    default_ttl: int = 300
    templates_dir: Path | None = None


@dataclass(frozen=True)
class GeoSettings:
    country_headers: tuple[str, ...] = ()
    region_headers: tuple[str, ...] = ()
    maxmind_db: Path | None = None
    lookup: Callable[[str], tuple[str, str | None] | None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CacheSettings:
    catalog_size: int = 10000
    catalog_ttl: float = 300.0
    blocks_size: int = 5000
    blocks_ttl: float = 60.0


@dataclass(frozen=True)
class Arm:
    name: str
    weight: float
    block: dict[str, Any]


@dataclass(frozen=True)
class Experiment:
    key: str
    holdout: float
    arms: tuple[Arm, ...]
    status: str = "running"
    """draft | running | paused | stopped (see decisions.experiments.phase)."""
    winner: str | None = None
    start: float | None = None
    end: float | None = None
    traffic: float = 1.0
    window_days: float = 7.0


@dataclass(frozen=True)
class Variant:
    id: str
    when: Compiled | None
    block: dict[str, Any] | None = None
    experiment: Experiment | None = None


@dataclass(frozen=True)
class Slot:
    name: str
    default: dict[str, Any]
    variants: tuple[Variant, ...] = ()
    description: str = ""
    budget_ms: float | None = None
    ttl: int | None = None


@dataclass(frozen=True)
class Config:
    sites: dict[str, SiteConfig]
    gateway: GatewaySettings = GatewaySettings()
    geo: GeoSettings = GeoSettings()
    trusted_proxies: tuple[Any, ...] = ()
    cache: CacheSettings = CacheSettings()
    catalog_path: Path | None = None
    attributes: frozenset[str] = frozenset()
    segments: dict[str, Segment] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def site_by_secret(self, key: str) -> SiteConfig | None:
        for site in self.sites.values():
            if site.secret_key == key:
                return site
        return None


def load_extensions() -> None:
    for module in EXTENSIONS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError([f"{path}:{where} invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    return parse_config(data, base_dir=path.parent, source=path)


class _Checker:
    """Collects errors instead of stopping at the first, so one run shows them all."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}" if path else message)

    def mapping(self, value: Any, path: str, allowed: set[str] | None = None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {type(value).__name__}")
            return {}
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    self.error(
                        f"{path}.{key}" if path else str(key),
                        f"unknown key (expected one of: {', '.join(sorted(allowed))})",
                    )
        return value

    def get(
        self,
        data: dict[str, Any],
        key: str,
        path: str,
        kind: type | tuple[type, ...],
        default: Any = None,
        required: bool = False,
    ) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if required:
                self.error(where, "is required")
            return default
        value = data[key]
        if isinstance(value, str):
            value = _ENV_REF.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.error(where, f"expected {names}, got {type(value).__name__}")
            return default
        return value

    def number(self, data: dict[str, Any], key: str, path: str, default: float, low: float, high: float) -> float:
        value = self.get(data, key, path, float, default)
        if not (low <= value <= high):
            self.error(f"{path}.{key}", f"must be between {low:g} and {high:g}, got {value:g}")
            return default
        return float(value)


def _minutes(value: Any) -> int | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value))
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or (int(m.group(1)) == 24 and m.group(2) != "00"):
        return None
    return int(m.group(1)) * 60 + int(m.group(2))


def _days(value: Any) -> frozenset[str] | None:
    items = value if isinstance(value, list) else [value]
    days: list[str] = []
    for item in items:
        text = str(item).strip().lower()
        if ".." in text:
            a, _, b = text.partition("..")
            if a not in WEEKDAYS or b not in WEEKDAYS:
                return None
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            days.extend(WEEKDAYS[(i + k) % 7] for k in range((j - i) % 7 + 1))
        elif text in WEEKDAYS:
            days.append(text)
        else:
            return None
    return frozenset(days)


def _parse_site(c: _Checker, name: str, raw: Any) -> SiteConfig | None:
    path = f"sites.{name}"
    data = c.mapping(
        raw,
        path,
        {
            "publishable_key",
            "secret_key",
            "origins",
            "timezone",
            "business_hours",
            "default_consent",
            "honour_dnt",
            "allow_simulation",
            "internal_hosts",
        },
    )
    pk = c.get(data, "publishable_key", path, str, required=True)
    sk = c.get(data, "secret_key", path, str, required=True)
    if pk and sk and pk == sk:
        c.error(f"{path}.secret_key", "must differ from the publishable key")
    for key, value in (("publishable_key", pk), ("secret_key", sk)):
        if value and _ENV_REF.search(value):
            c.error(f"{path}.{key}", f"environment variable in {value!r} is not set")
    origins = c.get(data, "origins", path, list, [])
    for i, origin in enumerate(origins):
        if not isinstance(origin, str) or not re.fullmatch(r"https?://[^/\s]+|\*", origin):
            c.error(f"{path}.origins[{i}]", f"expected an origin like https://example.com, got {origin!r}")
    tz = c.get(data, "timezone", path, str, "UTC")
    if zone(tz) is None:
        c.error(f"{path}.timezone", f"unknown IANA time zone {tz!r}")
        tz = "UTC"
    bh_raw = c.mapping(data.get("business_hours"), f"{path}.business_hours", {"days", "start", "end"})
    bh = BusinessHours()
    if bh_raw:
        days = _days(bh_raw.get("days", "mon..fri"))
        start = _minutes(bh_raw.get("start", "09:00"))
        end = _minutes(bh_raw.get("end", "17:00"))
        if days is None:
            c.error(f"{path}.business_hours.days", "expected weekdays like mon..fri or [mon, tue]")
        if start is None or end is None or (start is not None and end is not None and end <= start):
            c.error(f"{path}.business_hours", "start and end are HH:MM with start before end")
        if days is not None and start is not None and end is not None:
            bh = BusinessHours(days, start, end)
    consent = c.get(data, "default_consent", path, str, "full")
    if consent not in CONSENT_LEVELS:
        c.error(f"{path}.default_consent", f"must be one of {', '.join(CONSENT_LEVELS)}")
        consent = "full"
    hosts = tuple(str(h).lower() for h in c.get(data, "internal_hosts", path, list, []))
    if not (pk and sk):
        return None
    return SiteConfig(
        name,
        pk,
        sk,
        tuple(origins),
        tz,
        bh,
        consent,
        c.get(data, "honour_dnt", path, bool, False),
        c.get(data, "allow_simulation", path, bool, False),
        hosts,
    )


def _compile_when(c: _Checker, raw: Any, path: str, segments: set[str], attributes: set[str]) -> Compiled | None:
    if raw is None:
        return None
    if isinstance(raw, list):
        if not raw or not all(isinstance(x, str) for x in raw):
            c.error(path, "a list of segment names must hold at least one name")
            return None
        for name in raw:
            if name not in segments:
                c.error(path, f"unknown segment '{name}'")
                return None
        source = " and ".join(f"segment('{name}')" for name in raw)
    elif isinstance(raw, str):
        if raw in segments:
            source = f"segment('{raw}')"
        elif _NAME.fullmatch(raw) and "-" in raw:
            c.error(path, f"unknown segment '{raw}'")
            return None
        else:
            source = raw
    else:
        c.error(path, f"expected a segment name, a list of them, or an expression, got {type(raw).__name__}")
        return None
    try:
        return compile_expr(source, segments, attributes)
    except ExprError as exc:
        c.error(path, str(exc))
        return None


EXPERIMENT_STATUSES = ("draft", "running", "paused", "stopped")


def _instant(c: _Checker, data: dict[str, Any], key: str, path: str) -> float | None:
    """A date (midnight UTC) or an RFC 3339 date-time."""
    import datetime as dt

    raw = data.get(key)
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return (raw if raw.tzinfo else raw.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day, tzinfo=dt.UTC).timestamp()
    if isinstance(raw, str):
        try:
            when = dt.datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    c.error(f"{path}.{key}", f"must be a date (2026-01-31) or a date-time with offset, got {raw!r}")
    return None


def _parse_experiment(c: _Checker, raw: Any, path: str, ctx: dict[str, Any]) -> Experiment | None:
    data = c.mapping(
        raw, path, {"key", "holdout", "arms", "status", "winner", "start", "end", "traffic", "window_days"}
    )
    key = c.get(data, "key", path, str, required=True)
    holdout = c.number(data, "holdout", path, 0.0, 0.0, 0.99)
    status = c.get(data, "status", path, str, "running")
    if status not in EXPERIMENT_STATUSES:
        c.error(f"{path}.status", f"must be one of {', '.join(EXPERIMENT_STATUSES)}, got {status!r}")
    winner = c.get(data, "winner", path, str)
    start, end = _instant(c, data, "start", path), _instant(c, data, "end", path)
    if start is not None and end is not None and end <= start:
        c.error(f"{path}.end", "must be after start")
    traffic = c.number(data, "traffic", path, 1.0, 0.0, 1.0)
    window_days = c.number(data, "window_days", path, 7.0, 0.01, 365.0)
    arms_raw = c.get(data, "arms", path, list, [], required=True)
    arms: list[Arm] = []
    names: set[str] = set()
    for i, arm_raw in enumerate(arms_raw):
        apath = f"{path}.arms[{i}]"
        arm = c.mapping(arm_raw, apath, {"name", "weight", "block"})
        name = c.get(arm, "name", apath, str, required=True)
        if name in names:
            c.error(f"{apath}.name", f"duplicate arm name '{name}'")
        names.add(name)
        weight = c.number(arm, "weight", apath, 1.0, 0.0, 1e6)
        block = validate_block(arm.get("block"), f"{apath}.block", c.error, ctx)
        if name and block is not None:
            arms.append(Arm(name, weight, block))
    if arms_raw and len(arms) == len(arms_raw) and sum(a.weight for a in arms) <= 0:
        c.error(f"{path}.arms", "weights must add up to more than 0")
        return None
    if len(arms_raw) < 1:
        c.error(f"{path}.arms", "needs at least one arm")
    if winner is not None and winner not in names:
        c.error(f"{path}.winner", f"unknown arm '{winner}'; one of {', '.join(a.name for a in arms)}")
    if not key or len(arms) != len(arms_raw) or not arms:
        return None
    return Experiment(key, holdout, tuple(arms), status, winner, start, end, traffic, window_days)


def _parse_slot(c: _Checker, name: str, raw: Any, ctx: dict[str, Any]) -> Slot | None:
    path = f"slots.{name}"
    data = c.mapping(raw, path, {"description", "default", "variants", "budget_ms", "ttl"})
    default = validate_block(data.get("default"), f"{path}.default", c.error, ctx, required=True)
    variants: list[Variant] = []
    raw_variants = c.get(data, "variants", path, list, [])
    experiment_keys: set[str] = set()
    for i, vraw in enumerate(raw_variants):
        vpath = f"{path}.variants[{i}]"
        v = c.mapping(vraw, vpath, {"id", "when", "block", "experiment"})
        vid = c.get(v, "id", vpath, str, f"v{i + 1}")
        when = _compile_when(c, v.get("when"), f"{vpath}.when", ctx["segments"], ctx["attributes"])
        if ("block" in v) == ("experiment" in v):
            c.error(vpath, "needs exactly one of 'block' or 'experiment'")
            continue
        if "block" in v:
            block = validate_block(v["block"], f"{vpath}.block", c.error, ctx, required=True)
            if block is not None and (when is not None or v.get("when") is None):
                variants.append(Variant(vid, when, block=block))
        else:
            exp = _parse_experiment(c, v["experiment"], f"{vpath}.experiment", ctx)
            if exp is not None:
                if exp.key in experiment_keys:
                    c.error(f"{vpath}.experiment.key", f"duplicate experiment key '{exp.key}'")
                experiment_keys.add(exp.key)
                variants.append(Variant(vid, when, experiment=exp))
    budget = c.get(data, "budget_ms", path, float)
    ttl = c.get(data, "ttl", path, int)
    if default is None:
        return None
    return Slot(name, default, tuple(variants), c.get(data, "description", path, str, ""), budget, ttl)


def _find_cycle(graph: dict[str, frozenset[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state:
                found = visit(nxt, [*trail, node])
                if found:
                    return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [])
            if cycle:
                return cycle
    return None


def parse_config(data: Any, base_dir: Path = Path("."), source: Path | None = None) -> Config:
    load_extensions()
    c = _Checker()
    top = c.mapping(
        data,
        "",
        {
            "sites",
            "gateway",
            "geo",
            "trusted_proxies",
            "cache",
            "catalog",
            "attributes",
            "segments",
            "slots",
            "store",
            "models",
        },
    )
    sites: dict[str, SiteConfig] = {}
    for name, raw in c.mapping(top.get("sites"), "sites").items():
        if not _NAME.fullmatch(str(name)):
            c.error(f"sites.{name}", "site names use letters, digits, '-' and '_'")
            continue
        site = _parse_site(c, str(name), raw)
        if site:
            sites[str(name)] = site
    if not top.get("sites"):
        c.error("sites", "at least one site is required")
    keys = [k for s in sites.values() for k in (s.publishable_key, s.secret_key)]
    if len(keys) != len(set(keys)):
        c.error("sites", "every key must be unique across sites")

    gw = c.mapping(
        top.get("gateway"), "gateway", {"slot_budget_ms", "max_body_bytes", "max_slots", "default_ttl", "templates_dir"}
    )
    templates = c.get(gw, "templates_dir", "gateway", str)
    templates_dir = (base_dir / templates) if templates else None
    if templates_dir is not None and not templates_dir.is_dir():
        c.error("gateway.templates_dir", f"no such directory: {templates_dir}")
    gateway = GatewaySettings(
        c.number(gw, "slot_budget_ms", "gateway", 50.0, 1.0, 10000.0),
        int(c.number(gw, "max_body_bytes", "gateway", 65536, 1024, 64 * 1024 * 1024)),
        int(c.number(gw, "max_slots", "gateway", 20, 1, 200)),
        int(c.number(gw, "default_ttl", "gateway", 300, 0, 86400)),
        templates_dir,
    )

    geo_raw = c.mapping(top.get("geo"), "geo", {"country_headers", "region_headers", "maxmind_db"})
    geo = GeoSettings(
        tuple(str(h) for h in c.get(geo_raw, "country_headers", "geo", list, [])),
        tuple(str(h) for h in c.get(geo_raw, "region_headers", "geo", list, [])),
    )
    mmdb = c.get(geo_raw, "maxmind_db", "geo", str)
    if mmdb:
        geo = _with_maxmind(c, geo, base_dir / mmdb)

    proxies: list[Any] = []
    for i, net in enumerate(c.get(top, "trusted_proxies", "", list, [])):
        try:
            proxies.append(ipaddress.ip_network(str(net), strict=False))
        except ValueError:
            c.error(f"trusted_proxies[{i}]", f"not an IP address or network: {net!r}")

    cache_raw = c.mapping(top.get("cache"), "cache", {"catalog", "blocks"})
    cat_c = c.mapping(cache_raw.get("catalog"), "cache.catalog", {"size", "ttl"})
    blk_c = c.mapping(cache_raw.get("blocks"), "cache.blocks", {"size", "ttl"})
    cache = CacheSettings(
        int(c.number(cat_c, "size", "cache.catalog", 10000, 0, 10_000_000)),
        c.number(cat_c, "ttl", "cache.catalog", 300, 0, 86400),
        int(c.number(blk_c, "size", "cache.blocks", 5000, 0, 10_000_000)),
        c.number(blk_c, "ttl", "cache.blocks", 60, 0, 86400),
    )

    catalog_raw = c.mapping(top.get("catalog"), "catalog", {"path"})
    catalog_rel = c.get(catalog_raw, "path", "catalog", str)
    catalog_path = base_dir / catalog_rel if catalog_rel else None

    attributes = set()
    for i, a in enumerate(c.get(top, "attributes", "", list, [])):
        if not isinstance(a, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", a):
            c.error(f"attributes[{i}]", f"attribute names are identifiers, got {a!r}")
        else:
            attributes.add(a)

    raw_segments = c.mapping(top.get("segments"), "segments")
    names = {str(n) for n in raw_segments}
    segments: dict[str, Segment] = {}
    for name, raw in raw_segments.items():
        path = f"segments.{name}"
        if not _NAME.fullmatch(str(name)):
            c.error(path, "segment names use letters, digits, '-' and '_'")
            continue
        if isinstance(raw, dict):
            c.mapping(raw, path, {"when", "description"})
            rule = _compile_when(c, raw.get("when"), f"{path}.when", names, attributes)
            desc = c.get(raw, "description", path, str, "")
        else:
            rule, desc = _compile_when(c, raw, path, names, attributes), ""
        if rule is not None:
            segments[str(name)] = Segment(str(name), rule, desc)
    cycle = _find_cycle({n: s.rule.segments for n, s in segments.items()})
    if cycle:
        c.error(f"segments.{cycle[0]}", f"segments refer to each other in a cycle: {' -> '.join(cycle)}")

    ctx = {"segments": names, "attributes": attributes, "templates_dir": templates_dir}
    slots: dict[str, Slot] = {}
    for name, raw in c.mapping(top.get("slots"), "slots").items():
        if not _NAME.fullmatch(str(name)):
            c.error(f"slots.{name}", "slot names use letters, digits, '-' and '_'")
            continue
        slot = _parse_slot(c, str(name), raw, ctx)
        if slot:
            slots[str(name)] = slot

    store = c.mapping(top.get("store"), "store")
    models = c.mapping(top.get("models"), "models")
    if c.errors:
        raise ConfigError(c.errors)
    return Config(
        sites,
        gateway,
        geo,
        tuple(proxies),
        cache,
        catalog_path,
        frozenset(attributes),
        segments,
        slots,
        dict(store),
        dict(models),
        source,
    )


def _with_maxmind(c: _Checker, geo: GeoSettings, path: Path) -> GeoSettings:
    """Optional MaxMind GeoIP2/GeoLite2 database through the `maxminddb` reader if installed."""
    try:
        import maxminddb  # type: ignore[import-not-found]
    except ImportError:
        c.error("geo.maxmind_db", "needs the 'maxminddb' package (pip install maxminddb)")
        return geo
    try:
        reader = maxminddb.open_database(str(path))
    except (OSError, ValueError) as exc:
        c.error("geo.maxmind_db", f"cannot open {path}: {exc}")
        return geo

    def lookup(addr: str) -> tuple[str, str | None] | None:
        try:
            rec = reader.get(addr)
        except ValueError:
            return None
        if not isinstance(rec, dict) or "country" not in rec:
            return None
        subs = rec.get("subdivisions") or [{}]
        return rec["country"].get("iso_code"), subs[0].get("iso_code")

    return GeoSettings(geo.country_headers, geo.region_headers, path, lookup)
