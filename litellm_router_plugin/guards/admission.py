"""Admission: the breaker permit and the budget hold before a call, the settlement after.

One store round trip to admit (the first offer whose breaker and every budget allow it), one to
settle (release the hold, charge the actual cost, append the ledger line, feed the breaker).
Budgets (``BudgetGuard``) and breakers (``BreakerSpec`` per deployment) stand side by side: this
module joins them into the store's single atomic admit and settle. It knows nothing of routing.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from litellm_router_plugin import metrics
from litellm_router_plugin.config import LimitConfig, PluginConfig
from litellm_router_plugin.errors import BudgetExceededError, CircuitBreakerOpen
from litellm_router_plugin.guards.budget import BudgetGuard, BudgetLimit
from litellm_router_plugin.guards.holds import Hold, hold_of
from litellm_router_plugin.guards.identity import Identity
from litellm_router_plugin.guards.litellm_budgets import check_soft_budgets, periods
from litellm_router_plugin.state import BreakerSpec, BudgetRefused, Store
from litellm_router_plugin.state.base import MICROS_PER_USD, Outcome
from litellm_router_plugin.state.records import LedgerRow

logger = logging.getLogger(__name__)


def _limit(config: LimitConfig | None) -> BudgetLimit | None:
    return None if config is None else BudgetLimit(per_request=config.per_request, daily=config.daily)


def _period_refusal(result: BudgetRefused, end: float | None, now: float) -> BudgetExceededError:
    """The refusal by a LiteLLM budget: retry when its period resets (never, without a duration)."""
    return BudgetExceededError(
        result.scope,
        "max_budget",
        result.limit / MICROS_PER_USD,
        result.spent / MICROS_PER_USD,
        result.held / MICROS_PER_USD,
        result.asked / MICROS_PER_USD,
        retry_after=None if end is None else max(1.0, end - now),
    )


def store_from_config(config: PluginConfig) -> Store:
    """The store the config names (a Redis store does not connect until first used)."""
    from litellm_router_plugin.guards.stores import build_store  # the store and its durable ledger

    return build_store(config)


@dataclass(frozen=True, slots=True)
class Offer:
    """A deployment the request may go to: this request's estimate there, and its breaker's name."""

    estimate: float
    breaker: str | None = None


class Admission:
    """Admits and settles calls against the configured budgets and per-deployment breakers."""

    enabled: Literal[True] = True

    def __init__(self, config: PluginConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store if store is not None else store_from_config(config)
        budgets = config.budgets
        self.guard = BudgetGuard(
            _limit(budgets.all_requests),
            per_user=_limit(budgets.per_user),
            per_key=_limit(budgets.per_key),
            per_team=_limit(budgets.per_team),
            store=self.store,
            timezone=budgets.timezone,
            lease_seconds=budgets.lease_seconds,
            on_store_error=budgets.on_store_error,
            on_reset=budgets.on_reset,
            on_lost_settle=budgets.on_lost_settle,
        )
        self._breakers: dict[str, BreakerSpec] = {}

    @property
    def budgets_on(self) -> bool:
        """Whether any budget limit is configured."""
        return bool(self.guard.limits)

    def breaker(self, name: str | None) -> BreakerSpec | None:
        """The breaker of deployment ``name`` (made on first use; ``None`` when breakers are off)."""
        if name is None or not self.config.breaker.enabled:
            return None
        spec = self._breakers.get(name)
        if spec is None:
            b = self.config.breaker
            spec = self._breakers[name] = BreakerSpec(
                name,
                b.failure_threshold,
                int(b.window_seconds * 1000),
                int(b.recovery_timeout * 1000),
                int(max(b.recovery_timeout, 30.0) * 1000),
            )
        return spec

    async def admit(self, offers: Sequence[Offer], identity: Identity, request_id: str | None = None) -> Hold:
        """Hold the first offer its breaker and every budget allow (one round trip); ``hold.index`` says which."""
        request_id = request_id or uuid.uuid4().hex
        now = self.guard.clock.now()
        own = periods(identity.budgets, now, self.config.budgets.timezone) if identity.budgets else None
        request, limit_scope = self.guard.admit_request(
            request_id,
            [o.estimate for o in offers],
            identity=identity,
            breakers=[self.breaker(o.breaker) for o in offers],
            extra_scopes=own.scopes if own is not None else (),
        )
        started = time.perf_counter()
        try:
            result = await self.guard.submit(request)
        finally:
            metrics.ADMIT_LATENCY.observe(time.perf_counter() - started)

        def refusal(refused: BudgetRefused) -> BudgetExceededError:
            if own is not None and refused.scope in own.ends:
                return _period_refusal(refused, own.ends[refused.scope], now)
            return self.guard.refusal(refused, limit_scope)

        try:
            hold = hold_of(result, request, [o.estimate for o in offers], refusal)
        except BudgetExceededError as exc:
            metrics.ADMISSIONS.labels("refused", exc.scope.split(":", 1)[0]).inc()
            raise
        except CircuitBreakerOpen:
            metrics.ADMISSIONS.labels("refused", "breaker").inc()
            raise
        metrics.child(metrics.ADMISSIONS, "admitted", "unaccounted" if hold.unaccounted else "").inc()
        if own is None or hold.unaccounted:
            return hold
        return dataclasses.replace(hold, soft=own.soft, spent_ttl_s=own.ttl_s)

    async def settle(
        self,
        request_id: str,
        actual_cost: float,
        *,
        ledger: LedgerRow | Mapping[str, Any] | None = None,
        outcome: Outcome | None = None,
        breaker: str | None = None,
        probe: bool = False,
        report_overrun: bool = True,
        soft: Sequence[Sequence[Any]] = (),
        spent_ttl_s: int | None = None,
    ) -> None:
        """Release the hold and charge ``actual_cost``, once; never raises (the call already happened).
        ``ledger``: the call's line (a ``LedgerRow``; tests and callers of their own pass any mapping).
        ``report_overrun=False``: a charge beyond the hold is expected (a mock's made-up usage), not logged.
        ``soft``: LiteLLM soft budgets to check once charged; ``spent_ttl_s``: their counters' lifetime."""
        started = time.perf_counter()
        try:
            await self.guard.settle(
                request_id,
                actual_cost,
                ledger=ledger,
                outcome=outcome,
                breaker=self.breaker(breaker),
                probe=probe,
                queue_on_outage=True,  # an unreachable store queues the settle for retry (settle_queue.py)
                report_overrun=report_overrun,
                spent_ttl_s=spent_ttl_s,
            )
            if soft and actual_cost > 0:
                await check_soft_budgets(self.store, soft)
        except Exception:
            # The hold expires with its lease; the call itself already happened and must not fail now.
            logger.exception("settling request %s failed; its hold will expire with its lease", request_id)
        finally:
            metrics.SETTLE_LATENCY.observe(time.perf_counter() - started)

    async def faults(self, deployments: Sequence[str]) -> dict[str, dict[str, str]]:
        """The configuration faults remembered for ``deployments`` (``Store.faults``)."""
        return await self.store.faults(deployments)

    async def breaker_states(self, names: Iterable[str]) -> dict[str, str]:
        """Each named deployment's breaker state, as every worker sees it (also updates the gauge)."""
        states: dict[str, str] = {}
        for name in names:
            spec = self.breaker(name)
            if spec is None:
                continue
            state = (await self.store.breaker_status(spec)).state
            metrics.BREAKER_STATE.labels(name).set(metrics.BREAKER_CODES[state])
            states[name] = state
        return states


class NullAdmission:
    """No budgets and no breakers: every request is admitted unaccounted (no hold, no ticket) and
    nothing is settled. Stands where an ``Admission`` would, so callers need no ``None`` checks."""

    enabled: Literal[False] = False
    budgets_on = False
    store: None = None

    async def admit(self, offers: Sequence[Offer], identity: Identity, request_id: str | None = None) -> None:
        """Nothing to hold: the caller goes to its first offer."""

    async def settle(self, request_id: str, actual_cost: float, **settings: Any) -> None:
        """Nothing was held: nothing to charge."""

    async def faults(self, deployments: Sequence[str]) -> dict[str, dict[str, str]]:
        """No store, so no remembered faults."""
        return {}


NULL_ADMISSION = NullAdmission()
