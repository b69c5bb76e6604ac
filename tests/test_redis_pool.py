"""The store's Redis connections: bounded, waited for, timed out and never handed back mid-reply."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis import exceptions as redis_errors

from litellm_router_plugin.state.redis_client import BoundedPool, CountingRedis, single_client
from tests.servers import REDIS_SERVER

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (.ci/run installs it)")
URL = "redis://127.0.0.1:6379/0"


def client(timeout: float, max_connections: int) -> CountingRedis:
    return single_client(URL, timeout, max_connections)


def pool_of(redis: CountingRedis) -> BoundedPool:
    pool = redis.connection_pool
    assert isinstance(pool, BoundedPool)
    return pool


async def test_a_burst_waits_for_the_bounded_connections_instead_of_opening_more() -> None:
    redis = client(5.0, max_connections=2)
    pool = pool_of(redis)
    key = f"pool-{uuid.uuid4().hex}"
    seen: list[int] = []

    async def blocking_pop() -> object:
        seen.append(len(pool._in_use_connections))
        # each holds its connection ~0.2 s on the server: six need three turns of two
        return await redis.blpop([key], timeout=0.2)

    results = await asyncio.gather(*(blocking_pop() for _ in range(6)))
    assert results == [None] * 6
    assert len(pool._available_connections) == 2
    assert not pool._in_use_connections
    assert max(seen) <= 2
    await redis.aclose()


async def test_a_command_without_a_reply_in_time_fails_and_its_connection_is_not_reused() -> None:
    redis = client(0.3, max_connections=1)
    key = f"pool-{uuid.uuid4().hex}"
    with pytest.raises(redis_errors.TimeoutError, match=r"0\.3 s"):
        await redis.blpop([key], timeout=2)  # the server answers only after 2 s
    # a command queued behind one that hangs fails by the same bound (the pool has one connection)
    hung = asyncio.ensure_future(redis.blpop([key], timeout=2))
    await asyncio.sleep(0)
    with pytest.raises(redis_errors.TimeoutError):
        await redis.ping()
    with pytest.raises(redis_errors.TimeoutError):
        await hung
    await asyncio.sleep(0.1)  # lets the server see both connections close (it would serve a live BLPOP)
    await redis.rpush(key, "late")
    # the timed-out BLPOPs' replies never reach a later command: each got a fresh connection
    assert await redis.lpop(key) == "late"
    assert await redis.ping() is True
    await redis.delete(key)
    await redis.aclose()


async def test_a_cancelled_command_leaves_no_reply_behind_for_the_next() -> None:
    redis = client(5.0, max_connections=1)
    key = f"pool-{uuid.uuid4().hex}"
    pending = asyncio.ensure_future(redis.blpop([key], timeout=1))
    await asyncio.sleep(0.05)
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    await redis.set(key, "mine")
    assert await redis.get(key) == "mine"  # not the cancelled BLPOP's reply
    pool = pool_of(redis)
    assert not pool._in_use_connections
    assert len(pool._available_connections) == 1
    await redis.delete(key)
    await redis.aclose()


async def test_the_pool_is_bounded_when_every_connection_is_taken_for_longer_than_the_wait() -> None:
    redis = client(5.0, max_connections=1)
    pool = pool_of(redis)
    pool.timeout = 0.2
    first = await pool.get_connection()
    with pytest.raises(redis_errors.ConnectionError, match="No connection available"):
        await pool.get_connection()
    await pool.release(first)
    assert await redis.ping() is True
    await redis.aclose()


async def test_a_connection_that_cannot_be_made_gives_its_slot_back() -> None:
    redis = client(5.0, max_connections=1)
    pool = pool_of(redis)
    make = pool.make_connection

    def broken() -> object:
        pool.make_connection = make  # type: ignore[method-assign]  # only the first one fails
        raise OSError("no file descriptors left")

    pool.make_connection = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="no file descriptors"):
        await redis.ping()
    assert await redis.ping() is True  # the one slot is free again: no wait, no "No connection available"
    await redis.aclose()
