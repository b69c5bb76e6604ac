"""``Hold``: what an admitted request holds; ``hold_of``: the one reading of the store's admit result.

Every admit (the pipeline's through ``Admission``, ``BudgetGuard.admit``, the shadow's) turns the
store's answer into a hold or an error here, so each kind of answer means one thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from litellm_router_plugin.errors import BudgetExceededError, CircuitBreakerOpen, ConfigError
from litellm_router_plugin.state import AdmitRequest, AdmitResult, Admitted, AllOpen, BudgetRefused


@dataclass(frozen=True, slots=True)
class Hold:
    """An admitted request: what it holds, on which candidate, and whether it is a breaker probe."""

    request_id: str
    estimated_cost: float
    index: int = 0
    probe: bool = False
    unaccounted: bool = False
    """Admitted under ``fail_open`` while the store was down: nothing is held or will be charged."""
    window: str | None = None
    """The daily window the hold counts against, as the store's clock chose it."""
    soft: tuple[tuple[str, str, int], ...] = ()
    """LiteLLM soft budgets of the request: (scope, period, micros), checked after its settle."""
    spent_ttl_s: int | None = None
    """How long its charged counters must live, when longer than a day window's (LiteLLM budgets)."""


def hold_of(
    result: AdmitResult | None,
    request: AdmitRequest,
    estimates: Sequence[float],
    refusal: Callable[[BudgetRefused], BudgetExceededError],
) -> Hold:
    """The hold ``result`` grants (``None``: the store was down and ``fail_open`` admitted, unaccounted),
    or the error it means: ``refusal(result)`` for a budget, ``CircuitBreakerOpen`` when every breaker
    is open, ``ConfigError`` for a request id that already holds a reservation."""
    request_id = request.request_id
    if result is None:
        return Hold(request_id, estimates[0], unaccounted=True)
    if isinstance(result, Admitted):
        return Hold(request_id, estimates[result.index], result.index, result.probe, window=result.window)
    if isinstance(result, BudgetRefused):
        raise refusal(result)
    if isinstance(result, AllOpen):
        names = [c.breaker.name for c in request.candidates if c.breaker is not None]
        raise CircuitBreakerOpen(names, max(result.retry_after_ms, 0) / 1000)
    # A StoreReset never gets here: BudgetGuard.submit restores the store and admits again.
    raise ConfigError("request_id", request_id, "This id already holds a reservation; use a new id per call.")
