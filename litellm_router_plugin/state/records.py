"""The values that cross the ``Store`` protocol: requests, results and limits, as frozen records.

Money is integer micro-dollars; times are milliseconds. Kept apart from ``state.base`` so the ledger
(which ``Store`` types against) can use them without importing the protocol back.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

MICROS_PER_USD = 1_000_000

Outcome = Literal["success", "failure", "neutral"]
LostSettlePolicy = Literal["charge_estimate", "release"]


def to_micros(usd: float, *, round_up: bool = False) -> int:
    """USD -> integer micro-dollars; estimates round up so a hold never under-reserves."""
    value = usd * MICROS_PER_USD
    return math.ceil(value - 1e-9) if round_up else math.floor(value + 0.5)


@dataclass(frozen=True, slots=True)
class ScopeLimit:
    """One budget counter a request is checked against: e.g. ``user:alice`` for day ``2026-11-25``."""

    scope: str
    window: str
    limit: int | None
    """Micro-dollars; ``None`` tracks spend without a limit."""
    period: str | None = None
    """A window of the scope's own (a LiteLLM budget period), the same either side of the day
    boundary: the counter is ``period``'s whatever window the store picks for the others."""
    floor: int = 0
    """Micro-dollars the counter is known to hold already (LiteLLM's recorded ``spend`` of a budget):
    the admit raises the counter to it, in the same atomic step, before checking."""

    def window_for(self, window: str) -> str:
        """The window of this scope's counter when the request's window is ``window``."""
        return self.period or window


@dataclass(frozen=True, slots=True)
class BreakerSpec:
    """A circuit breaker's identity and settings (milliseconds)."""

    name: str
    failure_threshold: int
    window_ms: int
    recovery_ms: int
    probe_lease_ms: int


@dataclass(frozen=True, slots=True)
class AdmitCandidate:
    """A deployment the request could go to, in order of preference."""

    estimate: int
    per_request_limit: int | None = None
    breaker: BreakerSpec | None = None


@dataclass(frozen=True, slots=True)
class AdmitRequest:
    """Admit ``request_id`` on the first candidate that its breaker and every budget allow.

    With ``next_window``, the store picks the window by its own clock: the scopes' ``window``
    before ``boundary_ms``, ``next_window`` from then on (so one clock decides, not each worker's).
    """

    request_id: str
    scopes: tuple[ScopeLimit, ...]
    candidates: tuple[AdmitCandidate, ...]
    lease_ms: int
    window_ttl_s: int = 3 * 86400
    next_window: str | None = None
    boundary_ms: int = 0
    on_lost_settle: LostSettlePolicy = "charge_estimate"
    """What the hold becomes if its lease expires without a settle: charged at its estimate (a crash
    over-counts, never under-counts) or released."""
    attempt: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False)
    """This admit call: the driver re-sending it (a reply lost with its connection) gets the first
    result back; another call with the same ``request_id`` is a ``DuplicateRequest``."""

    def window_at(self, now_ms: int) -> str | None:
        """The window a request admitted at ``now_ms`` (the store's clock) is charged to."""
        if not self.scopes:
            return None
        if self.next_window is not None and now_ms >= self.boundary_ms:
            return self.next_window
        return self.scopes[0].window


@dataclass(frozen=True, slots=True)
class Admitted:
    """The request holds ``candidates[index].estimate``; ``probe`` when it is a half-open probe."""

    index: int
    probe: bool
    window: str | None = None
    """The window the hold counts against, as the store's clock chose it."""


@dataclass(frozen=True, slots=True)
class BudgetRefused:
    """No candidate fits: the first refusal, against ``scope`` (or the per-request limit)."""

    index: int
    scope: str
    limit: int
    spent: int
    held: int
    asked: int


@dataclass(frozen=True, slots=True)
class AllOpen:
    """Every candidate's breaker is open; the earliest may allow a probe in ``retry_after_ms``."""

    retry_after_ms: int


@dataclass(frozen=True, slots=True)
class DuplicateRequest:
    """The request id already holds a reservation."""


@dataclass(frozen=True, slots=True)
class StoreReset:
    """The store has no epoch marker: it is new or lost its data. Nothing was admitted; restore first."""


AdmitResult = Admitted | BudgetRefused | AllOpen | DuplicateRequest | StoreReset


@dataclass(frozen=True, slots=True)
class LostHold:
    """A hold whose lease expired before its settle came (its worker died, or the settle was lost)."""

    request_id: str
    amount: int
    charged: bool
    """``True``: charged at ``amount`` (its estimate); ``False``: released."""


class LedgerRow(NamedTuple):
    """One settled call's ledger line, typed while it travels to the store (``as_dict`` where it
    becomes JSON; ``Store.ledger`` returns the lines as dicts). A tuple: built on every settle."""

    ts: float
    day: str
    """The budget day of the settle, in the budgets' timezone (ISO date)."""
    user: str | None
    key: str | None
    """The API key's scope name (a hash, never the key)."""
    team: str | None
    tier: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    strongest_micros: int
    """What the same tokens would have cost on the strongest tier."""
    status: str
    """``ok`` or ``error:<exception type>``."""
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """The line as a plain dict, in field order."""
        return dict(zip(self._fields, self, strict=True))


@dataclass(frozen=True, slots=True)
class SettleRequest:
    """Settle ``request_id`` at ``actual`` micro-dollars, once; feed ``outcome`` to ``breaker``."""

    request_id: str
    actual: int
    ledger: dict[str, Any] | None = None
    outcome: Outcome | None = None
    breaker: BreakerSpec | None = None
    probe: bool = False
    ledger_max: int = 100_000
    keep_settled_ms: int = 600_000  # idempotency only needs minutes: a settled hold is gone for good
    spent_ttl_s: int = 3 * 86400


@dataclass(frozen=True, slots=True)
class SettleResult:
    """``settled`` (hold released, actual charged), ``already`` (no-op), ``unknown`` (no hold) or
    ``queued`` (the store was unreachable; the settle is retried in the background until it lands)."""

    status: Literal["settled", "already", "unknown", "queued"]
    charged: int = 0
    held: int = 0
    lease_expired: bool = False
    window: str | None = None
    """For ``settled``: the window charged (the one chosen at admit), and the scopes charged."""
    scopes: tuple[str, ...] = ()
    epoch: str | None = None
    """For ``settled``: the store's epoch marker when the counters were charged (the ledger row's tag)."""

    @property
    def overrun(self) -> int:
        """Micro-dollars charged beyond the hold (or all of it when the lease had expired)."""
        if self.status != "settled":
            return 0
        return self.charged if self.lease_expired else max(0, self.charged - self.held)


@dataclass(frozen=True, slots=True)
class RestoredHold:
    """A hold in flight when the store lost its data, re-created by ``restore`` as its admit made it."""

    request_id: str
    window: str
    scopes: tuple[str, ...]
    amount: int
    lease_ms: int


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """A breaker as stored: ``half_open`` is ``open`` whose recovery time has passed."""

    state: Literal["closed", "open", "half_open"]
    failures: int
    opened_at_ms: int | None = None
    probe_in_flight: bool = False


@dataclass(frozen=True, slots=True)
class PublishedPolicy:
    """A routing policy shared through the store: its version, its text and its file's mtime."""

    version: str
    body: str
    mtime: float
    origin: str
    """Where it was read from, for logs (e.g. ``redis:<prefix>``)."""


@dataclass(slots=True)
class RoundTrips:
    """Commands sent to the backend, for the benchmark's accounting."""

    count: int = 0
    by_command: dict[str, int] = field(default_factory=dict)

    def add(self, command: Any) -> None:
        """One command sent (its name, as redis-py passes it first)."""
        self.count += 1
        name = str(command).upper()
        self.by_command[name] = self.by_command.get(name, 0) + 1
