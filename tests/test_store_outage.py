"""Redis going away: fail-closed refuses clearly and admits nothing unaccounted; recovery is quick."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import time

import pytest
from redis.crc import key_slot

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


async def test_refusals_while_down_take_milliseconds_and_a_restart_is_used_at_once(
    own_redis: tuple[int, list[subprocess.Popen[bytes]]],
) -> None:
    port, procs = own_redis
    store = RedisStore(f"redis://127.0.0.1:{port}/0")  # the default 5 s socket timeout
    guard = BudgetGuard(BudgetLimit(daily=1.0), store=store)
    await guard.settle((await guard.reserve("before", 0.01)).request_id, 0.01)
    procs[0].terminate()
    procs[0].wait(5)

    took = []
    for i in range(40):
        started = time.perf_counter()
        with pytest.raises(StoreUnavailableError):
            await guard.reserve(f"during-{i}", 0.01)
        took.append(time.perf_counter() - started)
        await asyncio.sleep(0.005)  # requests keep arriving; some are the circuit's trials
    took.sort()
    assert took[len(took) // 2] < 0.05, f"refusal p50 {took[len(took) // 2] * 1000:.1f} ms (issue 20: under 50 ms)"

    procs.append(start_redis(port))
    restarted = time.monotonic()
    while True:
        try:
            await guard.reserve("after", 0.01)
            break
        except StoreUnavailableError:
            assert time.monotonic() - restarted < 2.0, "not working again within 2 s of the restart"
            await asyncio.sleep(0.01)
    await store.aclose()


async def test_admits_that_time_out_during_a_freeze_leave_no_hold(
    own_redis: tuple[int, list[subprocess.Popen[bytes]]],
) -> None:
    port, procs = own_redis
    store = RedisStore(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3)
    guard = BudgetGuard(BudgetLimit(daily=10.0), store=store)

    async def cycle(i: int) -> None:
        await guard.settle((await guard.reserve(f"before-{i}", 0.01)).request_id, 0.0)

    await asyncio.gather(*(cycle(i) for i in range(30)))  # a warm pool, as under steady load
    await guard.settle((await guard.reserve("before", 0.01)).request_id, 0.01)
    procs[0].send_signal(signal.SIGSTOP)  # frozen: connections and writes are accepted, nothing answers
    try:
        results = await asyncio.gather(*(guard.reserve(f"frozen-{i}", 0.01) for i in range(30)), return_exceptions=True)
    finally:
        procs[0].send_signal(signal.SIGCONT)
    assert all(isinstance(r, StoreUnavailableError) for r in results)
    await asyncio.sleep(0.3)  # Redis runs the admits it had buffered: each finds its caller gone
    while True:
        try:
            spent, held = await guard.spent()
            break
        except StoreUnavailableError:
            await asyncio.sleep(0.05)
    assert (spent, held) == (pytest.approx(0.01), 0.0)  # no hold left blocking budget for a lease
    await store.aclose()


async def test_every_driver_error_is_a_store_error_and_a_bug_of_ours_is_not_masked() -> None:
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")

    async def inside_the_driver() -> int:
        return key_slot(123)  # type: ignore[arg-type]  # redis-py's own code fails (AttributeError)

    async def ours() -> None:
        raise KeyError("a bug of ours")

    with pytest.raises(StoreUnavailableError, match="AttributeError"):
        await store._guard(inside_the_driver())
    with pytest.raises(KeyError):
        await store._guard(ours())
    await store.aclose()
