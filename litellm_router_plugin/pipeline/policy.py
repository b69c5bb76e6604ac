"""The routing policy file, reloaded at run time in every worker (``policy.watch: true``).

The policy is the configuration file itself (tiers, thresholds, budgets, breaker, cascade). Before
a request (at most every ``policy.poll_seconds``) the watcher ``stat``s the file; a changed file is
validated completely before anything is swapped, so an invalid one keeps the previous policy and
logs one error naming the field. With a Redis store the accepted policy is published under one
key (version, body, modification time): every worker reads that version before its requests and
adopts a newer policy at its next request, even one whose own copy of the file has not changed
(another machine). Newest wins, by the file's modification time; the version is a hash of the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Protocol

from litellm_router_plugin.config import PluginConfig
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.pipeline.policy_rules import parse_policy, policy_changes
from litellm_router_plugin.routing.named import NamedDeployments
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.routing.tiers import TierMap
from litellm_router_plugin.state import RedisStore


class PolicyHolder(Protocol):
    """The pipeline as its policy watcher sees it: the parts a new policy replaces (``Pipeline`` has them)."""

    planner: Planner
    config: PluginConfig
    tier_map: TierMap
    admission: Admission | None
    policy_version: str
    named: NamedDeployments
    admit_always: bool


logger = logging.getLogger(__name__)


def body_version(body: str | bytes) -> str:
    """The version of a policy: the first 12 hex digits of the SHA-256 of its text."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()[:12]


def config_version(config: PluginConfig) -> str:
    """The version of a policy given as an object (not a file): a hash of its canonical JSON (objects
    that JSON cannot hold, such as a ``mock_response`` exception, by their ``repr``)."""
    return body_version(config.model_dump_json(by_alias=True, fallback=repr))


def apply_policy(pipeline: PolicyHolder, config: PluginConfig, version: str) -> None:
    """Swap ``pipeline`` to ``config``: everything is built first (prices resolved), then swapped.

    The store is kept when its settings are unchanged (budgets and breakers keep their state)."""
    planner = Planner(config)
    old = pipeline.admission
    b = config.budgets
    wanted = any(limit is not None for limit in (b.all_requests, b.per_user, b.per_key, b.per_team))
    wanted = wanted or (pipeline.admit_always and b.litellm_budgets)  # the proxy: LiteLLM's budgets
    admission = None
    if wanted or config.breaker.enabled:
        same_store = old is not None and config.store == pipeline.config.store
        admission = Admission(config, store=old.store if same_store and old is not None else None)
    pipeline.planner, pipeline.config, pipeline.tier_map = planner, config, planner.tier_map
    pipeline.admission = admission
    pipeline.policy_version = version
    pipeline.named = NamedDeployments(planner.tier_map)


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class PolicyWatcher:
    """Reloads a pipeline's policy file (and, with Redis, the version every worker shares)."""

    def __init__(self, pipeline: PolicyHolder, path: Path, body: bytes) -> None:
        self.pipeline = pipeline
        self.path = path
        self.version = body_version(body)
        self.body = body.decode("utf-8")
        """The running policy's text: what this worker publishes (never a file read since)."""
        self.mtime = os.stat(path).st_mtime
        self._stat = _stat(path)
        self._due = 0.0
        self._rejected: set[str] = set()
        """Versions refused (logged once each): a file's and a published one may differ."""
        self._published = False

    @classmethod
    def watch(cls, pipeline: PolicyHolder, source: Any) -> PolicyWatcher | None:
        """A watcher when ``source`` is a file whose policy says ``watch: true``; else ``None``."""
        if not isinstance(source, str | Path) or not pipeline.config.policy.watch:
            return None
        path = Path(source)
        watcher = cls(pipeline, path, path.read_bytes())
        pipeline.policy_version = watcher.version
        return watcher

    def _store(self) -> RedisStore | None:
        admission = self.pipeline.admission
        store = admission.store if admission is not None else None
        return store if isinstance(store, RedisStore) else None

    def _is_due(self) -> bool:
        now = time.monotonic()
        if now < self._due:
            return False
        self._due = now + self.pipeline.config.policy.poll_seconds
        return True

    def _changed_file(self) -> tuple[str, float] | None:
        """The file's text and mtime when it changed since last looked at; a deleted file keeps
        the running policy (logged once)."""
        stat = _stat(self.path)
        if stat == self._stat:
            return None
        self._stat = stat
        if stat is None:
            logger.warning("policy %s was deleted; keeping version %s", self.path, self.version)
            return None
        try:
            return self.path.read_text(encoding="utf-8"), stat[0] / 1e9
        except OSError as exc:
            logger.error("policy %s cannot be read (%s); keeping version %s", self.path, exc, self.version)
            return None

    def _adopt(self, body: str, mtime: float, origin: str) -> bool:
        """Validate and apply ``body``; log once per invalid version and keep the current policy."""
        version = body_version(body)
        if version == self.version or version in self._rejected:
            return False
        old = self.pipeline.config
        try:
            config = parse_policy(body, origin, old)
            apply_policy(self.pipeline, config, version)
        except ConfigError as exc:
            if len(self._rejected) >= 64:
                self._rejected.clear()
            self._rejected.add(version)
            logger.error(
                "routing policy %s (version %s) is invalid, keeping version %s: %s", origin, version, self.version, exc
            )
            return False
        changes = policy_changes(old, config) or ["no setting changed"]
        logger.warning("routing policy %s: version %s -> %s: %s", origin, self.version, version, "; ".join(changes))
        self.version, self.mtime, self.body = version, mtime, body
        return True

    def refresh_sync(self) -> bool:
        """Look at the file (no Redis: synchronous callers); whether the policy changed."""
        if not self._is_due():
            return False
        found = self._changed_file()
        return found is not None and self._adopt(found[0], found[1], str(self.path))

    async def refresh(self) -> bool:
        """Look at the file, then at the shared version; whether the policy changed."""
        if not self._is_due():
            return False
        changed = False
        found = self._changed_file()
        if found is not None:
            changed = self._adopt(found[0], found[1], str(self.path))
        store = self._store()
        if store is None:
            return changed
        if changed or not self._published:
            await self._publish(store)
            return changed
        version = await store.policy_version()
        if version is not None and version != self.version and version not in self._rejected:
            published, shared, mtime = await store.policy()
            if shared is not None and published == version:
                changed = self._adopt(shared, mtime, f"redis:{store.prefix}")
        return changed

    async def _publish(self, store: RedisStore) -> None:
        """Share this worker's policy unless a newer one is already published."""
        self._published = True
        published, body, mtime = await store.policy()
        if published == self.version:
            return
        if published is not None and body is not None and mtime > self.mtime:
            self._adopt(body, mtime, f"redis:{store.prefix}")
            return
        await store.publish_policy(self.version, self.body, self.mtime)
