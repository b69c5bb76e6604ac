"""``RedisStore``: the shared-state protocol on Redis, so every worker enforces the same limits.

Each atomic step is one Lua script (``lua/*.lua``, loaded with ``register_script``): one round trip to
admit, one to settle. Every key carries the hash tag ``{prefix}``, so a script only touches keys of
one slot and the same code runs on Redis Cluster (all of one deployment's state lives on one shard).
Clocks are Redis ``TIME`` unless a clock is injected (tests).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from redis import exceptions as redis_errors

from litellm_router_plugin.clock import Clock
from litellm_router_plugin.errors import ConfigError, StoreUnavailableError
from litellm_router_plugin.state.base import (
    AdmitRequest,
    AdmitResult,
    Admitted,
    AllOpen,
    BreakerSpec,
    BreakerStatus,
    BudgetRefused,
    DuplicateRequest,
    LostHold,
    PublishedPolicy,
    RestoredHold,
    RoundTrips,
    SettleRequest,
    SettleResult,
    Store,
    StoreReset,
)
from litellm_router_plugin.state.redis_client import (
    CountingRedis,
    CountingRedisCluster,
    LoopClients,
    _HiredisPacking,
    cluster_client,
    lua_script,
    run_script,
    safe_url,
    single_client,
)

__all__ = ["RedisStore", "_HiredisPacking"]


class RedisStore(Store):
    """Budgets, breakers and the ledger in Redis (``redis.asyncio``), one server or a Redis Cluster.

    With ``cluster=True`` the client is ``RedisCluster``: it follows MOVED and ASK redirections and
    retries TRYAGAIN and CLUSTERDOWN itself (refreshing the slot map); what is still failing after
    that (a failover in progress, a slot without a master) surfaces as ``StoreUnavailableError``.
    """

    unavailable_errors = (
        redis_errors.ConnectionError,
        redis_errors.TimeoutError,
        redis_errors.ClusterDownError,  # CLUSTERDOWN, and MASTERDOWN of a replica without its master
        redis_errors.TryAgainError,
        redis_errors.ClusterError,  # e.g. "TTL exhausted": redirections kept failing during a failover
        redis_errors.SlotNotCoveredError,
        redis_errors.RedisClusterException,  # e.g. RedisClusterUnreachableError: no node answered
        OSError,
    )
    driver_packages = ("redis", "hiredis")  # any other exception raised inside the driver is its failure

    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str = "lrp",
        clock: Clock | None = None,
        socket_timeout: float = 5.0,
        max_connections: int = 64,
        cluster: bool = False,
    ) -> None:
        self.url = url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        if not prefix or any(c in prefix for c in "{}"):
            raise ConfigError("store.prefix", prefix, "Use a non-empty prefix without braces, e.g. 'lrp'.")
        self.name = f"Redis at {self._safe_url(self.url)}"
        self.prefix = prefix
        self.clock = clock
        self.socket_timeout = socket_timeout
        self._offset_ms: int | None = None
        """Redis TIME minus this host's clock, as last seen (a lower bound: the reply took time)."""
        self.round_trips = RoundTrips()
        self.cluster = cluster
        self._client_settings = (socket_timeout, max_connections)
        # One client per event loop: a redis.asyncio connection belongs to the loop that opened it, and
        # synchronous callers run on a loop of their own (integrations/blocking.py). The first loop
        # to ask gets the client made here.
        self._loop_clients = LoopClients(self._new_client)
        home = self._loop_clients.home
        assert home is not None
        self._admit_script = home.register_script(lua_script("admit.lua"))
        self._settle_script = home.register_script(lua_script("settle.lua"))
        self._status_script = home.register_script(lua_script("breaker_status.lua"))
        self._restore_script = home.register_script(lua_script("restore.lua"))
        self._reconcile_script = home.register_script(lua_script("reconcile.lua"))
        tag = "{" + prefix + "}"
        self._holds, self._hold, self._expired = f"{tag}:holds", f"{tag}:hold", f"{tag}:expired"
        self._settled, self._settled_at, self._ledger_key = f"{tag}:settled", f"{tag}:settled_at", f"{tag}:ledger"
        self._tag = tag
        self._epoch = f"{tag}:epoch"
        self._provisional = f"{tag}:provisional"

    def _new_client(self) -> CountingRedis | CountingRedisCluster:
        socket_timeout, max_connections = self._client_settings
        make = cluster_client if self.cluster else single_client
        return make(self.url, socket_timeout, max_connections, self.round_trips)

    @property
    def client(self) -> CountingRedis | CountingRedisCluster:
        """The client of the running event loop (made on its first use there)."""
        return self._loop_clients.current()

    @staticmethod
    def _safe_url(url: str) -> str:
        """The URL without its password, for messages and logs."""
        return safe_url(url)

    async def _guard(self, coro: Any) -> Any:
        try:
            return await super()._guard(coro)
        except StoreUnavailableError as exc:
            if not isinstance(exc.cause, redis_errors.AskError):
                raise
            # MOVED/ASK reach us only from a single-node client
            hint = f"{self.name} (a Redis Cluster node: set store.cluster: true)"
            raise StoreUnavailableError(hint, exc.cause) from exc.cause

    @classmethod
    async def connect(cls, url: str | None = None, **kwargs: Any) -> RedisStore:
        """Create and check the connection now, so an unreachable URL fails at start with a clear error."""
        store = cls(url, **kwargs)
        try:
            await store.ping()
        except StoreUnavailableError:
            await store.aclose()
            raise
        return store

    def _now_arg(self) -> int:
        return 0 if self.clock is None else int(self.clock.now() * 1000)

    def _deadline_arg(self, sent: float) -> int:
        """When (Redis TIME, ms) this client gives up on an admit sent at ``sent``: a script that
        runs later (a frozen Redis resumed) holds nothing. ``0`` (none) with an injected clock or
        before the first reply (the offset is not known yet)."""
        if self.clock is not None or self._offset_ms is None:
            return 0
        return int((sent + self.socket_timeout) * 1000) + self._offset_ms

    def _counter(self, kind: str, scope: str, window: str) -> str:
        return f"{self._tag}:{kind}:{scope}:{window}"

    def _breaker_keys(self, name: str) -> tuple[str, str]:
        return f"{self._tag}:br:{name}", f"{self._tag}:br:{name}:f"

    async def _admit(self, request: AdmitRequest) -> AdmitResult:
        keys = [self._holds, self._hold, self._expired]
        args: list[Any] = [
            self._now_arg(),
            request.request_id,
            request.lease_ms,
            len(request.scopes),
            len(request.candidates),
            request.window_ttl_s,
            request.boundary_ms if request.next_window is not None else 0,
            request.scopes[0].window if request.scopes else "",
            request.next_window or "",
        ]
        for scope in request.scopes:
            after = scope.period or request.next_window or scope.window
            keys += [
                self._counter("spent", scope.scope, scope.window),
                self._counter("held", scope.scope, scope.window),
                self._counter("spent", scope.scope, after),
                self._counter("held", scope.scope, after),
            ]
            args += [-1 if scope.limit is None else scope.limit, scope.floor]
        for cand in request.candidates:
            spec = cand.breaker
            keys.append(self._breaker_keys(spec.name)[0] if spec else f"{self._tag}:br:-")
            args += [
                cand.estimate,
                -1 if cand.per_request_limit is None else cand.per_request_limit,
                1 if spec else 0,
                spec.recovery_ms if spec else 0,
                spec.probe_lease_ms if spec else 0,
            ]
        keys.append(self._epoch)
        sent = time.time()
        args += [request.attempt, self._deadline_arg(sent), 1 if request.on_lost_settle == "charge_estimate" else 0]
        reply, meta = await run_script(self.client, self._admit_script, keys, args)
        if self.clock is None:
            self._offset_ms = int(meta[0]) - int(time.time() * 1000)
        if len(meta) > 1:
            self._report_lost(
                [LostHold(str(meta[i]), int(meta[i + 1]), bool(int(meta[i + 2]))) for i in range(1, len(meta), 3)]
            )
        kind = reply[0]
        if kind == "late":
            late = redis_errors.TimeoutError("the admit reached Redis after this client had given up on it")
            raise StoreUnavailableError(self.name, late)
        if kind == "reset":
            return StoreReset()
        if kind == "ok":
            return Admitted(int(reply[1]), bool(int(reply[2])), reply[3] or None)
        if kind == "budget":
            index, scope_index, limit, spent, held, asked = (int(x) for x in reply[1:])
            return BudgetRefused(index, request.scopes[scope_index].scope, limit, spent, held, asked)
        if kind == "per_request":
            index, limit, asked = (int(x) for x in reply[1:])
            return BudgetRefused(index, "per_request", limit, 0, 0, asked)
        if kind == "duplicate":
            return DuplicateRequest()
        return AllOpen(int(reply[1]))

    async def _settle(self, request: SettleRequest) -> SettleResult:
        spec = request.breaker
        bkey, fkey = self._breaker_keys(spec.name) if spec else (f"{self._tag}:br:-", f"{self._tag}:br:-:f")
        reply = await run_script(
            self.client,
            self._settle_script,
            [
                self._holds,
                self._hold,
                self._expired,
                self._settled,
                self._settled_at,
                self._ledger_key,
                bkey,
                fkey,
                self._epoch,
            ],
            [
                self._now_arg(),
                request.request_id,
                request.actual,
                "" if request.ledger is None else json.dumps(request.ledger, separators=(",", ":")),
                request.ledger_max,
                request.keep_settled_ms,
                request.outcome if request.outcome and spec else "",
                spec.failure_threshold if spec else 0,
                spec.window_ms if spec else 0,
                1 if request.probe else 0,
                request.spent_ttl_s,
            ],
        )
        if reply[0] == "settled":
            window = reply[4] or None
            start = len(self._tag) + len(":spent:")
            scopes = tuple(_scope_of(key[start:], window) for key in reply[6:]) if window else ()
            charged, held, expired = int(reply[1]), int(reply[2]), bool(int(reply[3]))
            return SettleResult("settled", charged, held, expired, window, scopes, reply[5] or None)
        if reply[0] == "already":
            return SettleResult("already", int(reply[1]))
        return SettleResult("unknown")

    def _counter_pairs(self, totals: dict[tuple[str, str], int]) -> tuple[list[str], list[int]]:
        """(spent, base) keys and the amounts of ``totals``, in a stable order."""
        items = sorted(totals.items())
        keys = [
            k
            for (scope, window), _ in items
            for k in (self._counter("spent", scope, window), self._counter("base", scope, window))
        ]
        return keys, [micros for _, micros in items]

    async def _restore(
        self,
        totals: dict[tuple[str, str], int],
        epoch: str,
        ttl_s: int,
        provisional: bool,
        holds: tuple[RestoredHold, ...],
    ) -> bool:
        keys, amounts = self._counter_pairs(totals)
        keys = [self._epoch, self._provisional, self._holds, self._hold, *keys]
        args: list[str | int] = [epoch, ttl_s, 1 if provisional else 0, len(amounts), *amounts]
        for hold in holds:
            for scope in hold.scopes:
                keys += [self._counter("spent", scope, hold.window), self._counter("held", scope, hold.window)]
            args += [hold.request_id, hold.amount, hold.lease_ms, hold.window, len(hold.scopes)]
        return bool(int(await run_script(self.client, self._restore_script, keys, args)))

    async def _forget_settle(self, request_id: str) -> None:
        await self.client.hdel(self._settled, request_id)  # its settled_at entry expires as usual

    async def _epoch_state(self) -> tuple[str | None, bool]:
        epoch, provisional = await self.client.mget(self._epoch, self._provisional)
        return (None if epoch is None else str(epoch)), provisional is not None

    async def _reconcile(self, totals: dict[tuple[str, str], int], epoch: str) -> int:
        keys, amounts = self._counter_pairs(totals)
        args: list[str | int] = [epoch, 3 * 86400, *amounts]
        added = int(
            await run_script(self.client, self._reconcile_script, [self._epoch, self._provisional, *keys], args)
        )
        return max(added, 0)

    async def _spent(self, scope: str, window: str) -> tuple[int, int]:
        # Expired holds are purged by the next admit; count only live ones here.
        spent, held = await self.client.mget(
            self._counter("spent", scope, window), self._counter("held", scope, window)
        )
        return int(spent or 0), int(held or 0)

    async def _first_time(self, name: str, ttl_s: int) -> bool:
        return bool(await self.client.set(f"{self._tag}:once:{name}", 1, nx=True, ex=ttl_s))

    async def _breaker_status(self, spec: BreakerSpec) -> BreakerStatus:
        bkey, fkey = self._breaker_keys(spec.name)
        # One script, so the clock and the reads come from the node that owns the keys (cluster).
        now, state, opened_at, probe_until, recent = await run_script(
            self.client, self._status_script, [bkey, fkey], [self._now_arg(), spec.window_ms]
        )
        now, recent = int(now), int(recent)
        if state != "open":
            return BreakerStatus("closed", recent)
        opened = int(opened_at)
        half_open = now >= opened + spec.recovery_ms
        return BreakerStatus("half_open" if half_open else "open", recent, opened, int(probe_until or 0) > now)

    async def _ledger(self, limit: int | None) -> list[dict[str, Any]]:
        rows = await self.client.lrange(self._ledger_key, 0, -1 if limit is None else limit - 1)
        return [json.loads(row) for row in rows]

    async def _ping(self) -> None:
        await self.client.ping()

    async def aclose(self) -> None:
        """Close the connection pools (each on its own event loop; a closed loop's died with it)."""
        self.closed = True
        await self._loop_clients.aclose()

    async def policy(self) -> PublishedPolicy | None:
        """The published routing policy (version, body, file mtime), or ``None``."""
        version, body, mtime = await self._guard(self.client.hmget(f"{self._tag}:policy", "version", "body", "mtime"))
        if version is None or body is None:
            return None
        return PublishedPolicy(version, body, float(mtime or 0), f"redis:{self.prefix}")

    async def policy_version(self) -> str | None:
        """The published policy's version only (one small read per request while watching)."""
        found: str | None = await self._guard(self.client.hget(f"{self._tag}:policy", "version"))
        return found

    async def publish_policy(self, version: str, body: str, mtime: float) -> None:
        """Publish a policy: one command, so no worker reads a version with another body."""
        fields: dict[str | bytes, str | bytes] = {"version": version, "body": body, "mtime": repr(mtime)}
        await self._guard(self.client.hset(f"{self._tag}:policy", mapping=fields))  # type: ignore[arg-type]

    def _fault_key(self, deployment: str) -> str:
        return f"{self._tag}:fault:{deployment}"

    async def _remember_fault(self, deployment: str, fault: str, ttl_s: float) -> None:
        # One SET with its expiry: every worker sees the fault, none after the cooldown.
        await self.client.set(self._fault_key(deployment), fault, px=max(1, int(ttl_s * 1000)))

    async def _forget_fault(self, deployment: str) -> None:
        await self.client.delete(self._fault_key(deployment))

    async def _faults(self, deployments: list[str]) -> dict[str, str]:
        # The keys share the prefix's hash tag: one MGET, on one node of a cluster too.
        found = await self.client.mget([self._fault_key(d) for d in deployments])
        return {
            name: raw if isinstance(raw, str) else raw.decode()
            for name, raw in zip(deployments, found, strict=True)
            if raw is not None
        }

    async def clear(self) -> None:
        """Delete every key of this prefix (tests, resets)."""
        async for key in self.client.scan_iter(match=f"{self._tag}:*", count=500):
            await self.client.delete(key)


def _scope_of(counter: str, window: str) -> str:
    """The scope of a counter named ``<scope>:<window>``: the request's window, or a period of the
    scope's own (``ScopeLimit.period``, which has no colon)."""
    suffix = ":" + window
    return counter[: -len(suffix)] if counter.endswith(suffix) else counter.rpartition(":")[0]
