"""Redis Cluster under ordinary concurrency: 64 tasks of one process on a healthy 3-master cluster.

redis-py 8.1.0's async cluster client sent EVALSHA to a random primary whenever its default node was
unset and closed every connection (in-flight ones too) on each 5th MOVED, so scripts were re-sent
and ``AttributeError`` escaped: ~10% duplicate-id refusals, ~400 ``already`` settles. The first test
pins the driver (every script call runs exactly once), the second the store on it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
import redis.asyncio as aioredis

from litellm_router_plugin import BudgetGuard, BudgetLimit, ConfigError, StoreUnavailableError
from litellm_router_plugin.state import RedisStore
from tests.servers import REDIS_CLI, REDIS_SERVER

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_CLI is None, reason="redis-server and redis-cli needed (.ci/run installs them)"
)

TASKS = 64
CYCLES = 25
COUNT_ONCE = "redis.call('INCR', KEYS[1]) return 'ok'"


async def test_the_driver_runs_each_script_call_exactly_once(redis_cluster_url: str) -> None:
    client = aioredis.RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    script = client.register_script(COUNT_ONCE)
    key = "{" + f"once-{uuid.uuid4().hex[:8]}" + "}:n"
    errors: Counter[str] = Counter()

    async def task() -> None:
        for _ in range(CYCLES):
            try:
                await script(keys=[key])
            except Exception as exc:  # counted: the assertion names them
                errors[type(exc).__name__] += 1

    try:
        await asyncio.gather(*(task() for _ in range(TASKS)))
        runs = int(await client.get(key) or 0)
        await client.delete(key)
    finally:
        await client.aclose()
    assert dict(errors) == {}
    assert runs == TASKS * CYCLES  # none re-sent after its script had run


async def test_64_tasks_admit_and_settle_without_errors_duplicates_or_lost_charges(redis_cluster_url: str) -> None:
    store = RedisStore(redis_cluster_url, prefix=f"conc-{uuid.uuid4().hex[:8]}", cluster=True)
    guard = BudgetGuard(BudgetLimit(daily=1000.0), store=store)
    outcomes: Counter[str] = Counter()

    async def task(t: int) -> None:
        for i in range(CYCLES):
            request_id = f"{t}-{i}"
            try:
                await guard.reserve(request_id, 0.01)
            except ConfigError:
                outcomes["duplicate-id refusal"] += 1
                continue
            except StoreUnavailableError as exc:
                outcomes[f"unavailable: {exc.cause!r}"] += 1
                continue
            outcomes["call"] += 1
            result = await guard.settle(request_id, 0.01)
            outcomes[f"settle {result.status}"] += 1

    try:
        await asyncio.gather(*(task(t) for t in range(TASKS)))  # a raw driver error fails the test here
        spent, held = await guard.spent()
    finally:
        await store.clear()
        await store.aclose()
    assert dict(outcomes) == {"call": TASKS * CYCLES, "settle settled": TASKS * CYCLES}
    assert (spent, held) == (pytest.approx(TASKS * CYCLES * 0.01), 0.0)  # spent = calls, no orphan hold
