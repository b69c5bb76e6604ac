"""``MemoryStore``: the shared-state protocol for one process (the default), same behaviour as Redis."""

from __future__ import annotations

import itertools
import sys
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from litellm_router_plugin.clock import Clock, SystemClock
from litellm_router_plugin.state.base import (
    AdmitCandidate,
    AdmitRequest,
    AdmitResult,
    Admitted,
    AllOpen,
    BreakerSpec,
    BreakerStatus,
    BudgetRefused,
    DuplicateRequest,
    LostHold,
    RestoredHold,
    SettleRequest,
    SettleResult,
    Store,
    StoreReset,
)

_KEEP_EXPIRED_MS = 86_400_000
"""How long the record of a hold whose lease ran out is kept (a late settle still charges the actual)."""


@dataclass(slots=True)
class _Hold:
    amount: int
    keys: list[tuple[str, str]]
    lease_until: int
    window: str | None = None
    scopes: tuple[str, ...] = ()
    expired: bool = False
    expired_at: int = 0
    attempt: str = ""
    index: int = 0
    probe: bool = False
    charge_lost: bool = True
    charged: int = 0
    """Charged at its estimate when its lease expired unsettled (a late settle corrects it)."""


@dataclass(slots=True)
class _Breaker:
    state: str = "closed"
    opened_at: int = 0
    probe_until: int = 0
    probe_id: str | None = None
    failures: deque[int] = field(default_factory=deque)


class MemoryStore(Store):
    """Everything in this process's memory. Each method runs without awaiting, under one lock
    (LiteLLM settles synchronous calls from its logging thread), hence atomically."""

    name = "memory store"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._marks: set[str] = set()
        self._counters: dict[tuple[str, str], int] = defaultdict(int)  # (kind, scope:window) -> micros
        self._holds: dict[str, _Hold] = {}
        # When the next hold's lease runs out or an expired hold's record goes (ms; 0: unknown): admits
        # before then skip the scan of every hold, which cost O(holds in flight) per admit (issue 25).
        self._next_due = 0
        self._settled: dict[str, tuple[int, int]] = {}  # id -> (charged, at_ms)
        # Settle order, oldest first: pruning pops from here. Not ``next(iter(self._settled))``: a dict
        # deleted from the front scans its dead slots on every iteration, O(size) per settle once
        # settlements start expiring (110 us a settle at 90k kept, i.e. 10 minutes at 150 req/s).
        self._settle_order: deque[str] = deque()
        self._breakers: dict[str, _Breaker] = {}
        # Ledger rows as one tuple each (shared keys, interned strings), not dicts: up to ``ledger_max``
        # (100k) are kept, and a dict a row took ~3x the memory (issue 25: the proxy's RSS crept up).
        self._rows: deque[tuple[Any, ...]] = deque()  # (keys, *values)
        self._row_keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._fault_until: dict[str, tuple[str, int]] = {}  # deployment -> (fault, until ms)
        # A new process's memory is not a lost shared state; with a durable ledger it is rebuilt from it.
        self._epoch: str | None = "memory"
        self._provisional = False

    def attach_ledger(self, ledger: Any) -> None:
        """Write charged settles to ``ledger``; the first admit rebuilds today's counters from it."""
        super().attach_ledger(ledger)
        self._epoch = None

    def _now(self) -> int:
        return int(self.clock.now() * 1000)

    def _expire(self, now: int) -> None:
        if now < self._next_due:
            return  # no lease runs out and no expired record goes before then
        lost: list[LostHold] = []
        due = sys.maxsize
        for hid, hold in list(self._holds.items()):
            if not hold.expired and hold.lease_until <= now:
                for spent_key, held_key in hold.keys:
                    self._counters[("held", held_key)] -= hold.amount
                    if hold.charge_lost:  # a crash may over-count, never under-count
                        self._counters[("spent", spent_key)] += hold.amount
                hold.charged = hold.amount if hold.charge_lost else 0
                hold.expired, hold.expired_at = True, now
                lost.append(LostHold(hid, hold.amount, hold.charge_lost))
                due = min(due, now + _KEEP_EXPIRED_MS)
            elif hold.expired and hold.expired_at <= now - _KEEP_EXPIRED_MS:
                del self._holds[hid]
            else:
                due = min(due, hold.expired_at + _KEEP_EXPIRED_MS if hold.expired else hold.lease_until)
        self._next_due = due
        if lost:
            self._report_lost(lost)

    async def _admit(self, request: AdmitRequest) -> AdmitResult:
        with self._lock:
            return self._admit_locked(request)

    def _admit_locked(self, request: AdmitRequest) -> AdmitResult:
        now = self._now()
        if request.scopes and self._epoch is None:
            return StoreReset()
        self._expire(now)
        mine = self._holds.get(request.request_id) if request.scopes else None
        if mine is not None:
            if mine.attempt == request.attempt:  # the same call re-sent: the same answer
                return Admitted(mine.index, mine.probe, mine.window)
            return DuplicateRequest()
        window = request.window_at(now)
        keys = [(f"{s.scope}:{s.period or window}",) * 2 for s in request.scopes]
        spent = [self._counters[("spent", k)] for k, _ in keys]
        for i, s in enumerate(request.scopes):
            if s.floor > spent[i]:  # LiteLLM's recorded spend: max, not sum (admit.lua says why)
                spent[i] = self._counters[("spent", keys[i][0])] = s.floor
        held = [self._counters[("held", k)] for _, k in keys]
        refusal: BudgetRefused | None = None
        retry_after = -1
        for j, cand in enumerate(request.candidates):
            wait, probe = self._breaker_gate(cand, request.request_id, now)
            if wait > 0:
                retry_after = wait if retry_after < 0 else min(retry_after, wait)
                continue
            if cand.per_request_limit is not None and cand.estimate > cand.per_request_limit:
                refusal = refusal or BudgetRefused(j, "per_request", cand.per_request_limit, 0, 0, cand.estimate)
                continue
            over = next(
                (
                    i
                    for i, s in enumerate(request.scopes)
                    if s.limit is not None and spent[i] + held[i] + cand.estimate > s.limit
                ),
                None,
            )
            if over is not None:
                s = request.scopes[over]
                assert s.limit is not None
                refusal = refusal or BudgetRefused(j, s.scope, s.limit, spent[over], held[over], cand.estimate)
                continue
            if request.scopes:
                self._hold(request, j, probe, keys, window, now)
            if probe and cand.breaker is not None:
                breaker = self._breakers[cand.breaker.name]
                breaker.probe_until, breaker.probe_id = now + cand.breaker.probe_lease_ms, request.request_id
            return Admitted(j, probe, window)
        if refusal is not None:
            return refusal
        return AllOpen(retry_after)

    def _breaker_gate(self, cand: AdmitCandidate, request_id: str, now: int) -> tuple[int, bool]:
        """Milliseconds until ``cand``'s breaker lets a call through (0: now), and whether that call is
        its probe (an open breaker past its recovery time, not probing for another request)."""
        breaker = self._breakers.get(cand.breaker.name) if cand.breaker is not None else None
        if cand.breaker is None or breaker is None or breaker.state != "open":
            return 0, False
        reopen_at = breaker.opened_at + cand.breaker.recovery_ms
        wait = reopen_at - now if now < reopen_at else breaker.probe_until - now
        if wait > 0 and (now < reopen_at or breaker.probe_id != request_id):
            return wait, False
        return 0, True

    def _hold(
        self, request: AdmitRequest, j: int, probe: bool, keys: list[tuple[str, str]], window: str | None, now: int
    ) -> None:
        """Hold candidate ``j``'s estimate on every scope of ``request``."""
        estimate = request.candidates[j].estimate
        for _, held_key in keys:
            self._counters[("held", held_key)] += estimate
        self._next_due = min(self._next_due, now + request.lease_ms)
        self._holds[request.request_id] = _Hold(
            estimate,
            keys,
            now + request.lease_ms,
            window,
            tuple(s.scope for s in request.scopes),
            attempt=request.attempt,
            index=j,
            probe=probe,
            charge_lost=request.on_lost_settle == "charge_estimate",
        )

    async def _settle(self, request: SettleRequest) -> SettleResult:
        with self._lock:
            return self._settle_locked(request)

    def _settle_locked(self, request: SettleRequest) -> SettleResult:
        now = self._now()
        previous = self._settled.get(request.request_id)
        if previous is not None:
            return SettleResult("already", previous[0])
        hold = self._holds.pop(request.request_id, None)
        if hold is not None:
            lease_expired = hold.expired or hold.lease_until <= now
            if not hold.expired:
                for _, held_key in hold.keys:
                    self._counters[("held", held_key)] -= hold.amount
            for spent_key, _ in hold.keys:  # an estimate charged at expiry is corrected to the actual
                self._counters[("spent", spent_key)] += request.actual - hold.charged
            if request.ledger is not None:  # only a charged call enters the ledger
                self._rows.appendleft(self._compact(request.ledger))
                while len(self._rows) > request.ledger_max:
                    self._rows.pop()
            result = SettleResult(
                "settled", request.actual, hold.amount, lease_expired, hold.window, hold.scopes, self._epoch
            )
        else:
            result = SettleResult("unknown")
        self._settled[request.request_id] = (request.actual, now)
        self._settle_order.append(request.request_id)
        order, cutoff = self._settle_order, now - request.keep_settled_ms
        while order:  # forget old settlements
            kept = self._settled.get(order[0])
            if kept is not None and kept[1] > cutoff:
                break  # (an id forgotten and settled again waits for its later settle: kept longer, never shorter)
            if kept is not None:
                del self._settled[order[0]]
            order.popleft()
        if request.outcome is not None and request.breaker is not None:
            self._record(request, now)
        return result

    def _compact(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """A ledger row as one tuple: its (shared) key tuple, then its values, repeated strings interned."""
        keys = tuple(row)
        if len(self._row_keys) < 64:  # rows come in a few shapes; never let odd ones grow this
            keys = self._row_keys.setdefault(keys, keys)
        return (keys, *(sys.intern(v) if type(v) is str else v for v in row.values()))

    def _record(self, request: SettleRequest, now: int) -> None:
        spec = request.breaker
        assert spec is not None
        breaker = self._breakers.setdefault(spec.name, _Breaker())
        is_probe = request.probe and breaker.probe_id == request.request_id
        if request.outcome == "failure":
            breaker.failures.append(now)
            while breaker.failures and breaker.failures[0] <= now - spec.window_ms:
                breaker.failures.popleft()
            if is_probe:
                breaker.state, breaker.opened_at, breaker.probe_until, breaker.probe_id = "open", now, 0, None
            elif breaker.state == "closed" and len(breaker.failures) >= spec.failure_threshold:
                breaker.state, breaker.opened_at = "open", now
        elif is_probe:
            if request.outcome == "success":
                self._breakers[spec.name] = _Breaker()
            else:
                breaker.probe_until, breaker.probe_id = 0, None

    async def _restore(
        self,
        totals: dict[tuple[str, str], int],
        epoch: str,
        ttl_s: int,
        provisional: bool,
        holds: tuple[RestoredHold, ...],
    ) -> bool:
        with self._lock:
            if self._epoch is not None:
                return False
            for (scope, window), micros in totals.items():
                self._counters[("spent", f"{scope}:{window}")] = micros
                self._counters[("base", f"{scope}:{window}")] = micros
            now = self._now()
            for hold in holds:
                keys = [(f"{scope}:{hold.window}", f"{scope}:{hold.window}") for scope in hold.scopes]
                for _, held_key in keys:
                    self._counters[("held", held_key)] += hold.amount
                self._holds[hold.request_id] = _Hold(hold.amount, keys, now + hold.lease_ms, hold.window, hold.scopes)
                self._next_due = min(self._next_due, now + hold.lease_ms)
            self._epoch, self._provisional = epoch, provisional
            return True

    async def _forget_settle(self, request_id: str) -> None:
        with self._lock:
            self._settled.pop(request_id, None)

    async def _epoch_state(self) -> tuple[str | None, bool]:
        return self._epoch, self._provisional

    async def _reconcile(self, totals: dict[tuple[str, str], int], epoch: str) -> int:
        with self._lock:
            if self._epoch != epoch:
                return 0
            added = 0
            for (scope, window), total in totals.items():
                key = f"{scope}:{window}"
                base = self._counters[("base", key)]
                if total > base:
                    self._counters[("spent", key)] += total - base
                    self._counters[("base", key)] = total
                    added += total - base
            self._provisional = False
            return added

    async def _first_time(self, name: str, ttl_s: int) -> bool:
        with self._lock:
            if name in self._marks:
                return False
            self._marks.add(name)  # a process's lifetime is shorter than any mark's ttl
            return True

    async def _spent(self, scope: str, window: str) -> tuple[int, int]:
        self._expire(self._now())
        key = f"{scope}:{window}"
        return self._counters.get(("spent", key), 0), self._counters.get(("held", key), 0)

    async def _breaker_status(self, spec: BreakerSpec) -> BreakerStatus:
        now = self._now()
        breaker = self._breakers.get(spec.name)
        if breaker is None:
            return BreakerStatus("closed", 0)
        failures = sum(1 for t in breaker.failures if t > now - spec.window_ms)
        if breaker.state == "closed":
            return BreakerStatus("closed", failures)
        half_open = now >= breaker.opened_at + spec.recovery_ms
        return BreakerStatus(
            "half_open" if half_open else "open", failures, breaker.opened_at, breaker.probe_until > now
        )

    async def _ledger(self, limit: int | None) -> list[dict[str, Any]]:
        with self._lock:  # LiteLLM's logging thread may settle (append) meanwhile
            rows = list(self._rows) if limit is None else list(itertools.islice(self._rows, limit))
        return [dict(zip(row[0], row[1:], strict=True)) for row in rows]

    async def _ping(self) -> None:
        return None

    async def _remember_fault(self, deployment: str, fault: str, ttl_s: float) -> None:
        with self._lock:
            now = self._now()
            for name, (_, until) in list(self._fault_until.items()):
                if until <= now:
                    del self._fault_until[name]
            self._fault_until[deployment] = (fault, now + max(1, int(ttl_s * 1000)))

    async def _forget_fault(self, deployment: str) -> None:
        with self._lock:
            self._fault_until.pop(deployment, None)

    async def _faults(self, deployments: list[str]) -> dict[str, str]:
        now = self._now()
        with self._lock:
            found = {name: self._fault_until.get(name) for name in deployments}
        return {name: got[0] for name, got in found.items() if got is not None and got[1] > now}
