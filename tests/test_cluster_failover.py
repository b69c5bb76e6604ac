"""Redis Cluster: a master killed with a replica present; after the failover the store works again."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from litellm_router_plugin import BudgetGuard, BudgetLimit, StoreUnavailableError
from litellm_router_plugin.state import RedisStore
from tests.servers import REDIS_CLI, REDIS_SERVER, RedisCluster

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_CLI is None, reason="redis-server and redis-cli needed (.ci/run installs them)"
)


async def test_master_killed_fails_over_to_its_replica_and_the_store_works_again(tmp_path: Path) -> None:
    cluster = RedisCluster(tmp_path, node_timeout_ms=1000).start()
    prefix = f"failover-{uuid.uuid4().hex[:8]}"
    store = RedisStore(cluster.url, prefix=prefix, cluster=True, socket_timeout=1.0)
    guard = BudgetGuard(BudgetLimit(daily=100.0), store=store)
    try:
        for i in range(50):
            await guard.reserve(f"before-{i}", 0.01)
            await guard.settle(f"before-{i}", 0.01)
        before = (await guard.spent())[0]
        node = store.client.get_node_from_key("{" + prefix + "}:x")
        assert node is not None
        master = int(node.port)
        replicas = cluster.cli(master, "cluster", "replicas", cluster.cli(master, "cluster", "myid").strip())
        assert replicas.strip(), "the master of our slot has no replica"

        cluster.kill(master)
        killed = time.monotonic()
        refused = 0
        while True:
            try:
                await guard.reserve("after", 0.01)
                break
            except StoreUnavailableError:
                refused += 1
                assert time.monotonic() - killed < 60, "no failover within 60 s"
                await asyncio.sleep(0.05)
        took = time.monotonic() - killed
        await guard.settle("after", 0.01)
        after = (await guard.spent())[0]
        lost = round(before + 0.01 - after, 6)
        print(
            f"\nfailover: store working again {took:.2f} s after the master was killed ({refused} refused "
            f"attempts); spent before ${before:.2f}, after ${after:.2f}, lost ${lost:.2f}"
        )
        assert after <= before + 0.01 + 1e-9  # nothing counted twice
    finally:
        await store.aclose()
        cluster.stop()
