"""The Redis clients under ``RedisStore``: pools, the one reconnecting retry, hiredis packing, and
command counting (the benchmark's round trips). Apart from the store's protocol, which is in ``redis.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from hiredis import pack_command as hiredis_pack_command
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.state.base import RoundTrips

HEALTH_CHECK_SECONDS = 15.0
"""A connection idle this long is PINGed before reuse (costs a round trip only after idleness)."""
RETRY_BACKOFF_CAP = 0.05


def reconnecting_retry() -> Retry:
    """Retry a connection error once, at once.

    After a Redis restart every pooled connection is dead: the one retry replaces it with a fresh one.
    A store that stays unreachable is not retried inside the request (that cost 5.6 s per refused
    request): the store's circuit (``state.circuit``) refuses at once and tries again in the
    background of later calls. The scripts are safe to resend: settle is idempotent by request id,
    and admit by its attempt id (a re-sent admit gets the first result).
    """
    return Retry(
        ExponentialBackoff(cap=RETRY_BACKOFF_CAP, base=0.005),
        1,
        (redis_errors.ConnectionError,),  # not timeouts: a slow server is not made slower by resending
    )


class _HiredisPacking:
    """Mixed into the pool's connection class: commands are packed into the Redis protocol by hiredis
    (C) instead of redis-py's per-argument Python loop. An admit sends ~40 arguments: 44 us -> 5 us
    per command. The bytes are the same (tests compare them); a command name with a space (``CONFIG
    GET``), which redis-py splits, takes redis-py's path."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if (isinstance(first, str) and " " in first) or (isinstance(first, bytes) and b" " in first):
            packed: list[bytes] = super().pack_command(*args)  # type: ignore[misc]
            return packed
        return [hiredis_pack_command(args)]


def _hiredis_packing(connection_class: type) -> type:
    """``connection_class`` (plain, TLS or Unix socket, as the URL chose) packing with hiredis."""
    if issubclass(connection_class, _HiredisPacking):
        return connection_class
    return type(f"Hiredis{connection_class.__name__}", (_HiredisPacking, connection_class), {})


def lua_script(name: str) -> str:
    """The text of ``state/lua/<name>``."""
    return resources.files("litellm_router_plugin.state").joinpath("lua", name).read_text(encoding="utf-8")


class BoundedPool(aioredis.ConnectionPool):
    """redis-py's connection pool, bounded: with ``max_connections`` in use, a command waits up to
    ``timeout`` for one to come back (as with ``BlockingConnectionPool``), then fails with
    ``ConnectionError``. The wait is a semaphore that costs nothing while a connection is free:
    redis-py 8.2's blocking pool takes a condition and a lock, records observability counters and
    probes the socket for stray bytes on every checkout and return (~35 us of a ~140 us command,
    and a routed request sends two). A connection comes back only after a complete reply or
    disconnected: redis-py's reads and writes disconnect on any error or cancellation."""

    def __init__(self, *, timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self._free = asyncio.Semaphore(self.max_connections)

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        if self._free.locked():
            try:
                async with asyncio.timeout(self.timeout):
                    await self._free.acquire()
            except TimeoutError as exc:
                raise redis_errors.ConnectionError("No connection available.") from exc
        else:
            await self._free.acquire()  # returns at once: a slot is free
        available = self._available_connections
        try:
            connection = available.pop() if available else self.make_connection()  # type: ignore[no-untyped-call]
        except BaseException:
            self._free.release()
            raise
        self._in_use_connections.add(connection)
        if not connection.is_connected:
            try:
                await connection.connect()
            except BaseException:
                await self.release(connection)
                raise
        return connection

    async def release(self, connection: Any) -> None:
        if connection not in self._in_use_connections:
            return  # a pool reset or closed since: not ours to count
        self._in_use_connections.remove(connection)
        try:
            if connection.should_reconnect():  # the server asked to move (maintenance notifications)
                await connection.disconnect()
        finally:  # back in the pool only once disconnected: the next checkout reconnects it
            self._available_connections.append(connection)
            self._free.release()


class CountingRedis(aioredis.Redis):
    """A client that counts the commands it sends (one ``EVALSHA`` = one round trip), each bounded by
    ``command_timeout`` as a whole (one timer; the connections have none of their own: on Python 3.11
    redis-py's write timeout starts a task per command)."""

    round_trips: RoundTrips
    command_timeout: float | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips.add(args[0])
        try:
            async with asyncio.timeout(self.command_timeout):
                return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except TimeoutError as exc:  # cancelled inside a read or write, the connection is closed
            raise redis_errors.TimeoutError(f"No reply within {self.command_timeout} s") from exc


async def run_script(client: Any, script: Any, keys: list[Any], args: list[Any]) -> Any:
    """What ``script(keys, args, client)`` does outside a pipeline: ``EVALSHA``, and the script loaded
    again if the server has lost it (a restart, ``SCRIPT FLUSH``), without redis-py's per-call import
    and pipeline type checks (~12 us, two calls a request)."""
    try:
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except redis_errors.NoScriptError:
        script.sha = await client.script_load(script.script)
        return await client.evalsha(script.sha, len(keys), *keys, *args)


class CountingRedisCluster(aioredis.RedisCluster):
    """The cluster client, counting commands like ``CountingRedis``, and waiting for a free
    connection when all are busy (the cluster pool raises ``MaxConnectionsError`` instead)."""

    round_trips: RoundTrips
    slots: asyncio.Semaphore

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        self.round_trips.add(args[0])
        async with self.slots:
            return await super().execute_command(*args, **kwargs)


def single_client(
    url: str, socket_timeout: float, max_connections: int, round_trips: RoundTrips | None = None
) -> CountingRedis:
    """A client of one Redis server, on a bounded pool packing with hiredis, counting its commands in
    ``round_trips`` (a counter of its own if none is given)."""
    try:
        # Bounded: a burst of concurrent requests waits for a connection instead of failing.
        pool = BoundedPool.from_url(
            url,
            max_connections=max_connections,
            timeout=socket_timeout,
            socket_timeout=None,  # the client bounds each command instead (``command_timeout``)
            socket_connect_timeout=socket_timeout,
            decode_responses=True,
            retry=reconnecting_retry(),
            retry_on_error=[redis_errors.ConnectionError],
            health_check_interval=HEALTH_CHECK_SECONDS,
        )
    except ValueError as exc:
        raise ConfigError("store.url", safe_url(url), f"Not a Redis URL ({exc}).") from exc
    pool.connection_class = _hiredis_packing(pool.connection_class)
    client = CountingRedis.from_pool(pool)  # the client owns (and closes) its pool
    assert isinstance(client, CountingRedis)
    client.command_timeout = socket_timeout
    client.round_trips = RoundTrips() if round_trips is None else round_trips
    return client


def cluster_client(
    url: str, socket_timeout: float, max_connections: int, round_trips: RoundTrips | None = None
) -> CountingRedisCluster:
    """A Redis Cluster client that waits for a free connection (at most ``max_connections`` in use),
    counting its commands in ``round_trips`` (a counter of its own if none is given)."""
    try:
        client = CountingRedisCluster.from_url(
            url,
            max_connections=max_connections,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            decode_responses=True,
            retry=reconnecting_retry(),
            health_check_interval=HEALTH_CHECK_SECONDS,
        )
    except (ValueError, redis_errors.RedisClusterException) as exc:
        raise ConfigError(
            "store.url", safe_url(url), f"Not a Redis Cluster URL ({exc}); e.g. redis://host:7000"
        ) from exc
    assert isinstance(client, CountingRedisCluster)
    client.slots = asyncio.Semaphore(max_connections)
    client.round_trips = RoundTrips() if round_trips is None else round_trips
    return client


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


Client = CountingRedis | CountingRedisCluster


async def _close_at_loop_shutdown(client: Any) -> AsyncIterator[None]:
    """Closes ``client`` when its event loop shuts down (``asyncio.run`` finalises async generators
    before closing the loop); otherwise a closed loop's connections would only warn when collected."""
    try:
        yield
    finally:
        await client.aclose()


class LoopClients:
    """One client per event loop: a redis.asyncio connection belongs to the loop that opened it, and
    synchronous callers run on a loop of their own (integrations/blocking.py). The first loop to ask
    gets the client made first (``home``)."""

    def __init__(self, make: Callable[[], Client]) -> None:
        self._make = make
        self.home: Client | None = make()
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def current(self) -> Client:
        """The client of the running event loop (made on its first use there)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return self.home or self._make()
        found = self._clients.get(loop)
        if found is None:
            client, self.home = (self.home or self._make()), None
            closer = _close_at_loop_shutdown(client)
            with contextlib.suppress(StopIteration):  # runs to its yield: the loop now tracks it
                closer.asend(None).send(None)  # type: ignore[attr-defined]  # a coroutine-like awaitable
            found = self._clients[loop] = (client, closer)
        client = found[0]
        assert isinstance(client, (CountingRedis, CountingRedisCluster))
        return client

    async def aclose(self) -> None:
        """Close the connection pools (each on its own event loop; a closed loop's died with it)."""
        current = asyncio.get_running_loop()
        clients, self.home = [*self._clients.items(), *([(current, (self.home, None))] if self.home else [])], None
        self._clients.clear()
        for loop, (client, _closer) in clients:
            if loop is current:
                await client.aclose()
            elif loop.is_running():
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(client.aclose(), loop))
