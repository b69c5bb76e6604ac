"""Shared state on Redis: round trips per routed request, and reserve+settle latency against PING.

Run: ``make bench-state`` (or ``.venv/bin/python bench/bench_state.py``); needs Redis at $REDIS_URL
(default 127.0.0.1:6379). Ratios are against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

from litellm_router_plugin import Admission, BudgetGuard, BudgetLimit, Pipeline, Planner, PluginConfig, build_router
from litellm_router_plugin.state import RedisStore

URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


async def round_trips_per_request(n: int) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    config = PluginConfig.load(
        {"store": {"kind": "redis", "url": URL, "prefix": prefix}, "budgets": {"global": {"daily": 1000.0}}}
    )
    planner = Planner(config)
    admission = Admission(config)
    store = admission.store
    assert isinstance(store, RedisStore)
    router = build_router(pipeline=Pipeline(planner=planner, admission=admission))
    messages = [{"role": "user", "content": "Write a SQL query that ranks customers by revenue per region."}]
    await router.acompletion(model="auto", messages=messages, mock_response="ok")  # loads the scripts
    before, by_command = store.round_trips.count, dict(store.round_trips.by_command)
    for _ in range(n):
        await router.acompletion(model="auto", messages=messages, mock_response="ok")
    trips = store.round_trips.count - before
    commands = {k: v - by_command.get(k, 0) for k, v in store.round_trips.by_command.items()}
    print(f"routed requests: {n}; Redis round trips: {trips} ({trips / n:.2f} per request) {commands}")
    print("  goal: 2 per request (1 to admit, 1 to settle)")
    await store.clear()
    await store.aclose()


async def latency(n: int) -> None:
    store = RedisStore(URL, prefix=f"bench-{uuid.uuid4().hex[:8]}")
    guard = BudgetGuard(BudgetLimit(daily=1e9), per_user=BudgetLimit(daily=1e9), store=store)
    await store.ping()
    await guard.reserve("warm", 0.01)
    await guard.settle("warm", 0.01)
    pings, reserves, settles = [], [], []
    for i in range(n):  # interleaved, so all see the same machine load
        start = time.perf_counter_ns()
        await store.client.ping()
        mid = time.perf_counter_ns()
        pings.append((mid - start) / 1e6)
        await guard.reserve(f"r{i}", 0.01, user="u")
        end = time.perf_counter_ns()
        reserves.append((end - mid) / 1e6)
        await guard.settle(f"r{i}", 0.009)
        settles.append((time.perf_counter_ns() - end) / 1e6)
    ping, reserve, settle = (statistics.median(x) for x in (pings, reserves, settles))
    cycle = statistics.median(r + s for r, s in zip(reserves, settles, strict=True))
    print(f"n={n}: bare PING p50 {ping:.3f} ms; reserve p50 {reserve:.3f} ms; settle p50 {settle:.3f} ms")
    print(f"  reserve / PING = {reserve / ping:.2f}x, settle / PING = {settle / ping:.2f}x")
    print(f"  reserve+settle / PING = {cycle / ping:.2f}x  (goal <= 2x; two round trips are 2x by themselves)")
    await store.clear()
    await store.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(round_trips_per_request(args.requests))
    asyncio.run(latency(args.cycles))


if __name__ == "__main__":
    main()
