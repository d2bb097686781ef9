# SPDX-License-Identifier: Apache-2.0
"""One retraining run: enough new data? train a candidate, compare with the live bundle, decide.

The steps, each leaving the live bundle serving when it fails: count the site's events since
the live bundle's training watermark (`training_window.to`); write the site's events to a
staging file; train and score the candidate in a subprocess (`python -m slotwise.models.retrain`,
temporal holdout); promote only when the candidate beats the live score by the relative
`margin`, with `model_card.md` and `retrain.json` in the bundle saying both scores and why;
keep the newest `keep` versions. Every run is appended to `NAME/retrain.jsonl` and the last one
is `NAME/retrain-last.json` (the studio reads them). A failed run raises an alert.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slotwise.gateway.common.eventlog import event_line
from slotwise.gateway.config.loader import Config
from slotwise.gateway.config.services import RetrainSettings
from slotwise.gateway.ops.alerts import raise_alert
from slotwise.gateway.recommend import bundle_versions as bv

log = logging.getLogger("slotwise.retrain")
LOG_FILE, LAST_FILE = "retrain.jsonl", "retrain-last.json"


class RetrainError(ValueError):
    """A run that cannot start (no models section, unknown site, store missing)."""


def open_events(config: Config) -> Any:
    """The store's events through the export readers (SQLite file read-only, or Redis)."""
    from slotwise.gateway.export.redis_rows import RedisEvents
    from slotwise.gateway.export.rows import SQLiteEvents

    settings = config.store
    if settings is None or not settings.enabled:
        raise RetrainError("retraining reads the store's events: the configuration has no store")
    if settings.backend == "redis":
        return RedisEvents(settings.url, settings.prefix)
    try:
        return SQLiteEvents(settings.path)
    except FileNotFoundError:
        raise RetrainError(f"no store at {settings.path}") from None


def pick_site(config: Config, site: str | None) -> str:
    site = site or config.retrain.site
    if site is None:
        if len(config.sites) != 1:
            raise RetrainError(f"give --site (or retrain.site): one of {', '.join(sorted(config.sites))}")
        return next(iter(config.sites))
    if site not in config.sites:
        raise RetrainError(f"unknown site {site!r}; one of {', '.join(sorted(config.sites))}")
    return site


def models_root(config: Config) -> Path:
    if config.models is None:
        raise RetrainError("retraining writes bundles to models.dir: the configuration has no models section")
    return Path(config.models.dir)


@contextlib.contextmanager
def run_lock(root: Path) -> Iterator[bool]:
    """One run at a time per model directory (replicas' schedules may fire together)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".retrain.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def watermark(live: Path | None) -> float | None:
    if live is None:
        return None
    try:
        window = json.loads((live / "manifest.json").read_text(encoding="utf-8")).get("training_window") or {}
    except (OSError, ValueError):
        return None
    to = window.get("to") if isinstance(window, dict) else None
    return float(to) if isinstance(to, (int, float)) else None


def retrain(config: Config, site: str | None = None, force: bool = False, metrics: Any = None) -> dict[str, Any]:
    """Run once; the outcome (`status`: promoted, refused, skipped or failed) as a dict."""
    settings = config.retrain
    root, site = models_root(config), pick_site(config, site)
    name = settings.bundle
    with run_lock(root) as locked:
        if not locked:
            return {"status": "skipped", "reason": "another retraining run holds the lock", "bundle": name}
        events = open_events(config)
        try:
            outcome = _run(config, events, root, site, force, metrics)
        finally:
            events.close()
    outcome.update(bundle=name, site=site, at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    name_dir = root / name
    name_dir.mkdir(parents=True, exist_ok=True)
    with open(name_dir / LOG_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(outcome, sort_keys=True) + "\n")
    (name_dir / LAST_FILE).write_text(json.dumps(outcome, indent=2, sort_keys=True), encoding="utf-8")
    if outcome["status"] == "promoted":
        publish_models_change(config)
    return outcome


def _run(config: Config, events: Any, root: Path, site: str, force: bool, metrics: Any) -> dict[str, Any]:
    settings = config.retrain
    name = settings.bundle
    live = bv.live_version(root, name)
    since = watermark(live)
    new = events.count_since(site, since)
    base = {"live_version": live.name if live else None, "watermark": since, "new_events": new}
    if new < settings.min_new_events and not force:
        reason = f"{new} new events since the live bundle's watermark, fewer than {settings.min_new_events}"
        return {**base, "status": "skipped", "reason": reason}
    staged = bv.staging_dir(root, name, f"candidate-{os.getpid()}-{int(time.time())}")
    bv.discard(staged)
    data = staged.with_name(staged.name + ".events.jsonl")
    try:
        with open(data, "w", encoding="utf-8") as fh:
            for event in events.raw_events(site):
                fh.write(event_line(event) + "\n")
        result = _train(config, data, staged, live)
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        bv.discard(staged)
        reason = f"candidate failed, live version {live.name if live else '(none)'} keeps serving: {exc}"
        raise_alert("retrain_failed", f"{name}: {reason}", metrics, bundle=name, site=site)
        return {**base, "status": "failed", "reason": reason}
    finally:
        data.unlink(missing_ok=True)
    return _decide(settings, root, name, staged, live, result, base)


def _train(config: Config, data: Path, out: Path, live: Path | None) -> dict[str, Any]:
    """Train and score the candidate in a subprocess; its JSON result, or ValueError with its stderr."""
    settings = config.retrain
    result_path = out.with_name(out.name + ".result.json")
    cmd = [sys.executable, "-m", "slotwise.models.retrain", "--events", str(data), "--out", str(out)]
    cmd += ["--holdout-share", str(settings.holdout_share), "--result", str(result_path), "--kind", settings.kind]
    if live is not None:
        cmd += ["--live", str(live)]
    if config.catalog_path is not None and config.catalog_path.exists():
        cmd += ["--items", str(config.catalog_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=settings.timeout, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise ValueError(tail[:500])
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        return result
    except subprocess.TimeoutExpired:
        raise ValueError(f"training took longer than retrain.timeout ({settings.timeout:g} s)") from None
    finally:
        result_path.unlink(missing_ok=True)


def _decide(
    settings: RetrainSettings,
    root: Path,
    name: str,
    staged: Path,
    live: Path | None,
    result: dict[str, Any],
    base: dict[str, Any],
) -> dict[str, Any]:
    metric = settings.metric or ("auc" if settings.kind == "propensity" else "ndcg@10")
    margin = settings.margin
    cand = float(result["candidate"].get(metric, 0.0))
    live_score = float(result["live"].get(metric, 0.0)) if result.get("live") else None
    if live_score is None:
        better, why = True, f"no live bundle to compare with; candidate {metric} {cand:.4f}"
    else:
        need = live_score * (1 + margin)
        better = cand > live_score and cand >= need
        verdict = "at least" if better else "below"
        why = (
            f"candidate {metric} {cand:.4f} vs live {live_score:.4f}: {verdict} the live score "
            f"x (1 + margin {margin:g}) = {need:.4f}"
        )
    version = str(json.loads((staged / "manifest.json").read_text(encoding="utf-8"))["version"])
    record = {**base, "metric": metric, "margin": margin, "candidate_score": cand, "live_score": live_score}
    record.update(candidate_version=version, why=why, scores=result)
    (staged / "model_card.md").write_text(model_card(name, version, record), encoding="utf-8")
    (staged / "retrain.json").write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
    if not better:
        bv.discard(staged)
        log.info("retrain %s: candidate %s refused: %s", name, version, why)
        return {**record, "status": "refused", "reason": why}
    bv.install(root, name, staged, version)
    bv.promote(root, name, version, why)
    removed = bv.prune(root, name, settings.keep)
    log.info("retrain %s: candidate %s promoted: %s", name, version, why)
    return {**record, "status": "promoted", "reason": why, "version": version, "pruned": removed}


def model_card(name: str, version: str, record: dict[str, Any]) -> str:
    scores = record["scores"]
    metrics = sorted(k for k in scores["candidate"] if k not in {"users", "sessions"})
    live = scores.get("live") or {}
    rows = [f"| {m} | {scores['candidate'][m]:.4f} | {_cell(live.get(m))} |" for m in metrics]
    if scores.get("kind") == "propensity":
        holdout = (
            f"the {scores['candidate'].get('sessions')} sessions starting after that cut (temporal holdout, "
            "AUC and Brier of the purchase probability)"
        )
    else:
        holdout = (
            f"the {scores['holdout_users']} visitors with history before that cut and new items after it "
            f"(temporal holdout, top {scores['k']}, seen items removed)"
        )
    return "\n".join(
        [
            f"# Model card: {name} {version}",
            "",
            f"Retrained on the events up to {scores['cut']:.0f} (unix seconds); evaluated against the live "
            f"version {record['live_version'] or '(none)'} on {holdout}.",
            "",
            "| metric | candidate | live |",
            "| --- | --- | --- |",
            *rows,
            "",
            f"Decision metric {record['metric']}, margin {record['margin']:g} (relative): {record['why']}.",
            "",
        ]
    )


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "-"


def publish_models_change(config: Config) -> None:
    """Tell replicas on a Redis store to rescan their model directory (as a bundle load does)."""
    settings = config.store
    if settings is None or settings.backend != "redis":
        return  # one gateway: its directory watch (or POST /v1/admin/models/reload) picks it up
    import redis

    message = {"origin": f"retrain-{os.getpid()}", "kind": "models", "sha256": ""}
    try:
        client = redis.Redis.from_url(settings.url, socket_connect_timeout=2)
        client.publish(f"{settings.prefix}sync", json.dumps(message))
        client.close()
    except (redis.RedisError, OSError) as exc:
        log.warning("could not tell the replicas about the new model version: %s", exc)
