"""Budgets: ``BudgetLimit`` per scope, and ``BudgetGuard`` that reserves before a call and settles after.

``reserve`` checks every applicable limit at once (spent + held + estimate <= limit) and records a
hold with a lease, atomically in the store; ``settle`` releases the hold and charges the actual cost,
exactly once per request id. A worker that dies in between leaves a hold that, when its lease expires,
is charged at its estimate (``on_lost_settle="charge_estimate"``) or released (``"release"``).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from litellm_router_plugin.clock import Clock, SystemClock
from litellm_router_plugin.errors import (
    BudgetExceededError,
    ConfigError,
    StoreUnavailableError,
    checked_amount,
    checked_positive,
)
from litellm_router_plugin.guards.holds import Hold, hold_of
from litellm_router_plugin.guards.identity import ANONYMOUS, Identity
from litellm_router_plugin.guards.rebuild import Rebuild
from litellm_router_plugin.guards.scopes import SCOPE_KINDS, ScopeKind, applicable_scopes, scope_name
from litellm_router_plugin.guards.settle_queue import queue_for
from litellm_router_plugin.guards.windows import DailyWindows
from litellm_router_plugin.state import (
    AdmitCandidate,
    AdmitRequest,
    AdmitResult,
    Admitted,
    BreakerSpec,
    BudgetRefused,
    MemoryStore,
    ScopeLimit,
    SettleRequest,
    SettleResult,
    Store,
    to_micros,
)
from litellm_router_plugin.state.base import MICROS_PER_USD, LostSettlePolicy, Outcome, StoreReset
from litellm_router_plugin.state.records import LedgerRow

logger = logging.getLogger(__name__)

__all__ = ["SCOPE_KINDS", "BudgetGuard", "BudgetLimit", "Hold", "ScopeKind", "scope_name"]  # scopes.py, holds.py

StoreErrorPolicy = Literal["fail_closed", "fail_open"]
ResetPolicy = Literal["continue", "refuse"]


def _usd(field: str, value: object, *, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    return checked_amount(field, value)


def _ledger_line(ledger: LedgerRow | Mapping[str, Any], request_id: str, micros: int) -> dict[str, Any]:
    """The settle's ledger line as the store keeps it: its fields, the request id and the charge."""
    row = ledger.as_dict() if isinstance(ledger, LedgerRow) else dict(ledger)
    row["request_id"], row["cost_micros"] = request_id, micros
    return row


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """Limits in USD for one scope; ``None`` means no limit of that kind."""

    per_request: float | None = None
    daily: float | None = None

    def __post_init__(self) -> None:
        _usd("per_request", self.per_request)
        _usd("daily", self.daily)


@dataclass(frozen=True, slots=True)
class _IdentityLimits:
    """What an identity's requests are checked against: its scopes' names and daily limits (micros),
    the per-request limit and its scope."""

    daily: tuple[tuple[str, int | None], ...]
    limit_scope: str
    per_request: int | None


_MAX_IDENTITIES = 10_000
"""Identities whose limits are kept (the least recently used go first: it only saves recomputing)."""


class BudgetGuard:
    """Enforces budgets for the global scope and per user, API key and team, in any combination."""

    def __init__(
        self,
        limit: BudgetLimit | None = None,
        *,
        per_user: BudgetLimit | None = None,
        per_key: BudgetLimit | None = None,
        per_team: BudgetLimit | None = None,
        store: Store | None = None,
        timezone: str = "UTC",
        lease_seconds: float = 300.0,
        on_store_error: StoreErrorPolicy = "fail_closed",
        clock: Clock | None = None,
        on_reset: ResetPolicy = "continue",
        on_lost_settle: LostSettlePolicy = "charge_estimate",
    ) -> None:
        given: dict[ScopeKind, BudgetLimit | None] = {
            "global": limit,
            "user": per_user,
            "key": per_key,
            "team": per_team,
        }
        self.limits: dict[ScopeKind, BudgetLimit] = {k: v for k, v in given.items() if v is not None}
        self.store = store if store is not None else MemoryStore(clock)
        self.clock = clock or getattr(self.store, "clock", None) or SystemClock()
        self.days = DailyWindows(timezone, self.clock)
        self.tz = self.days.tz
        checked_positive("lease_seconds", lease_seconds)
        if on_store_error not in ("fail_closed", "fail_open"):
            raise ConfigError("on_store_error", on_store_error, "Use 'fail_closed' or 'fail_open'.")
        if on_reset not in ("continue", "refuse"):
            raise ConfigError("on_reset", on_reset, "Use 'continue' or 'refuse'.")
        if on_lost_settle not in ("charge_estimate", "release"):
            raise ConfigError("on_lost_settle", on_lost_settle, "Use 'charge_estimate' or 'release'.")
        self.on_lost_settle: LostSettlePolicy = on_lost_settle
        self.lease_ms = int(lease_seconds * 1000)
        self.on_store_error = on_store_error
        self.on_reset = on_reset
        self.rebuild = Rebuild(self.store, on_reset, self.lease_ms)
        """Restores a store found without its epoch marker; keeps this worker's holds in flight."""
        self._pending: list[str] = []
        # Per request, only the identity and the day change: what they decide is computed once.
        self._limits_of = functools.lru_cache(maxsize=_MAX_IDENTITIES)(self._identity_limits)
        # Today's scopes and, around noon, yesterday's: two windows per identity.
        self._scopes_of = functools.lru_cache(maxsize=2 * _MAX_IDENTITIES)(self._window_scopes)

    # -- scopes ----------------------------------------------------------------------------
    def window(self) -> str:
        """The current daily window, e.g. ``day:2026-11-25``, in the configured timezone, by this
        worker's clock (for reports; admits let the store's clock pick, see ``window_pair``)."""
        return self.days.window()

    def window_pair(self) -> tuple[str, str, int]:
        """The windows either side of the midnight nearest this worker's clock (``DailyWindows``)."""
        return self.days.window_pair()

    def scopes(
        self,
        *,
        user: str | None = None,
        key: str | None = None,
        team: str | None = None,
        window: str | None = None,
    ) -> tuple[ScopeLimit, ...]:
        """The counters a request with this identity is checked against and charged to."""
        window = window or self.window()
        found = []
        for kind, name in applicable_scopes(user, key, team):
            lim = self.limits.get(kind)
            daily = None if lim is None or lim.daily is None else to_micros(lim.daily)
            found.append(ScopeLimit(name, window, daily))
        return tuple(found)

    def per_request_limit(self, *, user: str | None, key: str | None, team: str | None) -> tuple[str, int | None]:
        """The tightest per-request limit that applies, and the scope it comes from."""
        best: tuple[str, int | None] = ("global", None)
        for kind, name in applicable_scopes(user, key, team):
            lim = self.limits.get(kind)
            if lim is not None and lim.per_request is not None:
                micros = to_micros(lim.per_request)
                if best[1] is None or micros < best[1]:
                    best = (name, micros)
        return best

    # -- reserve / settle ------------------------------------------------------------------
    def admit_request(
        self,
        request_id: str,
        estimates: Sequence[float],
        *,
        identity: Identity = ANONYMOUS,
        breakers: Sequence[BreakerSpec | None] | None = None,
        extra_scopes: Sequence[ScopeLimit] = (),
    ) -> tuple[AdmitRequest, str]:
        """The store request holding the first of ``estimates`` every budget allows to ``identity``
        (``breakers``: each candidate's circuit breaker, if any; ``extra_scopes``: counters with
        periods of their own, such as LiteLLM's budgets), and the scope of the per-request limit that
        applies."""
        if not estimates:
            raise ValueError("admit needs at least one candidate")
        checked = [_usd("estimated_cost", cost, allow_none=False) or 0.0 for cost in estimates]
        before, after, boundary_ms = self.window_pair()  # the store's clock picks one of the two
        user, key, team = identity.user, identity.key, identity.team  # the cache keys (budgets aside)
        limits = self._limits_of(user, key, team)
        scopes = self._scopes_of(user, key, team, before) + tuple(extra_scopes)
        per_request = limits.per_request
        breakers = breakers if breakers is not None else (None,) * len(checked)
        request = AdmitRequest(
            request_id=request_id,
            scopes=scopes,
            candidates=tuple(
                AdmitCandidate(to_micros(est, round_up=True), per_request, breaker)
                for est, breaker in zip(checked, breakers, strict=True)
            ),
            lease_ms=self.lease_ms,
            on_lost_settle=self.on_lost_settle,
            next_window=after,
            boundary_ms=boundary_ms,
        )
        return request, limits.limit_scope

    def _identity_limits(self, user: str | None, key: str | None, team: str | None) -> _IdentityLimits:
        """The scopes (with their daily limits) and the per-request limit of an identity (the limits
        are the guard's, fixed at construction; cached per identity by ``_limits_of``)."""
        limit_scope, per_request = self.per_request_limit(user=user, key=key, team=team)
        daily = tuple((s.scope, s.limit) for s in self.scopes(user=user, key=key, team=team, window="-"))
        return _IdentityLimits(daily, limit_scope, per_request)

    def _window_scopes(
        self, user: str | None, key: str | None, team: str | None, window: str
    ) -> tuple[ScopeLimit, ...]:
        """An identity's scopes in ``window`` (cached by ``_scopes_of``)."""
        return tuple(ScopeLimit(name, window, daily) for name, daily in self._limits_of(user, key, team).daily)

    def refusal(self, result: BudgetRefused, limit_scope: str) -> BudgetExceededError:
        """The error for a budget refusal: which limit, its value, spent, held, asked; when to retry."""
        per_request = result.scope == "per_request"
        return BudgetExceededError(
            limit_scope if per_request else result.scope,
            "per_request" if per_request else "daily",
            result.limit / MICROS_PER_USD,
            result.spent / MICROS_PER_USD,
            result.held / MICROS_PER_USD,
            result.asked / MICROS_PER_USD,
            retry_after=None if per_request else self.seconds_to_next_window(),
        )

    def seconds_to_next_window(self) -> float:
        """Seconds until the daily window rolls over (midnight in the configured timezone)."""
        return self.days.seconds_to_next_window()

    async def submit(self, request: AdmitRequest) -> AdmitResult | None:
        """Send ``request`` to the store; ``None`` when the store is down and ``fail_open`` admits."""
        try:
            result = await self.store.admit(request)
            if isinstance(result, StoreReset):
                windows = [w for w in (request.scopes[0].window, request.next_window) if w]
                await self.recover(*windows)
                result = await self.store.admit(request)
                if isinstance(result, StoreReset):  # emptied again between the restore and the admit
                    raise StoreUnavailableError(self.store.name, RuntimeError("emptied again while being restored"))
            if isinstance(result, Admitted) and request.scopes:
                if self.rebuild.epoch is None:  # once per process: the epoch its holds are admitted in
                    self.rebuild.seen((await self.store.epoch())[0])
                self.rebuild.admitted(request, result)
            return result
        except StoreUnavailableError:
            if self.on_store_error == "fail_closed":
                raise
            logger.error(
                "budget store unreachable; ADMITTING %s UNACCOUNTED (on_store_error=fail_open)", request.request_id
            )
            return None

    async def admit(
        self,
        request_id: str,
        estimates: Sequence[float],
        *,
        user: str | None = None,
        key: str | None = None,
        team: str | None = None,
    ) -> Hold:
        """Hold the first of ``estimates`` every budget allows; raises ``BudgetExceededError`` (the
        first limit that refused) or, under fail-closed, ``StoreUnavailableError``."""
        request, limit_scope = self.admit_request(request_id, estimates, identity=Identity(user, key, team))
        return hold_of(await self.submit(request), request, estimates, lambda r: self.refusal(r, limit_scope))

    async def recover(self, *windows: str) -> None:
        """The store has no epoch marker (new, restarted empty, failed over to an empty replica):
        rebuild the spent counters of ``windows`` from the durable ledger in one atomic step, or,
        without one (or with it unreachable), report the reset and apply ``on_reset``; re-create the
        holds this worker has in flight. Concurrent workers restore once (see ``rebuild``)."""
        await self.rebuild.recover(*windows)

    async def reserve(
        self,
        request_id: str,
        estimated_cost: float,
        *,
        user: str | None = None,
        key: str | None = None,
        team: str | None = None,
    ) -> Hold:
        """Hold ``estimated_cost`` against every applicable limit, or raise ``BudgetExceededError``."""
        return await self.admit(request_id, [estimated_cost], user=user, key=key, team=team)

    async def settle(
        self,
        request_id: str,
        actual_cost: float,
        *,
        ledger: LedgerRow | Mapping[str, Any] | None = None,
        outcome: Outcome | None = None,
        breaker: BreakerSpec | None = None,
        probe: bool = False,
        queue_on_outage: bool = False,
        report_overrun: bool = True,
        spent_ttl_s: int | None = None,
    ) -> SettleResult:
        """Release the hold and charge ``actual_cost``; idempotent (a second call charges nothing).
        A charge beyond the hold is logged as a warning unless ``report_overrun`` is false (mock calls).

        With ``queue_on_outage``, a store that cannot be reached does not raise: the settle is queued
        and retried in the background until it lands (status ``queued``), see ``settle_queue``.
        """
        actual = _usd("actual_cost", actual_cost, allow_none=False) or 0.0
        micros = to_micros(actual)
        row = None if ledger is None else _ledger_line(ledger, request_id, micros)
        ttl = max(3 * 86400, spent_ttl_s or 0)  # a LiteLLM budget's counter lives past its period's end
        request = SettleRequest(request_id, micros, row, outcome, breaker, probe, spent_ttl_s=ttl)
        inflight = self.rebuild.settled(request_id)
        try:
            result = await self.rebuild.settle(request, inflight)
        except StoreUnavailableError:
            if not queue_on_outage:
                raise
            if not queue_for(self.store).put(request, functools.partial(self.rebuild.settle, hold=inflight)):
                raise
            return SettleResult("queued")
        if result.overrun:
            (logger.warning if report_overrun else logger.debug)(
                "request %s settled $%.6f beyond its hold%s",
                request_id,
                result.overrun / MICROS_PER_USD,
                " (lease had expired)" if result.lease_expired else "",
            )
        return result

    # -- the seed's simple calls -----------------------------------------------------------
    async def check_before(self, estimated_cost: float, **identity: str | None) -> str:
        """Reserve ``estimated_cost`` under a new request id (returned), or raise ``BudgetExceededError``."""
        request_id = uuid.uuid4().hex
        await self.reserve(request_id, estimated_cost, **identity)
        self._pending.append(request_id)
        return request_id

    async def check_after(self, actual_cost: float, request_id: str | None = None) -> SettleResult:
        """Settle ``request_id`` (default: the oldest ``check_before`` not yet settled) at ``actual_cost``."""
        if request_id is None:
            if not self._pending:
                raise ConfigError("request_id", None, "Call check_before first, or pass the id it returned.")
            request_id = self._pending.pop(0)
        elif request_id in self._pending:
            self._pending.remove(request_id)
        return await self.settle(request_id, actual_cost)

    async def spent(self, kind: str = "global", name: str | None = None) -> tuple[float, float]:
        """``(spent, held)`` in USD of a scope today, e.g. ``spent("user", "alice")``."""
        if kind not in SCOPE_KINDS:
            raise ConfigError("scope", kind, f"Use one of: {', '.join(SCOPE_KINDS)}.")
        scope = scope_name(kind, name)
        if scope is None:
            raise ConfigError("scope", name, f"Name the {kind}, e.g. spent({kind!r}, 'alice').")
        spent, held = await self.store.spent(scope, self.window())
        return spent / MICROS_PER_USD, held / MICROS_PER_USD
