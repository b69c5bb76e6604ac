"""Redis restarted empty mid-day: rebuilt from the PostgreSQL ledger (spend stays within the limit),
or, without a ledger, a loud ``store_reset`` event and the configured ``on_reset``."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import uuid

import pytest

from litellm_router_plugin import BudgetExceededError, BudgetGuard, BudgetLimit, metrics
from litellm_router_plugin.errors import StoreResetError
from litellm_router_plugin.state import RedisStore
from litellm_router_plugin.state.ledger import PostgresLedger
from tests.servers import LEDGER_DSN, count, start_redis
from tests.test_store_outage import pytestmark  # noqa: F401  (skipped without redis-server)

Procs = tuple[int, list[subprocess.Popen[bytes]]]


def restart_empty(procs: list[subprocess.Popen[bytes]], port: int) -> None:
    procs[-1].kill()  # no persistence: the data is gone
    procs[-1].wait(5)
    procs.append(start_redis(port))


def resets(action: str) -> float:
    return metrics.REGISTRY.get_sample_value("lrp_store_resets_total", {"action": action}) or 0.0


async def test_restart_empty_mid_day_rebuilds_from_the_ledger_and_spend_stays_within_the_limit(
    own_redis: Procs, ledger_schema: str
) -> None:
    port, procs = own_redis
    prefix = f"reset-{uuid.uuid4().hex[:8]}"
    url = f"redis://127.0.0.1:{port}/0"
    ledger = PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05)
    first = RedisStore(url, prefix=prefix, socket_timeout=1.0)
    first.attach_ledger(ledger)
    guard = BudgetGuard(BudgetLimit(daily=1.0), store=first)
    for i in range(70):  # $0.70 of the day's $1.00 before the restart
        await guard.reserve(f"before-{i}", 0.01)
        await guard.settle(f"before-{i}", 0.01)
    assert await guard.spent() == (pytest.approx(0.70), 0.0)

    restart_empty(procs, port)
    rebuilt_before = resets("rebuilt")

    # Eight workers (own connections, own ledger writers, one PostgreSQL) hit the empty Redis at once.
    workers = []
    for _ in range(8):
        store = RedisStore(url, prefix=prefix, socket_timeout=1.0)
        store.attach_ledger(PostgresLedger(LEDGER_DSN, schema=ledger_schema, flush_seconds=0.05))
        workers.append(BudgetGuard(BudgetLimit(daily=1.0), store=store))

    async def call(guard: BudgetGuard, i: int) -> bool:
        rid = f"after-{i}"
        try:
            await guard.reserve(rid, 0.01)
        except BudgetExceededError:
            return False
        await guard.settle(rid, 0.01)
        return True

    admitted = await asyncio.gather(*(call(workers[i % 8], i) for i in range(100)))
    assert sum(admitted) == 30  # exactly what was left of the day's dollar
    assert resets("rebuilt") == rebuilt_before + 1  # one restore, however many workers saw the reset
    spent_after_restart = (await workers[0].spent())[0]
    for worker in workers:
        assert worker.store.durable is not None
        await worker.store.durable.aclose()
        await worker.store.aclose()
    await ledger.aclose()
    day_total = await count(ledger_schema)
    print(f"\nreset with ledger: day's spend ${day_total[1] / 1e6:.2f} in {day_total[0]} calls on a $1.00 limit")
    assert spent_after_restart == pytest.approx(1.0)
    assert day_total == (100, 1_000_000)  # the day's spend, in PostgreSQL: exactly the limit
    await first.aclose()


async def test_restart_empty_without_a_ledger_logs_store_reset_and_applies_on_reset(
    own_redis: Procs, caplog: pytest.LogCaptureFixture
) -> None:
    port, procs = own_redis
    url = f"redis://127.0.0.1:{port}/0"
    store = RedisStore(url, prefix="noledger", socket_timeout=1.0)
    keep_going = BudgetGuard(BudgetLimit(daily=1.0), store=store)
    await keep_going.reserve("a", 0.5)  # a new store: one store_reset (continue) as well
    restart_empty(procs, port)

    refusing = BudgetGuard(BudgetLimit(daily=1.0), store=store, on_reset="refuse")
    refused_before = resets("refuse")
    with caplog.at_level(logging.ERROR), pytest.raises(StoreResetError, match="on_reset='refuse'"):
        await refusing.reserve("b", 0.01)
    assert resets("refuse") == refused_before + 1
    events = [
        json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"event": "store_reset"')
    ]
    assert events[-1]["action"] == "refuse"
    assert events[-1]["store"] == f"Redis at {url}"

    continued_before = resets("continue")
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        await keep_going.reserve("c", 0.01)  # continue: counts from zero, loudly
    assert resets("continue") == continued_before + 1
    assert [json.loads(r.getMessage())["action"] for r in caplog.records] == ["continue"]
    assert await keep_going.spent() == (0.0, 0.51)  # "a", in flight at the loss, is held again
    await refusing.reserve("d", 0.01)  # the marker is back: no more refusals
    await store.aclose()
