"""``CircuitBreaker``: closed -> open -> half-open (exactly one probe across all workers) -> closed.

State lives in the store, so every worker sees the same breaker; each transition is one atomic step.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import uuid
from collections.abc import Callable, Collection
from types import TracebackType

from litellm_router_plugin.errors import CircuitBreakerOpen, ConfigError
from litellm_router_plugin.guards.budget import BudgetGuard
from litellm_router_plugin.state import BreakerSpec, BreakerStatus, MemoryStore, Store
from litellm_router_plugin.state.base import Outcome

_CONNECTION_ERRORS = (ConnectionError, TimeoutError, asyncio.TimeoutError)


def counts_as_failure(exc: BaseException, statuses: Collection[int] | None = None) -> bool:
    """Timeouts and connection errors count; so do HTTP errors whose status is in ``statuses``
    (default: 429 and every 5xx). 4xx request errors do not."""
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    # litellm / openai / httpx name their timeouts and connection failures so, whatever the status
    # they carry (litellm.Timeout says 408).
    if any(word in cls.__name__ for cls in type(exc).__mro__ for word in ("Timeout", "Connection")):
        return True
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return False
    return status in statuses if statuses is not None else (status >= 500 or status == 429)


def _positive(field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(field, value, "Use a positive, finite number.")
    return float(value)


class CircuitBreaker:
    """A circuit breaker shared through ``store``; use as ``async with breaker: ...``.

    ``CircuitBreakerOpen`` is raised on entry, before any network call, while the breaker is open or
    while another worker holds the half-open probe. Exceptions leaving the block are recorded as
    failures when ``counts(exc)`` says so, and re-raised.
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        window_seconds: float = 60.0,
        recovery_timeout: float = 30.0,
        *,
        store: Store | None = None,
        counts: Callable[[BaseException], bool] = counts_as_failure,
        probe_lease_seconds: float | None = None,
    ) -> None:
        if not name:
            raise ConfigError("name", name, "Name the breaker, e.g. after the deployment it guards.")
        if isinstance(failure_threshold, bool) or not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ConfigError("failure_threshold", failure_threshold, "Use a whole number >= 1.")
        window = _positive("window_seconds", window_seconds)
        recovery = _positive("recovery_timeout", recovery_timeout)
        lease = _positive("probe_lease_seconds", probe_lease_seconds or max(recovery, 30.0))
        self.spec = BreakerSpec(name, failure_threshold, int(window * 1000), int(recovery * 1000), int(lease * 1000))
        self.store = store if store is not None else MemoryStore()
        self.counts = counts
        self._guard = BudgetGuard(store=self.store)
        self._permits: contextvars.ContextVar[tuple[tuple[str, bool], ...]] = contextvars.ContextVar(
            f"breaker:{name}", default=()
        )

    @property
    def name(self) -> str:
        """The breaker's name (one per deployment)."""
        return self.spec.name

    async def status(self) -> BreakerStatus:
        """State as every worker sees it: closed, open or half_open."""
        return await self.store.breaker_status(self.spec)

    async def acquire(self) -> tuple[str, bool]:
        """Take a permit: ``(permit_id, is_probe)``; raises ``CircuitBreakerOpen`` when refused."""
        permit_id = uuid.uuid4().hex
        hold = await self._guard.admit(permit_id, [(0.0, self.spec)])
        return permit_id, hold.probe

    async def release(self, permit_id: str, probe: bool, outcome: Outcome) -> None:
        """Record the outcome of the call made under ``permit_id``."""
        await self._guard.settle(permit_id, 0.0, outcome=outcome, breaker=self.spec, probe=probe)

    async def __aenter__(self) -> CircuitBreaker:
        permit = await self.acquire()
        self._permits.set((*self._permits.get(), permit))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        *rest, (permit_id, probe) = self._permits.get()
        self._permits.set(tuple(rest))
        if exc is None:
            outcome: Outcome = "success"
        else:
            outcome = "failure" if self.counts(exc) else "neutral"
        await self.release(permit_id, probe, outcome)


__all__ = ["CircuitBreaker", "CircuitBreakerOpen", "counts_as_failure"]
