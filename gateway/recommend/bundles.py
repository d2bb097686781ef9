# SPDX-License-Identifier: Apache-2.0
"""ONNX model bundles in the gateway: verify, load, smoke-test, swap atomically, serve.

A bundle directory holds `manifest.json` (models, sha256 of every file), the ONNX files and id
maps (`items.json`). `load_bundle` refuses a bundle whose manifest, checksums, graph schema or
smoke inference is wrong, naming the file and the fault; `ModelRegistry.reload` swaps only good
bundles in, so a bad upload is logged and the previous version keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from slotwise.gateway.common.periodic import run_every
from slotwise.gateway.config.services import ModelsSettings, validate_section
from slotwise.gateway.recommend.bundle_versions import serving_order

log = logging.getLogger("slotwise.models")
FORMATS = {"slotwise-bundle/1"}
PROVIDER = "CPUExecutionProvider"


class BundleError(ValueError):
    """Why a bundle was refused; the message names the file or key at fault."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    session: ort.InferenceSession
    input: str
    output: str
    width: int

    def run(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.session.run([self.output], {self.input: np.ascontiguousarray(x, dtype=np.float32)})[0]
        return out


@dataclass(frozen=True)
class Bundle:
    name: str
    version: str
    path: Path
    kind: str
    manifest: dict[str, Any]
    models: dict[str, LoadedModel]
    items: tuple[str, ...] = ()
    item_pos: dict[str, int] = field(default_factory=dict, compare=False)
    loaded_at: float = field(default_factory=time.time)

    @property
    def default(self) -> str:
        return str(self.manifest["default"])

    def role(self, role: str) -> LoadedModel | None:
        """The model serving a role (cf, content, hybrid, similar, popular) or named so."""
        name = (self.manifest.get("roles") or {}).get(role, role)
        return self.models.get(name)

    def encode(self, weights: dict[str, float]) -> np.ndarray:
        """A visitor's item → weight map as the `interactions` row of a recommender."""
        row = np.zeros((1, len(self.items)), dtype=np.float32)
        for item, w in weights.items():
            k = self.item_pos.get(item)
            if k is not None and w > 0:
                row[0, k] = w
        return row

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "path": str(self.path),
            "models": sorted(self.models),
            "default": self.default,
            "items": len(self.items) or None,
            "loaded_at": round(self.loaded_at, 3),
        }


def session_options(threads: int) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{path}: no manifest.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}/manifest.json: unreadable ({exc})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}/manifest.json: not a JSON object")
    if manifest.get("format") not in FORMATS:
        raise BundleError(f"{path}/manifest.json: format {manifest.get('format')!r} is not one of {sorted(FORMATS)}")
    models = manifest.get("models")
    if not isinstance(models, dict) or not models:
        raise BundleError(f"{path}/manifest.json: 'models' must be a non-empty object")
    if manifest.get("default") not in models:
        raise BundleError(f"{path}/manifest.json: 'default' {manifest.get('default')!r} is not in 'models'")
    return manifest


def _verified_bytes(path: Path, fname: str, sums: dict[str, str]) -> bytes:
    if "/" in fname or "\\" in fname or fname.startswith("."):
        raise BundleError(f"{path}: file name {fname!r} must be a plain name inside the bundle")
    want = sums.get(fname)
    if not isinstance(want, str):
        raise BundleError(f"{path}/manifest.json: no sha256 for {fname}")
    try:
        data = (path / fname).read_bytes()
    except OSError as exc:
        raise BundleError(f"{path}/{fname}: unreadable ({exc.strerror})") from None
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise BundleError(
            f"{path}/{fname}: sha256 mismatch (manifest {want[:12]}…, file {got[:12]}…, "
            f"{len(data)} bytes): corrupt or truncated"
        )
    return data


def _load_model(path: Path, name: str, entry: Any, data: bytes, width: int | None, threads: int) -> LoadedModel:
    where = f"{path}/{entry.get('file') if isinstance(entry, dict) else '?'}"
    try:
        sess = ort.InferenceSession(data, session_options(threads), providers=[PROVIDER])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise BundleError(f"{where}: onnxruntime cannot load it ({str(exc).splitlines()[0][:200]})") from None
    inputs, outputs = sess.get_inputs(), sess.get_outputs()
    in_name, out_name = entry.get("input"), entry.get("output")
    if len(inputs) != 1 or inputs[0].name != in_name:
        raise BundleError(f"{where}: graph inputs {[i.name for i in inputs]} do not match manifest input {in_name!r}")
    if out_name not in {o.name for o in outputs}:
        raise BundleError(f"{where}: graph outputs {[o.name for o in outputs]} lack manifest output {out_name!r}")
    if inputs[0].type != "tensor(float)" or len(inputs[0].shape) != 2:
        raise BundleError(f"{where}: input {in_name!r} is {inputs[0].type} {inputs[0].shape}, not float32 [batch, n]")
    graph_width = inputs[0].shape[1]
    expect = width if width is not None else entry.get("input_shape", [None, None])[1]
    if not isinstance(graph_width, int) or (expect is not None and graph_width != expect):
        raise BundleError(f"{where}: input width {graph_width} does not match the manifest/id map ({expect})")
    model = LoadedModel(name, sess, in_name, out_name, graph_width)
    try:  # smoke inference: a batch of two, an empty row and a one-hot row
        x = np.zeros((2, graph_width), dtype=np.float32)
        x[1, 0] = 1.0
        y = model.run(x)
    except Exception as exc:
        raise BundleError(f"{where}: smoke inference failed ({str(exc).splitlines()[0][:200]})") from None
    if y.shape[0] != 2 or (width is not None and y.shape != (2, width)) or not np.isfinite(y.astype(np.float64)).all():
        raise BundleError(f"{where}: smoke inference gave shape {y.shape} or non-finite values")
    return model


def load_bundle(path: Path, threads: int = 1, name: str | None = None) -> Bundle:
    """Verify and load one bundle directory; raise `BundleError` on any fault."""
    manifest = _read_manifest(path)
    sums = manifest.get("sha256")
    if not isinstance(sums, dict):
        raise BundleError(f"{path}/manifest.json: 'sha256' must map file names to digests")
    items: tuple[str, ...] = ()
    if manifest.get("kind") == "recommender" or "items.json" in sums:
        try:
            raw = json.loads(_verified_bytes(path, "items.json", sums))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"{path}/items.json: not JSON ({exc})") from None
        if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
            raise BundleError(f"{path}/items.json: must be a list of item id strings")
        items = tuple(raw)
    models: dict[str, LoadedModel] = {}
    by_file: dict[tuple[str, str, str], LoadedModel] = {}
    for mname, entry in manifest["models"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise BundleError(f"{path}/manifest.json: models.{mname} needs a 'file'")
        key = (entry["file"], str(entry.get("input")), str(entry.get("output")))
        if key in by_file:  # two roles served by one graph: one session
            models[mname] = replace(by_file[key], name=mname)
            continue
        data = _verified_bytes(path, entry["file"], sums)
        width = len(items) if items and entry.get("input") == "interactions" else None
        models[mname] = by_file[key] = _load_model(path, mname, entry, data, width, threads)
    return Bundle(
        name or path.name,
        str(manifest.get("version") or path.name),
        path,
        str(manifest.get("kind") or "unknown"),
        manifest,
        models,
        items,
        {item: k for k, item in enumerate(items)},
    )


def bundle_candidates(root: Path) -> dict[str, list[Path]]:
    """name → bundle directories, live first: `root/NAME/` or `root/NAME/VERSION/`."""
    out: dict[str, list[Path]] = {}
    if not root.is_dir():
        return out
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (d / "manifest.json").exists():
            out[d.name] = [d]
        else:
            # A version without manifest.json is still being written (the manifest comes last);
            # `LIVE` (bundle_versions) puts the promoted version first, else the newest name.
            versions = serving_order(d)
            if versions:
                out[d.name] = versions
    return out


class ModelRegistry:
    """The loaded bundles by name, swapped one reference at a time (readers never lock)."""

    def __init__(self, root: Path, threads: int = 1, watch_seconds: float = 0.0):
        self.root = Path(root)
        self.threads = threads
        self.watch_seconds = watch_seconds
        self._bundles: dict[str, Bundle] = {}
        self._refused: dict[str, str] = {}  # path → reason, so a bad bundle is logged once
        self._reload_lock = threading.Lock()
        self._watcher: asyncio.Task[None] | None = None
        self.batcher = Batcher()
        self.listeners: list[Callable[[], Awaitable[None]]] = []
        """Called after `areload` loaded a new bundle (replica sync tells the other gateways)."""

    def __len__(self) -> int:
        return len(self._bundles)

    def get(self, name: str) -> Bundle | None:
        return self._bundles.get(name)

    def by_kind(self, kind: str) -> Bundle | None:
        """The first loaded bundle of a kind (recommender, segments, propensity), by name."""
        for name in sorted(self._bundles):
            if self._bundles[name].kind == kind:
                return self._bundles[name]
        return None

    def ready(self) -> bool:
        """Ready once a bundle serves, or when there is nothing to load (no models yet)."""
        return bool(self._bundles) or not bundle_candidates(self.root)

    def list(self) -> list[dict[str, Any]]:
        return [self._bundles[n].describe() for n in sorted(self._bundles)]

    def reload(self) -> dict[str, Any]:
        """Load every new bundle version under `root`; keep the old one wherever the new fails."""
        with self._reload_lock:
            report: dict[str, Any] = {"loaded": [], "unchanged": [], "refused": []}
            bundles = dict(self._bundles)
            for name, versions in bundle_candidates(self.root).items():
                current = bundles.get(name)
                for path in versions:
                    if current is not None and current.path == path and _same_manifest(current):
                        report["unchanged"].append(name)
                        break
                    try:
                        bundle = load_bundle(path, self.threads, name)
                    except BundleError as exc:
                        reason = str(exc)
                        if self._refused.get(str(path)) != reason:
                            log.error(
                                "model bundle %s refused, %s: %s",
                                name,
                                f"keeping version {current.version}" if current else "nothing to serve",
                                reason,
                            )
                        self._refused[str(path)] = reason
                        report["refused"].append({"name": name, "path": str(path), "error": reason})
                        if current is not None:
                            break  # the old version keeps serving; never go back to older ones
                        continue  # at start, fall back to the newest version that loads
                    bundles[name] = bundle
                    self._refused.pop(str(path), None)
                    log.info("model bundle %s version %s loaded from %s", name, bundle.version, path)
                    report["loaded"].append(bundle.describe())
                    break
            self._bundles = bundles  # one assignment: readers see the old or the new set
            return report

    async def areload(self) -> dict[str, Any]:
        report = await asyncio.to_thread(self.reload)
        if report["loaded"]:
            for listener in self.listeners:
                await listener()
        return report

    def start_watch(self) -> None:
        if self.watch_seconds > 0 and self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        # a watcher must survive anything a directory throws at it
        await run_every(self.watch_seconds, self.areload, log, "model directory watch failed")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None


def _same_manifest(bundle: Bundle) -> bool:
    try:
        data = json.loads((bundle.path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # unreadable now: keep serving what was verified
    return (
        isinstance(data, dict)
        and data.get("version") == bundle.manifest.get("version")
        and data.get("sha256") == bundle.manifest.get("sha256")
    )


Job = tuple[np.ndarray, "asyncio.Future[np.ndarray]"]


class Batcher:
    """Coalesces rows for the same model submitted in one event-loop turn into one run.

    The slots of a page render as concurrent tasks; each submits its visitor row and awaits.
    The first submission schedules a flush with `call_soon`, which runs after every task of
    that turn has submitted, so one `session.run` serves several slots (and requests).
    """

    def __init__(self) -> None:
        # Per event loop (tests and tools may run several), then per model.
        self._pending: dict[asyncio.AbstractEventLoop, dict[int, tuple[LoadedModel, list[Job]]]] = {}
        self.runs = 0
        self.rows = 0

    async def run(self, model: LoadedModel, row: np.ndarray) -> np.ndarray:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[np.ndarray] = loop.create_future()
        if loop not in self._pending:
            self._pending[loop] = {}
            loop.call_soon(self._flush, loop)
        self._pending[loop].setdefault(id(model), (model, []))[1].append((row, fut))
        return await fut

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        for model, jobs in self._pending.pop(loop, {}).values():
            live = [(r, f) for r, f in jobs if not f.done()]
            if not live:
                continue
            try:
                out = model.run(np.vstack([r for r, _ in live]))
            except Exception as exc:
                for _, f in live:
                    f.set_exception(exc)
                continue
            self.runs += 1
            self.rows += len(live)
            for k, (_, f) in enumerate(live):
                f.set_result(out[k : k + 1])


def build_registry(section: dict[str, Any] | ModelsSettings | None, base_dir: Path = Path(".")) -> ModelRegistry | None:
    """The registry for a `models:` section (checked by the config schema), or None without one."""
    if not section:
        return None
    settings = section if isinstance(section, ModelsSettings) else validate_section("models", ModelsSettings, section)
    return ModelRegistry(settings.root(base_dir), settings.intra_op_threads, settings.watch_seconds)
