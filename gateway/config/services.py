# SPDX-License-Identifier: Apache-2.0
"""Schema of the `store` and `models` sections: the settings the long-lived services open with.

store: {backend: sqlite, path: slotwise.db, retention_days: 365}
store: {backend: redis, url: redis://127.0.0.1:6379/0, prefix: "slotwise:"}
models: {dir: models, intra_op_threads: 1, watch_seconds: 5}
retrain: {every: 24h, bundle: recommender, min_new_events: 1000, margin: 0.02, keep: 5}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, Field, ValidationError

from slotwise.gateway.config.errors import ConfigError, messages
from slotwise.gateway.config.fields import Strict, between, drop_nulls, expand_env

_Positive = Annotated[float, Field(gt=0)]


class RateLimits(Strict):
    visitor_per_minute: _Positive = 1200.0
    client_per_minute: _Positive = 600000.0

    def __getitem__(self, key: str) -> float:
        return float(getattr(self, key))


class StoreSettings(Strict):
    """Events and profiles store; `path` is relative to the configuration file."""

    enabled: bool = True
    measure: bool = True  # exposures, attribution, KPIs and experiment counters aggregated on ingest
    backend: Literal["sqlite", "redis"] = "sqlite"
    path: Annotated[Path, Field(strict=False)] = Path("slotwise.db")
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "slotwise:"
    retention_days: between(1, 36500) = 365.0  # type: ignore[valid-type]
    export_log: bool = True  # redis: number events for `slotwise export` (log:{site}, ~120 B an event)
    synchronous: Literal["normal", "full"] = "normal"
    max_batch: between(1, 100000, int) = 500  # type: ignore[valid-type]
    max_batch_bytes: between(1024, 64 * 1_048_576, int) = 1_048_576  # type: ignore[valid-type]
    max_future_seconds: between(0, 86400) = 300.0  # type: ignore[valid-type]
    wal_limit_mb: between(1, 1_000_000, int) = 64  # type: ignore[valid-type]  # SQLite: WAL cut past this
    cache_mb: between(1, 65536, int) = 4  # type: ignore[valid-type]  # SQLite: the writer's page cache
    rate_limit: RateLimits = RateLimits()

    def resolved(self, base_dir: Path) -> StoreSettings:
        return self.model_copy(update={"path": base_dir / self.path})


class ModelsSettings(Strict):
    """Directory of ONNX model bundles; `dir` is relative to the configuration file."""

    dir: Annotated[str, Field(min_length=1)]
    intra_op_threads: between(1, 64, int) = 1  # type: ignore[valid-type]
    watch_seconds: Annotated[float, Field(ge=0)] = 5.0

    def root(self, base_dir: Path) -> Path:
        root = Path(self.dir)
        return root if root.is_absolute() else base_dir / root


def _duration(value: Any) -> Any:
    """`90s`, `30m`, `24h`, `7d` or seconds as a number."""
    if isinstance(value, str):
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        text = value.strip().lower()
        try:
            return float(text[:-1]) * units[text[-1]] if text[-1:] in units else float(text)
        except ValueError:
            raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 30m, 24h, 7d)") from None
    return value


class RetrainSettings(Strict):
    """Automated retraining (docs/models.md): `slotwise retrain`, and on a schedule in `serve`."""

    every: Annotated[float, BeforeValidator(_duration), Field(ge=60)] | None = None
    """Seconds between scheduled runs in `slotwise serve`; none (the default) means no schedule."""
    site: str | None = None  # the site whose events train; default: the only site
    bundle: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")] = "recommender"
    kind: Literal["recommender", "propensity"] = "recommender"  # what the bundle holds, how it is scored
    min_new_events: between(0, 1e12, int) = 1000  # type: ignore[valid-type]
    holdout_share: Annotated[float, Field(gt=0, lt=1)] = 0.2
    margin: between(0, 10) = 0.02  # type: ignore[valid-type]  # relative: candidate >= live * (1 + margin)
    metric: Literal["ndcg@10", "map", "recall@10", "precision@10", "hit@10", "auc"] | None = None
    """The decision metric; default ndcg@10 for a recommender, auc for propensity (higher is better)."""
    keep: between(1, 1000, int) = 5  # type: ignore[valid-type]
    timeout: Annotated[float, BeforeValidator(_duration), Field(gt=0)] = 3600.0


S = TypeVar("S", StoreSettings, ModelsSettings, RetrainSettings)


def validate_section(name: str, model: type[S], section: Any) -> S:
    """One section on its own (tools that read only `store:`); ConfigError names every fault."""
    try:
        return model.model_validate(expand_env(drop_nulls(section)))
    except ValidationError as exc:
        raise ConfigError(messages(exc, model, (name,))) from None
