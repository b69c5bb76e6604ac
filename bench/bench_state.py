"""Shared state on Redis: round trips per routed request, and reserve+settle latency against PING.

Run: ``make bench-state`` (or ``.venv/bin/python bench/bench_state.py``); needs Redis at $REDIS_URL
(default 127.0.0.1:6379) and, for the ledger part, PostgreSQL at $LEDGER_DSN (default
postgresql://postgres@127.0.0.1:5432/test; ``--no-ledger`` skips it). Ratios are against a baseline
measured in the same run; an A/A pair (two identical stores) shows the noise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

import psycopg

from litellm_router_plugin import BudgetGuard, BudgetLimit, Pipeline, Planner, PluginConfig, build_router
from litellm_router_plugin.guards.admission import Admission
from litellm_router_plugin.state import RedisStore
from litellm_router_plugin.state.ledger import PostgresLedger

URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LEDGER_DSN = os.environ.get("LEDGER_DSN", "postgresql://postgres@127.0.0.1:5432/test")


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


class _TimedLedger(PostgresLedger):
    """The ledger, timing what ``record`` costs the request (the only ledger work on its path)."""

    record_ns: list[int]

    def record(self, row: Any) -> bool:
        start = time.perf_counter_ns()
        queued = super().record(row)
        self.record_ns.append(time.perf_counter_ns() - start)
        return queued


async def ledger_latency(n: int) -> None:
    """reserve+settle p50 with the Postgres ledger on, against the same without it and an A/A pair."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    ledger = _TimedLedger(LEDGER_DSN, schema=schema)
    ledger.record_ns = []
    stores = {name: RedisStore(URL, prefix=f"bench-{uuid.uuid4().hex[:8]}") for name in ("A", "A2", "ledger")}
    stores["ledger"].attach_ledger(ledger)
    guards = {
        name: BudgetGuard(BudgetLimit(daily=1e9), per_user=BudgetLimit(daily=1e9), store=store)
        for name, store in stores.items()
    }
    pinger = RedisStore(URL, prefix=f"bench-{uuid.uuid4().hex[:8]}")  # its own client: PINGs count nowhere else
    await pinger.ping()
    pings: list[float] = []
    cycles: dict[str, list[float]] = {name: [] for name in guards}
    for name, guard in guards.items():
        await guard.reserve(f"warm-{name}", 0.01, user="u")
        await guard.settle(f"warm-{name}", 0.01)
    await ledger.flush(10)  # schema created, connection open: the writer is warm
    round_trips_before = {name: store.round_trips.count for name, store in stores.items()}
    for i in range(n):  # interleaved, so all see the same machine load
        start = time.perf_counter_ns()
        await pinger.client.ping()
        pings.append((time.perf_counter_ns() - start) / 1e6)
        for name, guard in guards.items():
            start = time.perf_counter_ns()
            await guard.reserve(f"r{i}", 0.01, user="u")
            await guard.settle(f"r{i}", 0.009, ledger={"tier": "bench"})
            cycles[name].append((time.perf_counter_ns() - start) / 1e6)
    flush_start = time.perf_counter()
    await ledger.flush(60)
    flush_s = time.perf_counter() - flush_start
    ping = statistics.median(pings)
    p50 = {name: statistics.median(values) for name, values in cycles.items()}
    trips = {name: (store.round_trips.count - round_trips_before[name]) / n for name, store in stores.items()}
    print(f"with the Postgres ledger on, n={n} interleaved cycles; bare PING p50 {ping:.3f} ms")
    for name in ("A", "A2", "ledger"):
        print(
            f"  {name:>6}: reserve+settle p50 {p50[name]:.3f} ms = {p50[name] / ping:.2f}x PING, "
            f"{trips[name]:.2f} Redis round trips per cycle"
        )
    print(f"  A/A control: {p50['A2'] / p50['A']:.3f}x; ledger / A: {p50['ledger'] / p50['A']:.3f}x")
    record_us = statistics.median(ledger.record_ns) / 1e3
    print(
        f"  ledger work on the request path: 0 PostgreSQL round trips; record() p50 {record_us:.1f} us "
        f"(one append to the in-process queue); {ledger.written} rows written by the background writer, "
        f"{len(ledger)} left; final flush {flush_s * 1000:.0f} ms"
    )
    for store in stores.values():
        await store.clear()
        await store.aclose()
    await pinger.aclose()
    await ledger.aclose()
    async with await psycopg.AsyncConnection.connect(LEDGER_DSN, autocommit=True) as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=5000)
    parser.add_argument("--ledger-cycles", type=int, default=2000)
    parser.add_argument("--no-ledger", action="store_true", help="Skip the PostgreSQL ledger part.")
    args = parser.parse_args()
    asyncio.run(round_trips_per_request(args.requests))
    asyncio.run(latency(args.cycles))
    if not args.no_ledger:
        asyncio.run(ledger_latency(args.ledger_cycles))


if __name__ == "__main__":
    main()
