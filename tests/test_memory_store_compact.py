"""The memory store keeps a long run's records compactly and still answers as before (issue 25)."""

from __future__ import annotations

from litellm_router_plugin.clock import ManualClock
from litellm_router_plugin.state import MemoryStore
from litellm_router_plugin.state.base import AdmitCandidate, AdmitRequest, Admitted, ScopeLimit, SettleRequest

START = 1_764_028_800.0


async def _admit_and_settle(store: MemoryStore, rid: str, row: dict[str, object] | None, keep_ms: int = 600_000) -> str:
    admitted = await store.admit(
        AdmitRequest(rid, (ScopeLimit("key:k", "2025-11-25", 10_000),), (AdmitCandidate(5),), 60_000)
    )
    assert isinstance(admitted, Admitted)
    return (await store.settle(SettleRequest(rid, 3, row, keep_settled_ms=keep_ms))).status


async def test_ledger_rows_come_back_as_given_newest_first_and_apart_from_the_store() -> None:
    store = MemoryStore(ManualClock(START))
    rows = [{"ts": 1.5 + i, "user": f"u{i % 2}", "reason": "cheapest", "tokens": i, "team": None} for i in range(5)]
    for i, row in enumerate(rows):
        assert await _admit_and_settle(store, f"r{i}", row) == "settled"
    got = await store.ledger()
    assert got == rows[::-1]
    assert await store.ledger(2) == rows[:2:-1][:2]
    got[0]["user"] = "changed"  # a caller's edit does not reach the store
    assert (await store.ledger(1))[0]["user"] == rows[-1]["user"]


async def test_a_settlement_is_remembered_for_keep_settled_then_forgotten() -> None:
    clock = ManualClock(START)
    store = MemoryStore(clock)
    assert await _admit_and_settle(store, "old", None, keep_ms=1_000) == "settled"
    clock.advance(0.5)
    assert (await store.settle(SettleRequest("old", 3, keep_settled_ms=1_000))).status == "already"
    clock.advance(1.0)  # past keep_settled: the next settle forgets it
    assert await _admit_and_settle(store, "new", None, keep_ms=1_000) == "settled"
    assert (await store.settle(SettleRequest("old", 3, keep_settled_ms=1_000))).status == "unknown"
    assert (await store.settle(SettleRequest("new", 3, keep_settled_ms=1_000))).status == "already"


async def test_a_forgotten_then_settled_again_id_is_kept_from_its_later_settle() -> None:
    clock = ManualClock(START)
    store = MemoryStore(clock)
    assert await _admit_and_settle(store, "a", None, keep_ms=1_000) == "settled"
    await store.forget_settle("a")
    clock.advance(0.8)
    assert (await store.settle(SettleRequest("a", 3, keep_settled_ms=1_000))).status == "unknown"  # settled again
    clock.advance(0.5)  # 1.3 s after the first settle, 0.5 s after the second
    assert await _admit_and_settle(store, "b", None, keep_ms=1_000) == "settled"
    assert (await store.settle(SettleRequest("a", 3, keep_settled_ms=1_000))).status == "already"


async def _hold(store: MemoryStore, rid: str, lease_ms: int) -> None:
    admitted = await store.admit(
        AdmitRequest(rid, (ScopeLimit("key:k", "2025-11-25", 10_000),), (AdmitCandidate(5),), lease_ms)
    )
    assert isinstance(admitted, Admitted)


async def test_a_shorter_lease_admitted_later_still_expires_on_time() -> None:
    # Admits skip the scan of the holds until the earliest lease can have run out: a hold admitted
    # later with a shorter lease moves that instant forward.
    clock = ManualClock(START)
    store = MemoryStore(clock)
    await _hold(store, "long", 300_000)
    clock.advance(1.0)
    await _hold(store, "short", 10_000)
    clock.advance(10.5)  # past the short lease only
    assert await store.spent("key:k", "2025-11-25") == (5, 5)  # short: charged its estimate; long: held
    settled = await store.settle(SettleRequest("short", 3))
    assert settled.status == "settled"
    assert settled.lease_expired
    assert await store.spent("key:k", "2025-11-25") == (3, 5)  # the late settle corrects to the actual


async def test_an_expired_hold_is_kept_a_day_for_its_late_settle_then_forgotten() -> None:
    clock = ManualClock(START)
    store = MemoryStore(clock)
    await _hold(store, "lost", 1_000)
    await _hold(store, "late", 1_000)
    clock.advance(2.0)
    assert await store.spent("key:k", "2025-11-25") == (10, 0)  # both expired, charged their estimates
    clock.advance(86_399.0)  # not yet a day after they expired
    assert (await store.settle(SettleRequest("late", 3))).status == "settled"
    clock.advance(2.0)  # a day since: the next look at the holds drops the record
    assert await store.spent("key:k", "2025-11-25") == (8, 0)
    assert (await store.settle(SettleRequest("lost", 3))).status == "unknown"
