"""``CircuitBreaker``: closed -> open -> half-open (exactly one probe across all workers) -> closed.

State lives in the store, so every worker sees the same breaker; each transition is one atomic step.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import Callable, Collection
from types import TracebackType

from litellm_router_plugin.errors import CircuitBreakerOpen, ConfigError, checked_positive
from litellm_router_plugin.state import (
    AdmitCandidate,
    AdmitRequest,
    AllOpen,
    BreakerSpec,
    BreakerStatus,
    MemoryStore,
    SettleRequest,
    Store,
)
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


def outcome_of(error: BaseException | None, statuses: Collection[int] | None = None) -> Outcome:
    """What a call's result means to its breaker: success, a failure, or neutral (a request error)."""
    if error is None:
        return "success"
    return "failure" if counts_as_failure(error, statuses) else "neutral"


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
        window = checked_positive("window_seconds", window_seconds)
        recovery = checked_positive("recovery_timeout", recovery_timeout)
        lease = checked_positive("probe_lease_seconds", probe_lease_seconds or max(recovery, 30.0))
        self.spec = BreakerSpec(name, failure_threshold, int(window * 1000), int(recovery * 1000), int(lease * 1000))
        self.store = store if store is not None else MemoryStore()
        self.counts = counts
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
        result = await self.store.admit(
            AdmitRequest(permit_id, (), (AdmitCandidate(0, None, self.spec),), self.spec.probe_lease_ms)
        )
        if isinstance(result, AllOpen):
            raise CircuitBreakerOpen([self.name], max(result.retry_after_ms, 0) / 1000)
        return permit_id, bool(getattr(result, "probe", False))

    async def release(self, permit_id: str, probe: bool, outcome: Outcome) -> None:
        """Record the outcome of the call made under ``permit_id``."""
        await self.store.settle(SettleRequest(permit_id, 0, None, outcome, self.spec, probe))

    async def __aenter__(self) -> CircuitBreaker:
        permit = await self.acquire()
        self._permits.set((*self._permits.get(), permit))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        *rest, (permit_id, probe) = self._permits.get()
        self._permits.set(tuple(rest))
        outcome: Outcome = "success" if exc is None else ("failure" if self.counts(exc) else "neutral")
        await self.release(permit_id, probe, outcome)


__all__ = ["CircuitBreaker", "CircuitBreakerOpen", "counts_as_failure", "outcome_of"]
