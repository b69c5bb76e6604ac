"""Redis going away: fail-closed refuses clearly and admits nothing unaccounted; recovery is quick."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time

import pytest

from litellm_router_plugin import BudgetGuard, BudgetLimit, ConfigError, StoreUnavailableError
from litellm_router_plugin.state import RedisStore
from tests.servers import REDIS_SERVER, free_port, start_redis

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (.ci/run installs it)")


async def test_redis_stopped_mid_run_fail_closed_then_recovers(
    own_redis: tuple[int, list[subprocess.Popen[bytes]]],
) -> None:
    port, procs = own_redis
    store = RedisStore(f"redis://127.0.0.1:{port}/0", socket_timeout=0.5)
    guard = BudgetGuard(BudgetLimit(daily=1.0), store=store)
    await guard.reserve("before", 0.01)
    await guard.settle("before", 0.01)

    procs[0].terminate()
    procs[0].wait(5)
    calls = 0

    async def guarded_call(i: int) -> None:
        nonlocal calls
        await guard.reserve(f"during-{i}", 0.01)
        calls += 1  # the upstream call: must never happen without a hold

    for i in range(5):
        with pytest.raises(StoreUnavailableError, match="fail_closed") as info:
            await guarded_call(i)
    assert calls == 0
    assert f"127.0.0.1:{port}" in str(info.value)

    procs.append(start_redis(port))
    restarted = time.monotonic()
    while True:
        try:
            await guard.reserve("after", 0.01)
            break
        except StoreUnavailableError:
            assert time.monotonic() - restarted < 1.0, "not working again within a second of the restart"
            await asyncio.sleep(0.02)
    assert await guard.spent() == (0.0, 0.01)  # a fresh server: only the new hold, nothing unaccounted
    await store.aclose()


async def test_fail_open_admits_unaccounted_and_says_so_loudly(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.2)
    guard = BudgetGuard(BudgetLimit(daily=1.0), store=store, on_store_error="fail_open")
    with caplog.at_level(logging.ERROR):
        hold = await guard.reserve("r", 0.5)
    assert hold.unaccounted
    assert "ADMITTING r UNACCOUNTED" in caplog.text
    await store.aclose()


async def test_unreachable_url_at_start_is_a_clear_error() -> None:
    port = free_port()
    with pytest.raises(StoreUnavailableError, match=f"Redis at redis://127.0.0.1:{port}/0 is unreachable"):
        await RedisStore.connect(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
    with pytest.raises(StoreUnavailableError) as info:
        await RedisStore.connect(f"redis://user:s3cret@127.0.0.1:{port}/0", socket_timeout=0.2)
    assert "s3cret" not in str(info.value)
    with pytest.raises(ConfigError, match=r"store\.url"):
        RedisStore("http://not-redis")
    with pytest.raises(ConfigError, match=r"store\.prefix"):
        RedisStore(prefix="{bad}")
