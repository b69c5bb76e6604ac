"""No settle is lost: settles made while Redis is down are queued, retried, and charged once after."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
import redis

from litellm_router_plugin import MemoryStore, PluginConfig, metrics
from litellm_router_plugin.errors import StoreUnavailableError
from litellm_router_plugin.guards.admission import Admission, Offer
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.guards.settle_queue import SettleQueue, queue_for
from litellm_router_plugin.state import RedisStore, SettleRequest, SettleResult, Store
from tests.conftest import TWO_TIERS
from tests.servers import REDIS_SERVER, free_port, start_redis

OUTAGE_SECONDS = 5.0


def queue_gauge() -> float:
    value = metrics.REGISTRY.get_sample_value("lrp_settle_queue")
    assert value is not None
    return value


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (.ci/run installs it)")
async def test_settles_during_a_5s_outage_are_all_charged_once_after_it(tmp_path: Path) -> None:
    port = free_port()
    persist = ("--dir", str(tmp_path), "--dbfilename", "dump.rdb")  # the outage loses no data
    procs = [start_redis(port, *persist)]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", socket_timeout=0.5)
    try:
        config = PluginConfig.load({**TWO_TIERS, "budgets": {"global": {"daily": 10.0}}})
        admission = Admission(config, store)
        each = 0.0125
        holds = [await admission.admit([Offer(0.02, "cheap/0")], Identity(user="ann")) for _ in range(40)]
        gauge_before = queue_gauge()

        redis.Redis(port=port).shutdown(save=True)  # the outage begins; the data is on disk
        procs[0].wait(5)
        started = time.monotonic()
        settles = (admission.settle(h.request_id, each, ledger={"tier": "cheap"}) for h in holds)
        await asyncio.gather(*settles)  # none raises: the settles are queued
        assert len(queue_for(store)) == 40
        assert queue_gauge() == gauge_before + 40
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - started)))
        procs.append(start_redis(port, *persist))

        assert await queue_for(store).flush(seconds=30)
        assert queue_gauge() == gauge_before
        spent, held = await admission.guard.spent()
        assert (spent, held) == (pytest.approx(40 * each), 0.0)
        assert len(await store.ledger()) == 40
        statuses = [queue_for(store).results[h.request_id].status for h in holds]
        assert statuses == ["settled"] * 40

        await asyncio.gather(*(admission.settle(h.request_id, each) for h in holds))  # settled again: no-op
        assert (await admission.guard.spent())[0] == pytest.approx(40 * each)
        assert len(await store.ledger()) == 40
    finally:
        await store.aclose()
        for proc in procs:
            proc.kill()
            proc.wait(5)


class FlakyStore(MemoryStore):
    """A memory store whose settle fails ``failures`` times, then works."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def _settle(self, request: SettleRequest) -> SettleResult:
        if self.failures > 0:
            self.failures -= 1
            raise StoreUnavailableError(self.name, ConnectionError("down"))
        return await super()._settle(request)


async def test_a_full_queue_refuses_and_logs_the_amount(caplog: pytest.LogCaptureFixture) -> None:
    queue = SettleQueue(FlakyStore(10**6), max_queued=2, max_wait=0.01)
    with caplog.at_level(logging.ERROR):
        assert queue.put(SettleRequest("a", 1_000_000))
        assert queue.put(SettleRequest("a", 1_000_000))  # the same id: still one entry
        assert queue.put(SettleRequest("b", 2_000_000))
        assert not queue.put(SettleRequest("c", 3_500_000))
    assert len(queue) == 2
    assert "request c charged $3.500000 is NOT recorded" in caplog.text


async def test_close_logs_what_never_landed_with_amounts(caplog: pytest.LogCaptureFixture) -> None:
    store: Store = FlakyStore(10**6)
    queue = SettleQueue(store, max_wait=0.01)
    queue.put(SettleRequest("x1", 250_000))
    queue.put(SettleRequest("x2", 500_000))
    with caplog.at_level(logging.ERROR):
        await queue.close(seconds=0.2)
    assert "2 settles never reached memory store (total $0.750000): x1=$0.250000, x2=$0.500000" in caplog.text


async def test_retries_with_backoff_until_it_lands() -> None:
    store = FlakyStore(5)
    queue = SettleQueue(store, initial_wait=0.001, max_wait=0.01)
    queue.put(SettleRequest("late", 1))
    assert await queue.flush(seconds=5)
    assert store.failures == 0
    assert queue.results["late"].status == "unknown"  # it reached the store (which held nothing for it)
