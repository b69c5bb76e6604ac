"""LiteLLM's recorded spend as a floor of its budget's counter, raised inside the admit (every store)."""

from __future__ import annotations

import asyncio
import uuid

from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.state import (
    AdmitCandidate,
    AdmitRequest,
    Admitted,
    BudgetRefused,
    ScopeLimit,
    SettleRequest,
    Store,
)

Clocked = tuple[Store, ManualClock]
SCOPE, PERIOD = "litellm-key:k1", "until1764032400"
DOLLAR = 1_000_000


def _admit(estimate: int, floor: int = 0, limit: int = DOLLAR) -> AdmitRequest:
    scope = ScopeLimit(SCOPE, PERIOD, limit, period=PERIOD, floor=floor)
    return AdmitRequest(uuid.uuid4().hex, (scope,), (AdmitCandidate(estimate),), lease_ms=60_000)


async def _started(clocked: Clocked) -> Store:
    """The store with its epoch marker set (a Redis without one answers every admit ``StoreReset``)."""
    store, _ = clocked
    await store.restore({}, "test")
    return store


async def test_recorded_spend_leaves_only_the_rest_of_the_budget(clocked_store: Clocked) -> None:
    store = await _started(clocked_store)
    floor = 950_000  # LiteLLM recorded $0.95 of the key's $1 before the plugin saw it
    refused = await store.admit(_admit(50_001, floor))
    assert isinstance(refused, BudgetRefused)
    assert (refused.spent, refused.held) == (floor, 0)
    admitted = [await store.admit(_admit(10_000, floor)) for _ in range(6)]
    assert [isinstance(a, Admitted) for a in admitted] == [True] * 5 + [False]
    assert await store.spent(SCOPE, PERIOD) == (floor, 50_000)  # raised once, by max: not per admit


async def test_a_floor_below_the_counter_changes_nothing(clocked_store: Clocked) -> None:
    store = await _started(clocked_store)
    first = _admit(300_000)
    assert isinstance(await store.admit(first), Admitted)
    await store.settle(SettleRequest(first.request_id, 300_000))
    assert isinstance(await store.admit(_admit(100_000, floor=200_000)), Admitted)
    assert await store.spent(SCOPE, PERIOD) == (300_000, 100_000)
    refused = await store.admit(_admit(600_001, floor=250_000))
    assert isinstance(refused, BudgetRefused)
    assert refused.spent == 300_000


async def test_the_floor_is_in_the_counter_a_settle_adds_to(clocked_store: Clocked) -> None:
    store = await _started(clocked_store)
    request = _admit(100_000, floor=400_000)
    assert isinstance(await store.admit(request), Admitted)
    await store.settle(SettleRequest(request.request_id, 80_000))
    assert await store.spent(SCOPE, PERIOD) == (480_000, 0)
    assert isinstance(await store.admit(_admit(10_000, floor=450_000)), Admitted)  # LiteLLM lags: no change
    assert await store.spent(SCOPE, PERIOD) == (480_000, 10_000)
    assert isinstance(await store.admit(_admit(10_000, floor=600_000)), Admitted)  # LiteLLM saw more
    assert await store.spent(SCOPE, PERIOD) == (600_000, 20_000)  # raised to it, not added


async def test_concurrent_admits_with_the_same_floor_raise_it_once(clocked_store: Clocked) -> None:
    store = await _started(clocked_store)
    floor = 900_000
    results = await asyncio.gather(*(store.admit(_admit(10_000, floor)) for _ in range(20)))
    assert sum(isinstance(r, Admitted) for r in results) == 10  # $0.10 left under the floor
    assert await store.spent(SCOPE, PERIOD) == (floor, 100_000)
