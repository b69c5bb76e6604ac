"""LiteLLM's recorded spend as a floor of its budget's counter, raised inside the admit (every store)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from litellm_router_plugin import BudgetExceededError, PluginConfig
from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.guards.admission import Admission, Offer
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.guards.litellm_budgets import LiteLLMBudget, from_auth, periods
from litellm_router_plugin.state import (
    AdmitCandidate,
    AdmitRequest,
    Admitted,
    BudgetRefused,
    ScopeLimit,
    SettleRequest,
    Store,
)
from tests.stores import START

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


async def test_a_key_litellm_spent_95_cents_of_a_dollar_on_admits_5_cents_more(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    admission = Admission(PluginConfig.load({}), store=store)  # no budget in the plugin's config
    reset_at = clock.now() + 86400
    budget = LiteLLMBudget("key", "sk-hashed", 1.0, "1d", reset_at=reset_at, spend=0.95)
    who = Identity(key="sk-hashed", budgets=(budget,))
    for _ in range(5):
        hold = await admission.admit([Offer(0.01)], who)
        await admission.settle(hold.request_id, 0.01)
    with pytest.raises(BudgetExceededError) as refused:
        await admission.admit([Offer(0.000001)], who)
    assert refused.value.spent_usd == pytest.approx(1.0)
    assert await store.spent(budget.scope(), f"until{int(reset_at)}") == (1_000_000, 0)


def test_from_auth_carries_litellms_spend_and_drops_it_once_the_period_is_over() -> None:
    from litellm.proxy._types import UserAPIKeyAuth

    reset = datetime.fromtimestamp(START + 3600, UTC)
    auth = UserAPIKeyAuth(
        api_key="sk-h", max_budget=1.0, budget_duration="1h", budget_reset_at=reset, spend=0.25, user_id="u"
    )
    auth.user_max_budget, auth.user_spend, auth.team_id, auth.team_max_budget, auth.team_spend = 5.0, 2.0, "t", 9, 3
    budgets = [LiteLLMBudget.from_data(b) for b in from_auth(auth)]
    assert [(b.kind, b.floor(START)) for b in budgets] == [("key", 250_000), ("user", 2_000_000), ("team", 3_000_000)]
    # Past budget_reset_at the spend is the finished period's (LiteLLM's reset job has not run yet).
    assert budgets[0].floor(START + 3600) == 0
    assert periods(budgets, START + 3600).scopes[0].floor == 0
    assert periods(budgets, START).scopes[0].floor == 250_000
