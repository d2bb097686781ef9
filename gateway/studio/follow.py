# SPDX-License-Identifier: Apache-2.0
"""Replicas follow the configuration versions in the studio store (Redis for many processes,
the SQLite file for processes on one host): a version saved by any studio is served by every
gateway within about a second, whatever file each of them started from.

Each gateway looks at the newest version number every `EVERY` seconds (one small read). When a
newer one's text is not what it serves (`app.state.config_sha`), it writes that text to its own
configuration file (so a restart or SIGHUP keeps it) and reloads through the one reload path;
when its file cannot be written (a read-only mount) it applies the text in memory. At start, a
file that equals an older stored version is behind and takes the newest; a file unlike every
stored version was edited outside the studio and wins (the next studio change records it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from slotwise.gateway.common.periodic import run_every
from slotwise.gateway.serving.reload import config_lock, reload_config, text_sha
from slotwise.gateway.studio.store import SQLITE_FILE, StudioStore

log = logging.getLogger("slotwise.studio")
EVERY = 0.5  # seconds between looks at the newest version
LOOK_BACK = 50  # versions compared with the file at start


class VersionFollower:
    def __init__(self, app: Any, store: StudioStore):
        self.app = app
        self.store = store
        self.applied = 0
        """The newest version number this gateway has seen (served, or skipped as its own)."""
        self.adopted = 0
        """Versions made elsewhere that this gateway applied (for tests and logs)."""
        self._task: asyncio.Task[None] | None = None

    async def _head(self) -> int:
        newest = await asyncio.to_thread(self.store.versions, 1)
        return int(newest[0]["number"]) if newest else 0

    async def start(self) -> None:
        head = await self._head()
        self.applied = head
        if head and await self._behind(head):
            await self._apply(head)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _behind(self, head: int) -> bool:
        """The file is an older stored version (not the newest, not an outside edit)."""
        sha = self.app.state.config_sha
        for number in range(head, max(0, head - LOOK_BACK), -1):
            row = await asyncio.to_thread(self.store.version, number)
            if row is not None and text_sha(row["text"]) == sha:
                return number != head
        return False

    async def _run(self) -> None:
        # the store may be down for a while: keep looking
        await run_every(EVERY, self._follow, log, "could not follow the configuration versions")

    async def _follow(self) -> None:
        async with config_lock(self.app):  # never in the middle of this gateway's own change
            head = await self._head()
            if head > self.applied:
                await self._apply(head)

    async def _apply(self, number: int) -> None:
        self.applied = number
        row = await asyncio.to_thread(self.store.version, number)
        if row is None or text_sha(row["text"]) == self.app.state.config_sha:
            return  # this gateway made it, or already serves it
        path = Path(self.app.state.config_path)
        text = row["text"]
        try:
            if path.read_text(encoding="utf-8") != text:
                tmp = path.with_name(f".{path.name}.studio-tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(path)
            result = await reload_config(self.app, publish=False)
        except OSError as exc:
            log.warning("cannot write %s (%s): version %d applied in memory only", path, exc, number)
            result = await reload_config(self.app, publish=False, text=text)
        if result.ok:
            self.adopted += 1
            log.info("configuration version %d (%s, by %s) applied", number, row["message"], row["author"])
        else:
            log.error("configuration version %d refused here: %s", number, "; ".join(result.errors))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def start_follower(app: Any) -> VersionFollower | None:
    """Follow the versions when others can make them: a Redis store (replicas), or an SQLite
    studio file that exists already (never created just for this). None otherwise."""
    from slotwise.gateway.studio.web import ensure_studio

    path = app.state.config_path
    if path is None:
        return None
    store_settings = getattr(app.state.runtime.config, "store", None)
    shared = store_settings is not None and store_settings.backend == "redis"
    if not shared and not (Path(path).parent / SQLITE_FILE).exists():
        return None
    try:
        follower = VersionFollower(app, ensure_studio(app.state))
        await follower.start()
    except Exception as exc:  # the gateway serves without it
        log.warning("not following configuration versions: %s", exc)
        return None
    return follower
