"""``Rebuild``: what a ``BudgetGuard`` does when the store has no epoch marker (new, or lost its data).

With a durable ledger the day's counters are rebuilt from it, once across workers (``Store.restore``).
A rebuild never leaves a permanent under-count:

- *Rows still queued by other workers* (their writer in retry backoff, or a batch still gathering)
  are not in the ledger when it is read. Every row carries the epoch it was charged in; whenever
  rows of an earlier epoch land, the writer that landed them raises the counters' ledger part to the
  ledger's new total (``Store.reconcile``, via ``PostgresLedger.landed``). The rebuilding worker
  reconciles once more after its restore, for rows that landed while it was reading.
- *Holds in flight at the loss* are re-created by the worker that admitted them: at once when it is
  the one that restores; otherwise within ``WATCH_SECONDS`` (while a worker has holds in flight it
  reads the epoch marker that often, one small read, and re-creates them when it changed); and at
  the latest at the settle (a settle that finds no hold for a request admitted in an earlier epoch
  re-creates it, then charges the actual cost, ledger row included).
- *A new store* (no marker, no ledger row ever charged under its prefix) starts from zero.
- *LiteLLM's recorded spend* (a LiteLLM budget's floor, raised inside the admit) is not a ledger
  row: a rebuild restores what the plugin charged, and the budget's next request, which carries the
  floor again, raises the counter to it. Late rows reconciled onto a raised counter may be counted
  twice (in the floor and as rows): an over-count for that period, never an under-count.
- *The ledger unreachable*: ``on_reset`` decides. ``continue`` counts from zero with provisional
  counters, reconciled in full from the ledger as soon as a batch reaches it; ``refuse`` refuses
  with the ledger's own error as the cause (retrying the ledger at most once a second).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import StoreResetError, StoreUnavailableError
from litellm_router_plugin.state import (
    AdmitCandidate,
    AdmitRequest,
    Admitted,
    MemoryStore,
    ScopeLimit,
    SettleRequest,
    SettleResult,
    Store,
)
from litellm_router_plugin.state.base import RestoredHold, StoreReset

logger = logging.getLogger(__name__)

WATCH_SECONDS = 0.25
"""While this worker has holds in flight, how often it checks that the store still has them."""
REHOLD_GRACE_SECONDS = 3 * WATCH_SECONDS
"""After restoring a shared store, the admits that found it empty wait this long, so that every
worker's holds in flight are held again before they are checked against the budgets."""
LEDGER_RETRY_SECONDS = 1.0
"""After the ledger failed to answer, refusals reuse that answer this long (no connect per request)."""


@dataclass(frozen=True, slots=True)
class InFlight:
    """A hold this worker admitted and has not settled: enough to re-create it after a reset."""

    request_id: str
    window: str
    scopes: tuple[str, ...]
    estimate: int
    epoch: str | None
    since: float


class Rebuild:
    """Restores ``store`` when it has lost its epoch marker, and keeps this worker's holds in flight."""

    def __init__(self, store: Store, on_reset: Literal["continue", "refuse"], lease_ms: int) -> None:
        self.store = store
        self.on_reset = on_reset
        self.lease_ms = lease_ms
        self.epoch: str | None = None
        """The last epoch this worker saw (from its settles and restores)."""
        self._inflight: OrderedDict[str, InFlight] = OrderedDict()
        self._ledger_down: tuple[float, str] | None = None  # (monotonic until, cause)
        self._watcher: asyncio.Task[None] | None = None

    # -- holds in flight -----------------------------------------------------------------------
    def admitted(self, request: AdmitRequest, result: Admitted) -> None:
        """Remember an admitted hold until it is settled (or its lease has run out)."""
        if not request.scopes or result.window is None:
            return
        now = time.monotonic()
        while self._inflight:  # forget holds whose lease ran out: the store forgot them as well
            oldest = next(iter(self._inflight.values()))
            if oldest.since > now - self.lease_ms / 1000:
                break
            self._inflight.popitem(last=False)
        scopes = tuple(s.scope for s in request.scopes)
        estimate = request.candidates[result.index].estimate
        self._inflight[request.request_id] = InFlight(
            request.request_id, result.window, scopes, estimate, self.epoch, now
        )
        if isinstance(self.store, MemoryStore):
            return  # a store in this process's memory cannot lose its data while the process lives
        loop = asyncio.get_running_loop()
        if self._watcher is None or self._watcher.done() or self._watcher.get_loop() is not loop:
            self._watcher = loop.create_task(self._watch(), name="lrp-hold-watch")

    def _live(self) -> bool:
        cutoff = time.monotonic() - self.lease_ms / 1000
        return any(h.since > cutoff for h in self._inflight.values())

    async def _watch(self) -> None:
        """While holds are in flight here: re-create them if the store lost its data meanwhile."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if self.store.closed or not self._live():
                return
            known = self.epoch
            try:
                current, _ = await self.store.epoch()
                if known is None or current == known or self.store.closed:
                    continue
                if current is None:  # nobody restored yet: do it (once across workers), then re-hold
                    await self.recover(*sorted({h.window for h in self._inflight.values()}))
                else:  # another worker restored: its rebuild does not know this worker's holds
                    self.epoch = current
                    await self._rehold_all(time.monotonic())
            except (StoreUnavailableError, StoreResetError):
                continue  # the next admit or settle reports it; keep watching

    def settled(self, request_id: str) -> InFlight | None:
        """Forget a hold at its settle; the record, if this worker admitted it."""
        return self._inflight.pop(request_id, None)

    def seen(self, epoch: str | None) -> None:
        """A settle reported the store's epoch."""
        if epoch is not None:
            self.epoch = epoch

    async def lost(self, hold: InFlight) -> bool:
        """Whether ``hold`` (whose settle found no hold in the store) was lost with the store's data:
        the store is on another epoch than the one it was admitted in (or has none)."""
        current, _ = await self.store.epoch()
        return current is None or (hold.epoch is not None and current != hold.epoch)

    async def settle(self, request: SettleRequest, hold: InFlight | None) -> SettleResult:
        """Settle ``request``; when its hold (admitted here as ``hold``) was lost with the store's data,
        re-create it and settle again, so the call is charged and reaches the ledger."""
        result = await self.store.settle(request)
        if result.status == "unknown" and hold is not None and await self.lost(hold):
            await self.store.forget_settle(request.request_id)
            if isinstance(await self.store.admit(self.rehold_request(hold)), StoreReset):
                await self.recover(hold.window)  # nobody restored yet
                await self.store.admit(self.rehold_request(hold))
            result = await self.store.settle(request)
            logger.warning(
                "request %s: its hold was lost with the store's data; held again and settled", hold.request_id
            )
        self.seen(result.epoch)
        return result

    def rehold_request(self, hold: InFlight) -> AdmitRequest:
        """The admit that re-creates ``hold`` as it was (no limit checked: the call is already made)."""
        return AdmitRequest(
            request_id=hold.request_id,
            scopes=tuple(ScopeLimit(scope, hold.window, None) for scope in hold.scopes),
            candidates=(AdmitCandidate(hold.estimate),),
            lease_ms=self.lease_ms,
        )

    def _restored(self, before: float) -> tuple[RestoredHold, ...]:
        """This worker's holds in flight (admitted before ``before``), for ``restore`` to re-create."""
        return tuple(
            RestoredHold(h.request_id, h.window, h.scopes, h.estimate, self.lease_ms)
            for h in self._inflight.values()
            if h.since < before
        )

    async def _rehold_all(self, before: float) -> None:
        holds = [h for h in self._inflight.values() if h.since < before]
        if not holds:
            return
        results = await asyncio.gather(
            *(self.store.admit(self.rehold_request(h)) for h in holds), return_exceptions=True
        )
        again = sum(isinstance(r, Admitted) for r in results)
        if again:  # the others exist already (re-created by this worker's restore) or were settled
            logger.warning("store reset: %d of %d holds in flight here re-created", again, len(holds))

    # -- the reset -----------------------------------------------------------------------------
    async def recover(self, *windows: str) -> None:
        """Rebuild the counters of ``windows`` from the ledger, or apply ``on_reset`` without one;
        then hold again what this worker has in flight, and give the other workers time to do so."""
        detected = time.monotonic()
        event: dict[str, Any] = {"event": "store_reset", "store": self.store.name, "windows": list(windows)}
        # This worker's holds in flight are re-created by the restore itself (if it is the one to restore).
        fresh = await self._restore(windows, event, self._restored(detected))
        await self._rehold_all(detected)
        if not fresh and not isinstance(self.store, MemoryStore):
            await asyncio.sleep(REHOLD_GRACE_SECONDS)

    async def _restore(self, windows: tuple[str, ...], event: dict[str, Any], holds: tuple[RestoredHold, ...]) -> bool:
        """Restore the store (once across workers); ``True`` when it is new (nothing can be in flight)."""
        ledger = self.store.durable
        if ledger is None:
            await self._without_ledger(event, "no durable ledger is configured to rebuild from", None, holds)
            return False
        down = self._ledger_down
        if down is not None and time.monotonic() < down[0]:
            await self._without_ledger(event, down[1], ledger.name, holds)
            return False
        epoch = uuid.uuid4().hex
        try:
            totals = await ledger.totals(windows)
            fresh = not totals and not await ledger.has_rows()
        except ledger.unavailable_errors as exc:
            cause = f"the ledger {ledger.name} is unreachable ({type(exc).__name__}: {' '.join(str(exc).split())})"
            self._ledger_down = (time.monotonic() + LEDGER_RETRY_SECONDS, cause)
            await self._without_ledger(event, cause, ledger.name, holds)
            return False
        self._ledger_down = None
        if await self.store.restore(totals, epoch, holds=holds):
            self.epoch = epoch
            action = "fresh" if fresh else "rebuilt"
            metrics.STORE_RESETS.labels(action).inc()
            log = logger.info if fresh else logger.warning
            log(json.dumps({**event, "action": action, "counters": len(totals), "spent_micros": sum(totals.values())}))
            # Rows that reached the ledger while it was read: their writers may have found no marker.
            added = await self.store.reconcile(await ledger.totals(windows, except_epoch=epoch), epoch)
            if added:
                logger.warning(json.dumps({**event, "action": "reconciled", "added_micros": added}))
        return fresh

    async def _without_ledger(
        self, event: dict[str, Any], cause: str, ledger: str | None, holds: tuple[RestoredHold, ...]
    ) -> None:
        if self.on_reset == "refuse":
            metrics.STORE_RESETS.labels("refuse" if ledger is None else "refused_ledger_unreachable").inc()
            logger.error(json.dumps({**event, "action": "refuse", "cause": cause}))
            fix = None
            if ledger is not None:
                fix = (
                    "Once the ledger answers, the counters are rebuilt from it; or run `litellm-router "
                    "ack-reset` to accept today's counters starting from zero."
                )
            raise StoreResetError(self.store.name, cause, fix)
        epoch = uuid.uuid4().hex
        if await self.store.restore({}, epoch, provisional=ledger is not None, holds=holds):
            self.epoch = epoch
            metrics.STORE_RESETS.labels("continue").inc()
            then = "reconciled from the ledger when it answers" if ledger is not None else "not rebuilt"
            logger.error(json.dumps({**event, "action": "continue", "cause": cause, "counters_from": 0, "then": then}))
