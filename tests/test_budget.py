"""Budget behaviour, written once, run against MemoryStore and RedisStore."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid

import pytest

from litellm_router_plugin import BudgetExceededError, BudgetGuard, BudgetLimit, ConfigError, metrics
from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.state import Admitted, DuplicateRequest, Store
from tests.stores import START

Clocked = tuple[Store, ManualClock]


def rid() -> str:
    return uuid.uuid4().hex


async def test_exactly_the_affordable_requests_are_admitted_under_concurrency(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(daily=1.00), store=store, clock=clock)

    async def attempt() -> bool:
        try:
            await guard.reserve(rid(), 0.01)
        except BudgetExceededError:
            return False
        return True

    admitted = await asyncio.gather(*(attempt() for _ in range(250)))
    assert sum(admitted) == 100
    assert await guard.spent() == (0.0, pytest.approx(1.00))


async def test_refusal_names_scope_limit_spent_held_and_ask(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(per_user=BudgetLimit(daily=0.05), store=store, clock=clock)
    first = await guard.reserve("r1", 0.02, user="alice")
    await guard.settle(first.request_id, 0.03)
    await guard.reserve("r2", 0.01, user="alice")
    with pytest.raises(BudgetExceededError) as info:
        await guard.reserve("r3", 0.02, user="alice")
    err = info.value
    assert (err.scope, err.limit) == ("user:alice", "daily")
    assert (err.limit_usd, err.spent_usd, err.held_usd, err.asked_usd) == (0.05, 0.03, 0.01, 0.02)
    assert str(err) == (
        "budget exceeded for user:alice: spent $0.030000 + held $0.010000 + asked $0.020000 > daily limit $0.050000"
    )
    # another user is unaffected
    await guard.reserve("r4", 0.04, user="bob")


async def test_per_request_limit(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(per_request=0.10), per_team=BudgetLimit(per_request=0.05), store=store, clock=clock)
    await guard.reserve(rid(), 0.09)
    with pytest.raises(BudgetExceededError, match=r"asked \$0.060000 > per-request limit \$0.050000") as info:
        await guard.reserve(rid(), 0.06, team="ml")
    assert info.value.scope == "team:ml"


async def test_all_scopes_are_checked_at_once_and_charged_together(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(
        BudgetLimit(daily=10),
        per_user=BudgetLimit(daily=1),
        per_key=BudgetLimit(daily=0.5),
        per_team=BudgetLimit(daily=2),
        store=store,
        clock=clock,
    )
    hold = await guard.reserve("a", 0.4, user="u", key="sk-secret", team="t")
    with pytest.raises(BudgetExceededError) as info:
        await guard.reserve("b", 0.2, user="u2", key="sk-secret", team="t")
    assert info.value.scope.startswith("key:")
    assert "sk-secret" not in str(info.value)
    await guard.settle(hold.request_id, 0.3)
    for kind, name in (("global", None), ("user", "u"), ("key", "sk-secret"), ("team", "t")):
        assert await guard.spent(kind, name) == (pytest.approx(0.3), 0.0)


async def test_settle_charges_actual_once_even_when_called_twice_concurrently(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(daily=1.0), store=store, clock=clock)
    await guard.reserve("r", 0.20)
    results = await asyncio.gather(*(guard.settle("r", 0.15) for _ in range(10)))
    assert sorted(r.status for r in results) == ["already"] * 9 + ["settled"]
    assert all(r.charged == 150_000 for r in results)
    assert await guard.spent() == (pytest.approx(0.15), 0.0)
    assert (await guard.settle("r", 0.15)).status == "already"


async def test_failed_call_settles_at_zero_and_frees_the_hold(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(daily=0.01), store=store, clock=clock)
    await guard.reserve("r", 0.01)
    with pytest.raises(BudgetExceededError):
        await guard.reserve("r2", 0.01)
    await guard.settle("r", 0.0)
    await guard.reserve("r3", 0.01)


async def test_expired_lease_frees_the_budget_and_late_settle_reports_overrun(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(daily=0.10), store=store, clock=clock, lease_seconds=30, on_lost_settle="release")
    await guard.reserve("dead-worker", 0.10)
    with pytest.raises(BudgetExceededError):
        await guard.reserve("r2", 0.05)
    clock.advance(31)
    await guard.reserve("r3", 0.05)  # the dead worker's hold expired with its lease
    assert await guard.spent() == (0.0, pytest.approx(0.05))
    late = await guard.settle("dead-worker", 0.02)
    assert (late.status, late.lease_expired, late.overrun) == ("settled", True, 20_000)
    assert await guard.spent() == (pytest.approx(0.02), pytest.approx(0.05))


async def test_expired_lease_is_charged_at_its_estimate_logged_and_counted(
    clocked_store: Clocked, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(daily=0.10), store=store, clock=clock, lease_seconds=30)  # the default
    lost = metrics.REGISTRY.get_sample_value("lrp_lost_settles_total", {"action": "charge_estimate"}) or 0.0
    await guard.reserve("dead-worker", 0.06)
    clock.advance(31)
    with caplog.at_level(logging.WARNING), pytest.raises(BudgetExceededError):
        await guard.reserve("r2", 0.05)  # the dead worker's hold now counts as spent: 0.06 + 0.05 > 0.10
    assert await guard.spent() == (pytest.approx(0.06), 0.0)  # over-counted if anything, never under
    assert "hold of request dead-worker expired without a settle: charged its estimate $0.060000" in caplog.text
    assert metrics.REGISTRY.get_sample_value("lrp_lost_settles_total", {"action": "charge_estimate"}) == lost + 1
    late = await guard.settle("dead-worker", 0.02)  # the settle did come, late: corrected to the actual cost
    assert (late.status, late.lease_expired) == ("settled", True)
    assert await guard.spent() == (pytest.approx(0.02), 0.0)
    assert (await guard.settle("dead-worker", 0.02)).status == "already"


async def test_a_resent_admit_gets_its_first_result_another_call_is_a_duplicate(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(daily=0.10), store=store, clock=clock)
    request, _ = guard.admit_request("r", [0.2, 0.05])
    first = await guard.submit(request)  # (restores a fresh Redis prefix first)
    assert isinstance(first, Admitted)
    assert first.index == 1
    assert await store.admit(request) == first  # the driver re-sending the same call after a lost reply
    assert await guard.spent() == (0.0, pytest.approx(0.05))  # held once
    again, _ = guard.admit_request("r", [0.05])
    assert isinstance(await store.admit(again), DuplicateRequest)  # another call reusing the id


async def test_daily_window_rolls_over_at_midnight_of_the_configured_timezone(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(daily=0.05), store=store, clock=clock, timezone="America/New_York")
    clock.set(START + 4 * 3600 + 58 * 60)  # 23:58 in New York (UTC-5), 04:58 UTC
    assert guard.window() == "day:2025-11-24"
    await guard.settle((await guard.reserve("a", 0.05)).request_id, 0.05)
    with pytest.raises(BudgetExceededError):
        await guard.reserve("b", 0.01)
    clock.advance(60)  # 23:59: same day in New York
    with pytest.raises(BudgetExceededError):
        await guard.reserve("c", 0.01)
    clock.advance(60)  # 00:00 in New York
    assert guard.window() == "day:2025-11-25"
    await guard.reserve("d", 0.05)
    utc = BudgetGuard(BudgetLimit(daily=0.05), store=store, clock=clock)
    assert utc.window() == "day:2025-11-25"  # UTC had rolled over five hours earlier


async def test_seed_style_check_before_and_after(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(BudgetLimit(per_request=0.10, daily=0.15), store=store, clock=clock)
    await guard.check_before(0.08)
    await guard.check_after(0.07)
    with pytest.raises(BudgetExceededError):
        await guard.check_before(0.09)
    with pytest.raises(BudgetExceededError, match="per-request"):
        await guard.check_before(0.11)
    assert (await guard.spent())[0] == pytest.approx(0.07)


async def test_duplicate_request_id_is_refused(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(store=store, clock=clock)
    await guard.reserve("same", 0.01)
    with pytest.raises(ConfigError, match="already holds a reservation"):
        await guard.reserve("same", 0.01)


async def test_ledger_keeps_settled_calls_newest_first_with_bounded_retention(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(store=store, clock=clock)
    for i in range(3):
        await guard.reserve(f"r{i}", 0.01)
        await guard.settle(f"r{i}", 0.001 * (i + 1), ledger={"model": "gpt-4o-mini"})
    rows = await store.ledger()
    assert [r["request_id"] for r in rows] == ["r2", "r1", "r0"]
    assert [r["cost_micros"] for r in rows] == [3000, 2000, 1000]


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "1"])
def test_bad_limits_are_config_errors(bad: object) -> None:
    with pytest.raises(ConfigError, match="daily"):
        BudgetLimit(daily=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-0.01, math.nan, math.inf])
async def test_bad_costs_are_config_errors(bad: float) -> None:
    guard = BudgetGuard()
    with pytest.raises(ConfigError, match="estimated_cost"):
        await guard.reserve("r", bad)
    await guard.reserve("ok", 0.01)
    with pytest.raises(ConfigError, match="actual_cost"):
        await guard.settle("ok", bad)


async def test_bad_guard_settings_and_unknown_scope() -> None:
    with pytest.raises(ConfigError, match="timezone"):
        BudgetGuard(timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="on_store_error"):
        BudgetGuard(on_store_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lease_seconds"):
        BudgetGuard(lease_seconds=0)
    with pytest.raises(ConfigError, match="Use one of: global, user, key, team"):
        await BudgetGuard().spent("org", "acme")


async def test_a_settle_without_a_hold_charges_nothing_and_stays_out_of_the_ledger(clocked_store: Clocked) -> None:
    store, clock = clocked_store
    guard = BudgetGuard(store=store, clock=clock)
    result = await guard.settle("never-reserved", 0.5, ledger={"model": "m"})
    assert result.status == "unknown"
    assert await store.ledger() == []
    assert await guard.spent() == (0.0, 0.0)
