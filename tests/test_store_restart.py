"""A Redis restart: refused at once while it is down; once it is back, dead pooled connections are
replaced without refusing anything."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid

import pytest

from litellm_router_plugin import BudgetGuard, BudgetLimit, StoreUnavailableError
from litellm_router_plugin.state import RedisStore
from tests.servers import start_redis
from tests.test_store_outage import pytestmark  # noqa: F401  (skipped without redis-server)

Procs = tuple[int, list[subprocess.Popen[bytes]]]


async def test_a_restart_refuses_while_down_and_nothing_once_back(own_redis: Procs) -> None:
    port, procs = own_redis
    store = RedisStore(f"redis://127.0.0.1:{port}/0", socket_timeout=3.0, max_connections=32)
    guard = BudgetGuard(BudgetLimit(daily=1000.0), store=store)
    refused: list[BaseException] = []

    async def call() -> bool:
        rid = uuid.uuid4().hex
        try:
            await guard.reserve(rid, 0.01)
            await guard.settle(rid, 0.01)
        except StoreUnavailableError as exc:
            refused.append(exc)
            return False
        return True

    await asyncio.gather(*(call() for _ in range(32)))  # fills the pool: 32 live connections
    assert not refused

    procs[0].terminate()  # a clean restart: every pooled connection is now closed by the server
    procs[0].wait(5)
    assert not any(await asyncio.gather(*(call() for _ in range(32))))  # refused (at once: issue 20)
    procs.append(start_redis(port))
    back = time.monotonic()
    while not await call():  # the store's circuit lets a trial through within its backoff
        assert time.monotonic() - back < 2.0, "not working again within 2 s of the restart"
        await asyncio.sleep(0.01)
    refused.clear()
    assert all(await asyncio.gather(*(call() for _ in range(32))))  # on the pool's dead connections
    assert refused == []
    assert await guard.spent() == (pytest.approx(0.33), 0.0)  # the empty server saw the 33 calls since
    await store.aclose()


async def test_an_outage_longer_than_the_socket_timeout_is_still_refused(own_redis: Procs) -> None:
    port, procs = own_redis
    store = RedisStore(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3)
    guard = BudgetGuard(BudgetLimit(daily=1.0), store=store)
    await guard.reserve("warm", 0.01)
    procs[0].terminate()
    procs[0].wait(5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await guard.reserve("down", 0.01)
    except StoreUnavailableError:
        pass
    else:
        raise AssertionError("admitted while Redis was down")
    assert loop.time() - started < 5.0  # the retries are bounded by about the socket timeout
    await store.aclose()


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://127.0.0.1:6380/0", "unix:///tmp/no-such-redis.sock"]
)
def test_commands_are_packed_by_hiredis_as_redis_py_would(url: str) -> None:
    """The pool's connections (plain, TLS or Unix socket, as the URL says) pack with hiredis; the
    bytes of an admit's and a settle's arguments are redis-py's own."""
    from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection

    from litellm_router_plugin.state.redis import _HiredisPacking

    store = RedisStore(url, prefix="pack")
    pool = store.client.connection_pool
    assert issubclass(pool.connection_class, _HiredisPacking)
    expected_base = {"redis": Connection, "rediss": SSLConnection, "unix": UnixDomainSocketConnection}
    assert issubclass(pool.connection_class, expected_base[url.split(":", 1)[0]])
    ours, theirs = pool.make_connection(), expected_base[url.split(":", 1)[0]]()
    commands = [
        ("EVALSHA", "a" * 40, 3, "{pack}:holds", "{pack}:hold", "{pack}:expired", 0, "e" * 32, 300000, -1, 1e-07),
        ("EVALSHA", "b" * 40, 1, "{pack}:ledger", '{"user":"zoë","cost_micros":12}', 2.5, b"raw\x00bytes"),
        ("CONFIG GET", "maxmemory"),
        ("PING",),
    ]
    for command in commands:
        assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command))
