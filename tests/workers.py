"""Code run in separate OS processes by the multi-worker tests (spawned, so it must be importable)."""

from __future__ import annotations

import asyncio
import os
import random
from multiprocessing.synchronize import Barrier, Event
from typing import Any

from litellm_router_plugin import BudgetExceededError, BudgetGuard, BudgetLimit, CircuitBreaker, CircuitBreakerOpen
from litellm_router_plugin.state import RedisStore


def budget_worker(url: str, prefix: str, cycles: int, concurrency: int, barrier: Barrier) -> int:
    """Reserve/settle ``cycles`` times at $0.01 against a $1.00 daily budget; returns how many were admitted."""

    async def main() -> int:
        store = RedisStore(url, prefix=prefix, max_connections=concurrency)
        guard = BudgetGuard(BudgetLimit(daily=1.00), store=store)
        limit = asyncio.Semaphore(concurrency)
        await store.ping()
        barrier.wait()

        async def cycle(i: int) -> int:
            async with limit:
                request_id = f"{os.getpid()}-{i}"
                try:
                    await guard.reserve(request_id, 0.01)
                except BudgetExceededError:
                    return 0
                await asyncio.sleep(random.random() * 0.002)
                await guard.settle(request_id, 0.01, ledger={"model": "test"})
                return 1

        admitted = sum(await asyncio.gather(*(cycle(i) for i in range(cycles))))
        await store.aclose()
        return admitted

    return asyncio.run(main())


def hold_and_hang(url: str, prefix: str, ready: Event) -> None:
    """Reserve the whole budget with a short lease, then hang until killed."""

    async def main() -> None:
        store = RedisStore(url, prefix=prefix)
        guard = BudgetGuard(BudgetLimit(daily=1.00), store=store, lease_seconds=1.0)
        await guard.reserve("doomed", 1.00)
        ready.set()
        await asyncio.sleep(3600)

    asyncio.run(main())


class Upstream(Exception):
    status_code = 503


def breaker_worker(url: str, prefix: str, barrier: Barrier, attempts: int) -> dict[str, Any]:
    """Fail once, report the state, then race for the half-open probe with ``attempts`` tasks."""

    async def main() -> dict[str, Any]:
        store = RedisStore(url, prefix=prefix)
        breaker = CircuitBreaker("upstream", failure_threshold=4, window_seconds=60, recovery_timeout=1.0, store=store)
        try:
            async with breaker:
                raise Upstream
        except Upstream:
            pass
        barrier.wait()  # every worker has failed once: 4 failures, threshold 4
        seen_after_threshold = (await breaker.status()).state
        refused_while_open = 0
        try:
            async with breaker:
                pass
        except CircuitBreakerOpen:
            refused_while_open = 1
        barrier.wait()
        await asyncio.sleep(1.2)  # past the recovery timeout, in every worker
        barrier.wait()

        async def attempt() -> int:
            try:
                async with breaker:
                    await store.client.incr(f"{{{prefix}}}:upstream_hits")
                    await asyncio.sleep(1.5)  # a slow probe: every other attempt, in every worker, is refused meanwhile
                    return 1
            except CircuitBreakerOpen:
                return 0

        probes = sum(await asyncio.gather(*(attempt() for _ in range(attempts))))
        barrier.wait()
        final = (await breaker.status()).state
        await store.aclose()
        return {"seen": seen_after_threshold, "refused": refused_while_open, "probes": probes, "final": final}

    return asyncio.run(main())


def policy_worker(path: str, conn: Any) -> None:
    """Route the prompts received on ``conn`` with a pipeline watching the policy at ``path``;
    answer each with ``(model, policy_version)``; stop on ``None``."""
    from litellm_router_plugin import Pipeline

    loop = asyncio.new_event_loop()
    pipeline = Pipeline(path)
    conn.send("ready")
    while (prompt := conn.recv()) is not None:
        routed = loop.run_until_complete(
            pipeline.route(pipeline.request({}, messages=[{"role": "user", "content": prompt}]))
        )
        if routed.ticket is not None:
            loop.run_until_complete(pipeline.settle(routed.ticket))
        conn.send((routed.decision.model, routed.decision.policy_version))
    if pipeline.admission is not None:
        loop.run_until_complete(pipeline.admission.store.aclose())
    loop.close()


def policy_admits(path: str, conn: Any) -> None:
    """For each count ``n`` received on ``conn``, route ``n`` requests with a pipeline watching the
    policy at ``path`` and answer how many were admitted (a budget refusal is not); stop on ``None``."""
    from litellm_router_plugin import Pipeline

    loop = asyncio.new_event_loop()
    pipeline = Pipeline(path)
    conn.send("ready")

    async def one() -> int:
        try:
            routed = await pipeline.route(pipeline.request({}, messages=[{"role": "user", "content": "Hi there!"}]))
        except BudgetExceededError:
            return 0
        if routed.ticket is not None:
            await pipeline.settle(routed.ticket)
        return 1

    while (count := conn.recv()) is not None:
        conn.send(sum(loop.run_until_complete(one()) for _ in range(count)))
    if pipeline.admission is not None:
        loop.run_until_complete(pipeline.admission.store.aclose())
    loop.close()


def learning_worker(path: str, conn: Any) -> None:
    """A second worker: route the prompts received on ``conn`` with a pipeline (and its learner) of the
    config at ``path``; answer each with ``(tier, adopted model version)``; stop on ``None``."""
    from litellm_router_plugin import Pipeline
    from litellm_router_plugin.online.learner import Learner

    loop = asyncio.new_event_loop()
    pipeline = Pipeline(path)
    learner = Learner.attach(pipeline)
    assert learner is not None
    conn.send("ready")
    while (prompt := conn.recv()) is not None:
        routed = loop.run_until_complete(
            pipeline.route(pipeline.request({}, messages=[{"role": "user", "content": prompt}]))
        )
        if routed.ticket is not None:
            loop.run_until_complete(pipeline.settle(routed.ticket))
        conn.send((routed.decision.tier, learner.adopted))
    if pipeline.admission is not None:
        durable = pipeline.admission.store.durable
        if durable is not None:
            loop.run_until_complete(durable.aclose())
        loop.run_until_complete(pipeline.admission.store.aclose())
    loop.close()


def settle_then_lose_queued(
    url: str, prefix: str, calls: int, lost: int, admitted: Event, go: Event, queued: Event
) -> None:
    """Admit ``calls`` requests at $0.001 (1 s lease) and settle all but ``lost``; after ``go`` (the
    store cut off) settle those too, so they are queued, report it, and hang until killed."""

    async def main() -> None:
        store = RedisStore(url, prefix=prefix, socket_timeout=0.5)
        guard = BudgetGuard(BudgetLimit(daily=10.0), store=store, lease_seconds=1.0)
        ids = [(await guard.reserve(f"{os.getpid()}-{i}", 0.001)).request_id for i in range(calls)]
        for request_id in ids[lost:]:
            await guard.settle(request_id, 0.001)
        admitted.set()
        await asyncio.to_thread(go.wait, 60)
        results = [await guard.settle(request_id, 0.001, queue_on_outage=True) for request_id in ids[:lost]]
        assert all(r.status == "queued" for r in results)
        queued.set()
        await asyncio.sleep(3600)

    asyncio.run(main())
