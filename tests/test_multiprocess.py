"""Many OS processes, one Redis: the guarantees the plugin sells over LiteLLM's own budgets."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from litellm_router_plugin import BudgetExceededError, BudgetGuard, BudgetLimit
from litellm_router_plugin.state import RedisStore
from tests import workers
from tests.servers import TcpProxy
from tests.stores import REDIS_URL

SPAWN = mp.get_context("spawn")


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"mp-{uuid.uuid4().hex[:12]}"
    yield prefix
    store = RedisStore(REDIS_URL, prefix=prefix)
    await store.clear()
    await store.aclose()


async def test_many_processes_one_budget_exactly(redis_prefix: str) -> None:
    processes, cycles, concurrency = 8, 256, 32  # 2,048 reserve/settle cycles at $0.01 vs $1.00
    manager = SPAWN.Manager()
    barrier = manager.Barrier(processes)
    with ProcessPoolExecutor(processes, mp_context=SPAWN) as pool:
        futures = [
            pool.submit(workers.budget_worker, REDIS_URL, redis_prefix, cycles, concurrency, barrier)
            for _ in range(processes)
        ]
        admitted = sum(f.result(timeout=240) for f in futures)
    manager.shutdown()

    assert admitted == 100
    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    guard = BudgetGuard(BudgetLimit(daily=1.00), store=store)
    spent, held = await store.spent("global", guard.window())
    ledger = await store.ledger()
    assert spent == 1_000_000 == sum(row["cost_micros"] for row in ledger)
    assert len(ledger) == 100
    assert held == 0
    assert await store.client.zcard(f"{{{redis_prefix}}}:holds") == 0
    assert await store.client.hlen(f"{{{redis_prefix}}}:hold") == 0
    await store.aclose()


async def test_sigkill_between_reserve_and_settle_leaves_no_permanent_hold(redis_prefix: str) -> None:
    ready = SPAWN.Event()
    worker = SPAWN.Process(target=workers.hold_and_hang, args=(REDIS_URL, redis_prefix, ready))
    worker.start()
    try:
        assert ready.wait(60), "worker did not reserve"
        os.kill(worker.pid or 0, signal.SIGKILL)
        worker.join(10)
    finally:
        if worker.is_alive():
            worker.kill()
    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    guard = BudgetGuard(BudgetLimit(daily=1.00), store=store)
    with pytest.raises(BudgetExceededError, match=r"held \$1.000000"):
        await guard.reserve("while-held", 0.01)
    deadline = time.monotonic() + 5
    while True:  # the lease is 1 s of Redis time; then the dead hold is charged at its estimate
        with pytest.raises(BudgetExceededError) as refused:
            await guard.reserve("after-lease", 0.01)
        if "held $0.000000" in str(refused.value):
            break
        assert time.monotonic() < deadline, "the dead worker's hold never expired"
        await asyncio.sleep(0.1)
    spent, held = await guard.spent()
    assert (spent, held) == (1.00, 0.0)  # no hold left; its estimate counted (on_lost_settle default)
    await store.aclose()


async def test_sigkill_with_queued_settles_charges_their_estimates_and_logs_each(
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls, lost = 120, 20  # issue 20: $0.100 of $0.120 charged, no log line
    proxy = TcpProxy(int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]))
    await proxy.start()
    admitted, go, queued = SPAWN.Event(), SPAWN.Event(), SPAWN.Event()
    worker = SPAWN.Process(
        target=workers.settle_then_lose_queued,
        args=(f"redis://127.0.0.1:{proxy.port}/0", redis_prefix, calls, lost, admitted, go, queued),
    )
    worker.start()
    try:
        assert await asyncio.to_thread(admitted.wait, 60), "worker did not admit"
        await proxy.stop()  # the worker's store is cut off: its last settles are queued
        go.set()
        assert await asyncio.to_thread(queued.wait, 30), "worker did not queue its settles"
        os.kill(worker.pid or 0, signal.SIGKILL)
        await asyncio.to_thread(worker.join, 10)
    finally:
        if worker.is_alive():
            worker.kill()
        await proxy.stop()
    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    guard = BudgetGuard(BudgetLimit(daily=10.0), store=store)
    await asyncio.sleep(1.1)  # past the 1 s lease of the lost holds
    with caplog.at_level(logging.WARNING):
        await guard.settle((await guard.reserve("next", 0.001)).request_id, 0.0)  # any admit expires them
    spent, held = await guard.spent()
    await store.aclose()
    assert (spent, held) == (pytest.approx(calls * 0.001), 0.0)
    charged = [r for r in caplog.records if "expired without a settle: charged its estimate $0.001000" in r.message]
    assert len(charged) == lost
    assert all(r.levelno == logging.WARNING for r in charged)


async def test_breaker_is_shared_and_half_open_lets_exactly_one_probe_through(redis_prefix: str) -> None:
    processes, attempts = 4, 8
    manager = SPAWN.Manager()
    barrier = manager.Barrier(processes)
    with ProcessPoolExecutor(processes, mp_context=SPAWN) as pool:
        futures = [
            pool.submit(workers.breaker_worker, REDIS_URL, redis_prefix, barrier, attempts) for _ in range(processes)
        ]
        results = [f.result(timeout=240) for f in futures]
    manager.shutdown()

    assert [r["seen"] for r in results] == ["open"] * processes
    assert sum(r["refused"] for r in results) == processes
    assert sum(r["probes"] for r in results) == 1
    store = RedisStore(REDIS_URL, prefix=redis_prefix)
    assert await store.client.get(f"{{{redis_prefix}}}:upstream_hits") == "1"
    assert [r["final"] for r in results] == ["closed"] * processes
    await store.aclose()
