"""Store fixtures: one behavioural suite runs on MemoryStore, a real Redis server and a real Redis Cluster."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.state import MemoryStore, RedisStore, Store

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
START = 1_764_028_800.0  # 2025-11-25 00:00:00 UTC


@pytest.fixture(params=["memory", "redis", "cluster"])
async def clocked_store(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Store, ManualClock]]:
    """A store whose clock the test moves; Redis gets a fresh key prefix, removed afterwards."""
    clock = ManualClock(START)
    if request.param == "memory":
        yield MemoryStore(clock), clock
        return
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster_url")  # started for the session where none answers
        store = RedisStore(url, prefix=f"test-{uuid.uuid4().hex[:12]}", clock=clock, cluster=True)
    else:
        store = RedisStore(REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:12]}", clock=clock)
    await store.ping()  # no Redis is a failure, not a skip: .ci/run starts one
    try:
        yield store, clock
    finally:
        await store.clear()
        await store.aclose()
