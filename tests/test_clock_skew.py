"""One clock for windows: a worker whose clock runs 120 s fast cannot spend tomorrow's budget today."""

from __future__ import annotations

import uuid

import pytest

from litellm_router_plugin import BudgetExceededError, BudgetGuard, BudgetLimit
from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.state import Store
from tests.stores import START

DAY = 86_400.0


class FastClock:
    """A worker's clock ``skew`` seconds ahead of the true one (the store's)."""

    def __init__(self, true: ManualClock, skew: float) -> None:
        self.true, self.skew = true, skew

    def now(self) -> float:
        return self.true.now() + self.skew


async def test_a_fast_worker_clock_keeps_each_true_day_within_the_limit(
    clocked_store: tuple[Store, ManualClock],
) -> None:
    store, clock = clocked_store  # the store's clock stands for Redis TIME: the true time
    honest = BudgetGuard(BudgetLimit(daily=1.0), store=store, clock=clock)
    fast = BudgetGuard(BudgetLimit(daily=1.0), store=store, clock=FastClock(clock, 120.0))

    async def spend(guard: BudgetGuard, usd: float) -> bool:
        rid = uuid.uuid4().hex
        try:
            hold = await guard.reserve(rid, usd)
        except BudgetExceededError:
            return False
        await guard.settle(rid, usd)
        assert hold.window is not None
        return True

    clock.set(START + 10 * 3600)  # 10:00 on day one: the honest worker spends the day's dollar
    assert await spend(honest, 1.0)
    clock.set(START + DAY - 90)  # 23:58:30 true; the fast worker believes it is 00:00:30 tomorrow
    assert fast.window() == "day:2025-11-26"
    assert not await spend(fast, 0.5)  # it is still today for the store: refused
    clock.set(START + DAY + 30)  # 00:00:30 true: a new day, both workers agree
    assert await spend(fast, 0.6)
    assert await spend(honest, 0.4)
    assert not await spend(fast, 0.01)

    day_one = await store.spent("global", "day:2025-11-25")
    day_two = await store.spent("global", "day:2025-11-26")
    assert (day_one, day_two) == ((1_000_000, 0), (1_000_000, 0))  # each true day exactly at its limit


@pytest.mark.parametrize(("tz", "boundary_hour_utc"), [("UTC", 0), ("Asia/Tokyo", 15), ("America/New_York", 5)])
def test_window_pair_surrounds_the_nearest_local_midnight(tz: str, boundary_hour_utc: int) -> None:
    guard = BudgetGuard(timezone=tz, clock=ManualClock(START + boundary_hour_utc * 3600 - 60))
    before, after, boundary_ms = guard.window_pair()
    assert boundary_ms == (START + boundary_hour_utc * 3600) * 1000
    later = BudgetGuard(timezone=tz, clock=ManualClock(START + boundary_hour_utc * 3600 + 60)).window_pair()
    assert later == (before, after, boundary_ms)  # a minute either side: the same pair and instant
