# SPDX-License-Identifier: Apache-2.0
"""Keep replicas on one Redis in step: a reload on one gateway reloads the others.

When a gateway reloads its configuration (admin route, SIGHUP, studio) or loads a new model
bundle, it publishes one message on `{prefix}sync` through the store's Redis; every other
gateway subscribed there reloads its own configuration file (the same file on a shared volume
or ConfigMap) or rescans its model directory. The message carries the file's sha256 so a
replica whose copy is not yet the published one waits briefly for it instead of reloading old
content. Started in the app's lifespan only when the store is Redis; a lost connection is
retried, and a replica that missed messages still converges at its next own reload or watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger("slotwise.sync")
FILE_WAIT = 1.0  # seconds a replica waits for its copy of the file to match the published sha


def file_sha(path: Path | None) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path else ""
    except OSError:
        return ""


class ReplicaSync:
    """Publishes this gateway's reloads and applies the other gateways' ones."""

    def __init__(self, app: Any, url: str, prefix: str):
        from redis import asyncio as aioredis  # the `redis` extra: only imported with a Redis store
        from redis.exceptions import RedisError

        self._errors = (RedisError, OSError)
        self.app = app
        self.channel = f"{prefix}sync"
        self.origin = uuid.uuid4().hex
        self.r = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2)
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.applied = 0
        """Messages from other replicas applied so far (for tests and the logs)."""

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 2.0)  # Redis down: start anyway

    def attach(self, registry: Any) -> None:
        """Publish whenever this model registry loads a new bundle (its watch or the admin route)."""
        if registry is not None and hasattr(registry, "listeners"):
            registry.listeners.append(lambda: self.publish("models"))

    async def publish(self, kind: str) -> None:
        """Tell the other replicas that `kind` ("config" or "models") changed here."""
        message = {"origin": self.origin, "kind": kind, "sha256": file_sha(self.app.state.config_path)}
        try:
            await self.r.publish(self.channel, json.dumps(message))
        except self._errors as exc:
            log.warning("could not tell the other replicas about the %s change: %s", kind, exc)

    async def _listen(self) -> None:
        while True:
            try:
                async with self.r.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._apply(message["data"])
            except self._errors as exc:
                log.warning("replica sync lost its Redis connection (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def _apply(self, data: str) -> None:
        from slotwise.gateway.serving.reload import reload_config

        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("origin") == self.origin:
            return
        try:
            if message.get("kind") == "models":
                registry = getattr(self.app.state.services, "models", None)
                if registry is not None:
                    await asyncio.to_thread(registry.reload)  # not areload: that would publish again
            else:
                await self._wait_for_file(str(message.get("sha256") or ""))
                result = await reload_config(self.app, publish=False)
                if not result.ok:
                    log.error("reload asked by another replica was refused: %s", "; ".join(result.errors))
            self.applied += 1
        except Exception:  # the listener must survive a failing reload
            log.exception("reload asked by another replica failed")

    async def _wait_for_file(self, sha: str) -> None:
        path = self.app.state.config_path
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FILE_WAIT
        while sha and file_sha(path) != sha and loop.time() < deadline:
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.r.aclose()


async def start_sync(app: Any, store: Any) -> ReplicaSync | None:
    """The sync for a Redis store (its URL and key prefix), else None: one process needs none."""
    settings = getattr(store, "settings", None)
    if settings is None or settings.backend != "redis":
        return None
    sync = ReplicaSync(app, settings.url, settings.prefix)
    await sync.start()
    sync.attach(getattr(app.state.services, "models", None))
    return sync
