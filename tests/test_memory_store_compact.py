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
