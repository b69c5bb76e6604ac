"""One clock for windows: a worker whose clock runs 120 s fast cannot spend tomorrow's budget today."""

from __future__ import annotations

import uuid

import pytest

from litellm_router_plugin import BudgetExceededError, BudgetGuard, BudgetLimit
from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.guards.identity import Identity
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


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "America/New_York", "Europe/London"])
def test_window_pair_kept_between_noons_is_the_pair_of_the_moment(tz: str) -> None:
    """The guard keeps its window pair from one local noon to the next: asked at any moment, forwards
    or backwards (a test clock), it answers what a fresh guard computes for that moment."""
    clock = ManualClock(START)
    guard = BudgetGuard(timezone=tz, clock=clock)
    # every 37 minutes over three days (both sides of each noon and midnight), then back again
    moments = [START + i * 37 * 60 for i in range(3 * 24 * 60 // 37)] + [START + 11 * 3600, START - 3600]
    for moment in moments:
        clock.set(moment)
        assert guard.window_pair() == BudgetGuard(timezone=tz, clock=ManualClock(moment)).window_pair()


def test_admit_requests_of_several_identities_are_those_of_a_fresh_guard() -> None:
    limits = {"per_user": BudgetLimit(daily=5.0), "per_key": BudgetLimit(per_request=0.5, daily=9.0)}
    guard = BudgetGuard(BudgetLimit(per_request=1.0), clock=ManualClock(START), **limits)
    identities = [("alice", "k1", None), ("bob", None, "ml"), (None, None, None), ("alice", "k1", None)]
    for day in range(3):
        guard.clock.set(START + day * DAY)  # type: ignore[attr-defined]
        for user, key, team in identities:
            fresh = BudgetGuard(BudgetLimit(per_request=1.0), clock=ManualClock(START + day * DAY), **limits)
            got = guard.admit_request("r", [0.25, 2.0], identity=Identity(user, key, team))
            assert got == fresh.admit_request("r", [0.25, 2.0], identity=Identity(user, key, team))
