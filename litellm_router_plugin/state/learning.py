"""What the learning loop shares between workers: outcomes, model versions and feedback joins.

Beside the ``Store`` (same process memory or same Redis, same prefix), with one behaviour for both:
outcomes are a bounded list (newest first) with a counter of every outcome ever added; model
versions are a hash (version -> body) and a history whose head is the current version, which every
worker reads before its requests (as the routing policy); a response open to feedback keeps a small
record (the decision and the prompt's hashed features) under its request id until it expires.
Each multi-step change is one Lua script (``lua/*.lua``) on Redis, one locked step in memory.
"""

from __future__ import annotations

import abc
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.state.base import Store
from litellm_router_plugin.state.memory import MemoryStore
from litellm_router_plugin.state.redis import RedisStore
from litellm_router_plugin.state.redis_client import lua_script, run_script

HISTORY = 50
"""Model versions kept in the history (rollback depth)."""
MAX_MODELS = 50
"""Model bodies kept; the oldest not in the history are dropped first."""


class LearningState(abc.ABC):
    """Outcomes, model versions and feedback joins of one store."""

    @abc.abstractmethod
    async def add_outcome(self, record: str, keep: int) -> int:
        """Append ``record`` (JSON), keep the newest ``keep``; the number of outcomes ever added."""

    @abc.abstractmethod
    async def outcomes(self, limit: int | None = None) -> list[str]:
        """Stored outcomes, newest first."""

    @abc.abstractmethod
    async def claim_retrain(self, every: int, lease_ms: int, owner: str) -> int:
        """The outcome count, when ``every`` outcomes arrived since the last claim and no other worker
        is retraining (a lock with a lease); else 0."""

    @abc.abstractmethod
    async def release_retrain(self, owner: str) -> None:
        """Release the retraining lock held by ``owner``."""

    @abc.abstractmethod
    async def put_model(self, version: str, body: str) -> None:
        """Store a model version (not yet current)."""

    @abc.abstractmethod
    async def model(self, version: str) -> str | None:
        """A stored model's body."""

    @abc.abstractmethod
    async def models(self) -> dict[str, str]:
        """Every stored model: version -> body."""

    @abc.abstractmethod
    async def current(self) -> str | None:
        """The current model version (``None``: the configured classifier)."""

    @abc.abstractmethod
    async def history(self) -> list[str]:
        """Promoted versions, current first."""

    @abc.abstractmethod
    async def promote(self, version: str) -> tuple[str, str | None]:
        """Make ``version`` current: ``('ok' | 'unknown' | 'current', previous version)``."""

    @abc.abstractmethod
    async def rollback(self) -> tuple[str | None, str | None]:
        """Drop the current version: ``(dropped, now current)``; ``(None, None)`` when none."""

    @abc.abstractmethod
    async def put_join(self, request_id: str, record: str, ttl_ms: int) -> None:
        """Keep a response's decision record for feedback until ``ttl_ms`` from now."""

    @abc.abstractmethod
    async def take_join(self, request_id: str) -> str | None:
        """The response's decision record, removed (feedback counts once); ``None`` when gone."""


@dataclass(slots=True)
class _Memory:
    outcomes: deque[str] = field(default_factory=deque)
    total: int = 0
    mark: int = 0
    lock: tuple[str, float] | None = None
    models: dict[str, str] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    joins: dict[str, tuple[str, float]] = field(default_factory=dict)


class MemoryLearningState(LearningState):
    """The learning state in this process's memory (one per ``MemoryStore``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._m = _Memory()

    async def add_outcome(self, record: str, keep: int) -> int:
        with self._lock:
            self._m.outcomes.appendleft(record)
            while len(self._m.outcomes) > keep:
                self._m.outcomes.pop()
            self._m.total += 1
            return self._m.total

    async def outcomes(self, limit: int | None = None) -> list[str]:
        items = list(self._m.outcomes)
        return items if limit is None else items[:limit]

    async def claim_retrain(self, every: int, lease_ms: int, owner: str) -> int:
        with self._lock:
            m, now = self._m, time.monotonic()
            if m.total - m.mark < every or (m.lock is not None and m.lock[1] > now):
                return 0
            m.lock, m.mark = (owner, now + lease_ms / 1000), m.total
            return m.total

    async def release_retrain(self, owner: str) -> None:
        with self._lock:
            if self._m.lock is not None and self._m.lock[0] == owner:
                self._m.lock = None

    async def put_model(self, version: str, body: str) -> None:
        with self._lock:
            self._m.models[version] = body
            stale = [v for v in self._m.models if v not in self._m.history and v != version]
            while len(self._m.models) > MAX_MODELS and stale:
                del self._m.models[stale.pop(0)]

    async def model(self, version: str) -> str | None:
        return self._m.models.get(version)

    async def models(self) -> dict[str, str]:
        return dict(self._m.models)

    async def current(self) -> str | None:
        return self._m.history[0] if self._m.history else None

    async def history(self) -> list[str]:
        return list(self._m.history)

    async def promote(self, version: str) -> tuple[str, str | None]:
        with self._lock:
            if version not in self._m.models:
                return "unknown", None
            previous = self._m.history[0] if self._m.history else None
            if previous == version:
                return "current", previous
            self._m.history.insert(0, version)
            del self._m.history[HISTORY:]
            return "ok", previous

    async def rollback(self) -> tuple[str | None, str | None]:
        with self._lock:
            if not self._m.history:
                return None, None
            dropped = self._m.history.pop(0)
            return dropped, (self._m.history[0] if self._m.history else None)

    async def put_join(self, request_id: str, record: str, ttl_ms: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._m.joins[request_id] = (record, now + ttl_ms / 1000)
            while True:  # insertion order = expiry order (one ttl): forget the expired
                oldest = next(iter(self._m.joins))
                if self._m.joins[oldest][1] > now:
                    break
                del self._m.joins[oldest]

    async def take_join(self, request_id: str) -> str | None:
        with self._lock:
            found = self._m.joins.pop(request_id, None)
        return found[0] if found is not None and found[1] > time.monotonic() else None


class RedisLearningState(LearningState):
    """The learning state in Redis, under the store's prefix (its hash tag: one slot in a cluster)."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        client = store.client
        tag = "{" + store.prefix + "}"
        self._outcomes, self._total, self._mark = f"{tag}:outcomes", f"{tag}:outcomes:n", f"{tag}:outcomes:mark"
        self._lock, self._models, self._history = f"{tag}:learn:lock", f"{tag}:models", f"{tag}:models:history"
        self._join = f"{tag}:fb:"
        self._add = client.register_script(lua_script("outcome_add.lua"))
        self._claim = client.register_script(lua_script("learn_claim.lua"))
        self._promote = client.register_script(lua_script("model_promote.lua"))
        self._rollback = client.register_script(lua_script("model_rollback.lua"))

    def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """``script`` on the running event loop's client, as the store runs its own (``run_script``)."""
        return run_script(self.store.client, script, keys, args)

    async def add_outcome(self, record: str, keep: int) -> int:
        total = await self.store._guard(self._run(self._add, [self._outcomes, self._total], [record, keep]))
        return int(total)

    async def outcomes(self, limit: int | None = None) -> list[str]:
        rows = await self.store._guard(self.store.client.lrange(self._outcomes, 0, -1 if limit is None else limit - 1))
        return list(rows)

    async def claim_retrain(self, every: int, lease_ms: int, owner: str) -> int:
        keys = [self._total, self._mark, self._lock]
        return int(await self.store._guard(self._run(self._claim, keys, [every, lease_ms, owner])))

    async def release_retrain(self, owner: str) -> None:
        client = self.store.client
        if await self.store._guard(client.get(self._lock)) == owner:
            await self.store._guard(client.delete(self._lock))

    async def put_model(self, version: str, body: str) -> None:
        client = self.store.client
        await self.store._guard(client.hset(self._models, version, body))
        versions: list[str] = await self.store._guard(client.hkeys(self._models))
        if len(versions) > MAX_MODELS:
            kept = set(await self.history())
            stale = [v for v in versions if v not in kept and v != version][: len(versions) - MAX_MODELS]
            if stale:
                await self.store._guard(client.hdel(self._models, *stale))

    async def model(self, version: str) -> str | None:
        body: str | None = await self.store._guard(self.store.client.hget(self._models, version))
        return body

    async def models(self) -> dict[str, str]:
        found: dict[str, str] = await self.store._guard(self.store.client.hgetall(self._models))
        return found

    async def current(self) -> str | None:
        head: str | None = await self.store._guard(self.store.client.lindex(self._history, 0))
        return head

    async def history(self) -> list[str]:
        return list(await self.store._guard(self.store.client.lrange(self._history, 0, -1)))

    async def promote(self, version: str) -> tuple[str, str | None]:
        status, previous = await self.store._guard(
            self._run(self._promote, [self._models, self._history], [version, HISTORY])
        )
        return str(status), previous or None

    async def rollback(self) -> tuple[str | None, str | None]:
        dropped, now = await self.store._guard(self._run(self._rollback, [self._history], []))
        return dropped or None, now or None

    async def put_join(self, request_id: str, record: str, ttl_ms: int) -> None:
        await self.store._guard(self.store.client.set(self._join + request_id, record, px=ttl_ms))

    async def take_join(self, request_id: str) -> str | None:
        found: str | None = await self.store._guard(self.store.client.getdel(self._join + request_id))
        return found


_STATES: weakref.WeakKeyDictionary[Store, LearningState] = weakref.WeakKeyDictionary()


def learning_state(store: Store) -> LearningState:
    """The learning state beside ``store`` (one per store object: workers of one Redis share it)."""
    state = _STATES.get(store)
    if state is None:
        if isinstance(store, RedisStore):
            state = RedisLearningState(store)
        elif isinstance(store, MemoryStore):
            state = MemoryLearningState()
        else:
            raise TypeError(f"no learning state for {type(store).__name__}")
        _STATES[store] = state
    return state
