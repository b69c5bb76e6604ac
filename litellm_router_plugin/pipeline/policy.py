"""The routing policy file, reloaded at run time in every worker (``policy.watch: true``).

The policy is the configuration file itself (tiers, thresholds, budgets, breaker, cascade). Before
a request (at most every ``policy.poll_seconds``) the watcher ``stat``s the file; a changed file is
validated completely before anything is swapped, so an invalid one keeps the previous policy and
logs one error naming the field. With a shared store (Redis) the accepted policy is published
(``Store.publish_policy``: version, body, modification time): every worker reads that version before
its requests and adopts a newer policy at its next request, even one whose own copy of the file has
not changed (another machine). Newest wins, by the file's modification time; the version is a hash of
the file. A policy is one immutable ``Policy`` (``build_policy``), swapped on the pipeline whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from litellm_router_plugin.config import BudgetsConfig, PluginConfig
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.guards.admission import NULL_ADMISSION, Admission, NullAdmission
from litellm_router_plugin.pipeline.policy_rules import parse_policy, policy_changes
from litellm_router_plugin.routing.named import NamedDeployments
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.routing.tiers import GroupEntries, TierMap
from litellm_router_plugin.state import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything one policy decides, built together by ``build_policy`` and swapped whole (one
    assignment of ``Pipeline.policy``): a reader holding it never sees half of an old policy and half
    of a new one."""

    config: PluginConfig
    planner: Planner
    tier_map: TierMap
    named: NamedDeployments
    admission: Admission | NullAdmission
    """Budgets and breakers (``NULL_ADMISSION`` when neither is on: admits everything, settles nothing)."""
    version: str
    """A hash of the policy file or configuration (``+<model>`` once a learned model is adopted)."""
    budgets_set: bool
    """Whether any budget limit (global, per user, key or team) is configured."""
    admit_always: bool = False
    """Admit every request even without configured limits (the proxy: LiteLLM's budgets ride on it)."""

    def with_groups(self, groups: GroupEntries) -> Policy:
        """This policy with its tiers' ``model_groups`` resolved from a Router's model groups."""
        self.planner.bind(groups)
        return dataclasses.replace(self, tier_map=self.planner.tier_map, named=NamedDeployments(self.planner.tier_map))

    def adopting(self, config: PluginConfig, version: str) -> Policy:
        """This policy with a learned model's settings (the planner is the same, its classifier swapped)."""
        return dataclasses.replace(self, config=config, version=version)


class PolicyHolder(Protocol):
    """The pipeline as its policy watcher sees it: the snapshot a new policy replaces."""

    policy: Policy


def budgets_set(budgets: BudgetsConfig) -> bool:
    """Whether any budget limit is configured."""
    limits = (budgets.all_requests, budgets.per_user, budgets.per_key, budgets.per_team)
    return any(limit is not None for limit in limits)


def build_policy(
    config: PluginConfig,
    version: str,
    *,
    previous: Policy | None = None,
    planner: Planner | None = None,
    admission: Admission | None = None,
    admit_always: bool | None = None,
) -> Policy:
    """The one way a policy is made: everything is built (prices resolved) before anyone sees it.

    ``previous``: the running policy, whose store is kept when the store settings are unchanged (budgets
    and breakers keep their state) and whose ``admit_always`` carries over. ``planner`` and ``admission``:
    given ones to use (by default made from ``config``; an admission only when budgets or breakers are on).
    """
    groups = previous.planner.groups if previous is not None else None  # a reload keeps the Router's groups
    planner = planner if planner is not None else Planner(config, groups=groups)
    always = admit_always if admit_always is not None else previous is not None and previous.admit_always
    limits = budgets_set(config.budgets)
    if admission is None and (limits or (always and config.budgets.litellm_budgets) or config.breaker.enabled):
        same_store = previous is not None and config.store == previous.config.store
        admission = Admission(config, store=previous.admission.store if previous is not None and same_store else None)
    return Policy(
        config=config,
        planner=planner,
        tier_map=planner.tier_map,
        named=NamedDeployments(planner.tier_map),
        admission=admission if admission is not None else NULL_ADMISSION,
        version=version,
        budgets_set=limits,
        admit_always=always,
    )


def body_version(body: str | bytes) -> str:
    """The version of a policy: the first 12 hex digits of the SHA-256 of its text."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()[:12]


def config_version(config: PluginConfig) -> str:
    """The version of a policy given as an object (not a file): a hash of its canonical JSON (objects
    that JSON cannot hold, such as a ``mock_response`` exception, by their ``repr``)."""
    return body_version(config.model_dump_json(by_alias=True, fallback=repr))


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
    def watch(cls, pipeline: PolicyHolder, source: Any, config: PluginConfig) -> PolicyWatcher | None:
        """A watcher when ``source`` is a file whose policy (``config``) says ``watch: true``; else ``None``.
        Its ``version`` (the file's hash) is the version of the pipeline's first policy."""
        if not isinstance(source, str | Path) or not config.policy.watch:
            return None
        path = Path(source)
        return cls(pipeline, path, path.read_bytes())

    def _is_due(self) -> bool:
        now = time.monotonic()
        if now < self._due:
            return False
        self._due = now + self.pipeline.policy.config.policy.poll_seconds
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
        running = self.pipeline.policy
        old = running.config
        try:
            config = parse_policy(body, origin, old)
            self.pipeline.policy = build_policy(config, version, previous=running)
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

    async def refresh(self) -> bool:
        """Look at the file, then at the shared version; whether the policy changed."""
        if not self._is_due():
            return False
        changed = False
        found = self._changed_file()
        if found is not None:
            changed = self._adopt(found[0], found[1], str(self.path))
        store = self.pipeline.policy.admission.store
        if store is None:
            return changed
        if changed or not self._published:
            await self._publish(store)
            return changed
        version = await store.policy_version()
        if version is not None and version != self.version and version not in self._rejected:
            shared = await store.policy()
            if shared is not None and shared.version == version:
                changed = self._adopt(shared.body, shared.mtime, shared.origin)
        return changed

    async def _publish(self, store: Store) -> None:
        """Share this worker's policy unless a newer one is already published (a store that is not
        shared publishes nothing)."""
        self._published = True
        shared = await store.policy()
        if shared is not None and shared.version == self.version:
            return
        if shared is not None and shared.mtime > self.mtime:
            self._adopt(shared.body, shared.mtime, shared.origin)
            return
        await store.publish_policy(self.version, self.body, self.mtime)
