# SPDX-License-Identifier: Apache-2.0
"""Safe configuration changes: validate with the config schema, version, write, reload, roll back.

An edit works on the file's raw YAML data (so `${ENV}` references stay references), is checked
by `parse_config` exactly as `check-config` checks a file, then written atomically and applied
through `serving.reload.reload_config`; a reload that fails puts the old text back. Each applied
change is a version (author, message, unified diff). Editors send the fingerprint of the object
they edited; when it changed meanwhile the save is a conflict, never a silent overwrite.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slotwise.gateway.config.loader import ConfigError, parse_config
from slotwise.gateway.serving.reload import config_lock, reload_config
from slotwise.gateway.studio.store import StudioStore

EDITABLE = ("segments", "slots")  # what export/import carry: never the sites and their keys


@dataclass
class Outcome:
    ok: bool
    errors: list[str] = field(default_factory=list)
    version: int | None = None
    conflict: bool = False


def fingerprint(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_path(app: Any) -> Path:
    path = app.state.config_path
    if path is None:
        raise ConfigError(["this gateway was started without a configuration file; the studio cannot edit it"])
    return Path(path)


def read_data(app: Any) -> dict[str, Any]:
    data = yaml.safe_load(config_path(app).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(["the configuration file is not a mapping"])
    return data


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def validate(data: dict[str, Any], base_dir: Path) -> list[str]:
    try:
        parse_config(json.loads(json.dumps(data)), base_dir=base_dir, check_files=True)
    except ConfigError as exc:
        return exc.errors
    except RecursionError:
        return ["an expression is nested too deeply"]
    return []


def ensure_head(studio: StudioStore, text: str) -> None:
    """Record the file as a version when it is not the newest one (first use, or edited on disk)."""
    newest = studio.versions(1)
    head = studio.version(newest[0]["number"]) if newest else None
    if head is None or head["text"] != text:
        studio.add_version("(file)", "the file as found on disk", text, _diff(head["text"] if head else "", text))


def _diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=2)
    return "\n".join(lines)


async def apply(app: Any, studio: StudioStore, author: str, message: str, data: dict[str, Any]) -> Outcome:
    async with config_lock(app):  # the follower never sees the head recorded but the file not yet
        return await _apply(app, studio, author, message, data)


async def _apply(app: Any, studio: StudioStore, author: str, message: str, data: dict[str, Any]) -> Outcome:
    path = config_path(app)
    old = path.read_text(encoding="utf-8")
    errors = validate(data, path.parent)
    if errors:
        return Outcome(False, errors)
    new = dump(data)
    ensure_head(studio, old)
    _write(path, new)
    result = await reload_config(app)
    if not result.ok:
        _write(path, old)
        await reload_config(app)
        return Outcome(False, result.errors)
    number = studio.add_version(author, message, new, _diff(old, new))
    studio.audit(author, "change", f"v{number}: {message}")
    return Outcome(True, version=number)


async def rollback(app: Any, studio: StudioStore, author: str, number: int) -> Outcome:
    row = studio.version(number)
    if row is None:
        return Outcome(False, [f"no version {number}"])
    data = yaml.safe_load(row["text"]) or {}
    return await apply(app, studio, author, f"roll back to v{number}", data)


def export_text(app: Any) -> str:
    data = read_data(app)
    return dump({k: data[k] for k in EDITABLE if k in data})


def import_data(app: Any, text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The file's data with `segments` and `slots` replaced by those of `text`."""
    try:
        given = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        return None, [f"invalid YAML{where}: {getattr(exc, 'problem', exc)}"]
    if not isinstance(given, dict) or not set(given) <= set(EDITABLE):
        return None, [f"expected a mapping with only {' and '.join(EDITABLE)}"]
    data = read_data(app)
    data.update(given)
    return data, []


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.studio-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
