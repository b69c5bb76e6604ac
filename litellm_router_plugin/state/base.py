"""The ``Store`` protocol: the atomic operations every backend implements with one behaviour.

Money is integer micro-dollars; times are milliseconds. ``admit`` and ``settle`` are each one atomic
step (one Lua script, one round trip on Redis). Driver errors are translated here, once, into
``StoreUnavailableError``.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import StoreUnavailableError
from litellm_router_plugin.state.circuit import StoreCircuit, StoreCircuitOpen
from litellm_router_plugin.state.records import (
    MICROS_PER_USD,
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
    LostSettlePolicy,
    Outcome,
    PublishedPolicy,
    RestoredHold,
    RoundTrips,
    ScopeLimit,
    SettleRequest,
    SettleResult,
    StoreReset,
    to_micros,
)

if TYPE_CHECKING:
    from litellm_router_plugin.state.ledger import PostgresLedger

# The records are re-exported: ``state.base`` stays the one place to import the protocol's types from.
__all__ = [
    "MICROS_PER_USD",
    "AdmitCandidate",
    "AdmitRequest",
    "AdmitResult",
    "Admitted",
    "AllOpen",
    "BreakerSpec",
    "BreakerStatus",
    "BudgetRefused",
    "DuplicateRequest",
    "LostHold",
    "LostSettlePolicy",
    "Outcome",
    "PublishedPolicy",
    "RestoredHold",
    "RoundTrips",
    "ScopeLimit",
    "SettleRequest",
    "SettleResult",
    "Store",
    "StoreReset",
    "to_micros",
]

logger = logging.getLogger(__name__)


class Store(abc.ABC):
    """Shared state behind budgets, breakers and the ledger. Subclasses implement the ``_`` methods."""

    #: Exceptions of the driver that mean "the store cannot be reached" (they open the circuit).
    unavailable_errors: tuple[type[BaseException], ...] = ()
    #: Packages whose own exceptions (any type) are driver errors, e.g. ``("redis",)``.
    driver_packages: tuple[str, ...] = ()
    name = "store"
    closed = False
    """``aclose`` was called (background tasks stop using the store)."""
    durable: PostgresLedger | None = None
    """The durable spend ledger every charged settle is also written to (off the hot path)."""
    _circuit: StoreCircuit | None = None

    def attach_ledger(self, ledger: PostgresLedger) -> None:
        """Write every charged settle to ``ledger`` too; a reset store is rebuilt from it. The ledger's
        rows carry this store's prefix, and rows of an earlier epoch are added to the counters as they land."""
        self.durable = ledger
        prefix = getattr(self, "prefix", None)
        if isinstance(prefix, str):
            ledger.prefix = prefix
        ledger.landed = self._rows_landed

    async def _rows_landed(self, rows: list[Any]) -> None:
        """Rows just written to the ledger: those charged in an earlier epoch (settled before the store
        lost its data, written after it was rebuilt) are added to the live counters; a provisional
        store (restored without the ledger) is reconciled in full."""
        ledger = self.durable
        if ledger is None:
            return
        epoch, provisional = await self.epoch()
        if epoch is None:
            return  # not restored yet: the rebuild will read these rows
        windows = {r.window for r in rows if r.epoch != epoch}
        if provisional:
            windows |= {r.window for r in rows}
        if windows:
            await self.reconcile(await ledger.totals(windows, except_epoch=epoch), epoch)

    async def epoch(self) -> tuple[str | None, bool]:
        """The epoch marker (``None``: new or emptied) and whether the counters are provisional
        (restored without reading the ledger: it was unreachable)."""
        found: tuple[str | None, bool] = await self._guard(self._epoch_state())
        return found

    async def reconcile(self, totals: dict[tuple[str, str], int], epoch: str) -> int:
        """Raise each counter's ledger part to ``totals`` (rows of earlier epochs, read after ``epoch``
        was set): the difference is added to spent; a smaller total changes nothing. Only while the
        marker is still ``epoch``; clears the provisional flag. Returns the micro-dollars added."""
        added: int = await self._guard(self._reconcile(totals, epoch))
        return added

    @property
    def circuit(self) -> StoreCircuit:
        """The local circuit on this store's connection (see ``state.circuit``)."""
        if self._circuit is None:
            self._circuit = StoreCircuit(self.name)
        return self._circuit

    def _from_driver(self, exc: BaseException) -> bool:
        """An exception raised inside the driver's own code (e.g. an ``AttributeError`` from a
        connection closed under a command): still the store failing, not a bug of the caller."""
        if not self.driver_packages or isinstance(exc, StoreUnavailableError):
            return False
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        module = "" if tb is None else str(tb.tb_frame.f_globals.get("__name__", ""))
        return module.split(".", 1)[0] in self.driver_packages

    async def _guard(self, coro: Any) -> Any:
        circuit = self.circuit
        wait = circuit.allow()
        if wait is not None:
            if hasattr(coro, "close"):
                coro.close()  # never started: nothing is sent
            raise StoreUnavailableError(self.name, StoreCircuitOpen(wait))
        trial = circuit.trial
        try:
            result = await coro
        except self.unavailable_errors as exc:
            circuit.failed(trial)
            raise StoreUnavailableError(self.name, exc) from exc
        except Exception as exc:
            if trial:
                circuit.trial = False  # the store answered (or the caller failed): not a verdict
            if self._from_driver(exc):
                raise StoreUnavailableError(self.name, exc) from exc
            raise
        except BaseException:  # cancelled: the trial is over without a verdict
            if trial:
                circuit.trial = False
            raise
        circuit.succeeded()
        return result

    def _report_lost(self, lost: list[LostHold]) -> None:
        """Log and count holds whose lease expired without a settle (no prompt text: ids and amounts)."""
        for hold in lost:
            action = "charge_estimate" if hold.charged else "release"
            metrics.child(metrics.LOST_SETTLES, action).inc()
            if hold.charged:
                metrics.LOST_SETTLE_USD.inc(hold.amount / MICROS_PER_USD)
            logger.warning(
                "hold of request %s expired without a settle: %s $%.6f (on_lost_settle=%s)",
                hold.request_id,
                "charged its estimate" if hold.charged else "released",
                hold.amount / MICROS_PER_USD,
                action,
            )

    async def admit(self, request: AdmitRequest) -> AdmitResult:
        """Check every candidate's breaker and every scope's limit; hold the first that fits."""
        result: AdmitResult = await self._guard(self._admit(request))
        return result

    async def settle(self, request: SettleRequest) -> SettleResult:
        """Release the hold, charge the actual cost, append the ledger, record the breaker outcome."""
        result: SettleResult = await self._guard(self._settle(request))
        if self.durable is not None and result.status == "settled" and result.scopes and result.window:
            self.durable.record_settled(request, result)  # only queued: a background writer batches it
        return result

    async def restore(
        self,
        totals: dict[tuple[str, str], int],
        epoch: str,
        ttl_s: int = 3 * 86400,
        *,
        provisional: bool = False,
        holds: tuple[RestoredHold, ...] = (),
    ) -> bool:
        """Set the spent counters (and their ledger part) to ``totals`` ((scope, window) -> micros),
        re-create ``holds`` and set the epoch marker, in one atomic step, unless the marker is already
        there (another worker restored first). ``provisional``: the ledger could not be read."""
        restored: bool = await self._guard(self._restore(totals, epoch, ttl_s, provisional, holds))
        return restored

    async def forget_settle(self, request_id: str) -> None:
        """Forget that ``request_id`` was settled (a settle that found no hold, because the hold went
        with the store's data, is then settled again on the re-created hold)."""
        await self._guard(self._forget_settle(request_id))

    async def spent(self, scope: str, window: str) -> tuple[int, int]:
        """``(spent, held)`` micro-dollars of a scope in a window."""
        result: tuple[int, int] = await self._guard(self._spent(scope, window))
        return result

    async def first_time(self, name: str, ttl_s: int) -> bool:
        """Mark ``name`` (kept ``ttl_s``); true for the one caller that marked it first, across workers."""
        result: bool = await self._guard(self._first_time(name, ttl_s))
        return result

    async def _first_time(self, name: str, ttl_s: int) -> bool:
        raise NotImplementedError(f"{type(self).__name__} has no set-once marks")

    async def breaker_status(self, spec: BreakerSpec) -> BreakerStatus:
        """The breaker's state as every worker sees it."""
        result: BreakerStatus = await self._guard(self._breaker_status(spec))
        return result

    async def ledger(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Settled calls, newest first."""
        result: list[dict[str, Any]] = await self._guard(self._ledger(limit))
        return result

    async def remember_fault(self, deployment: str, fault: Mapping[str, str], ttl_s: float) -> None:
        """Remember ``deployment``'s configuration fault (what to replay) for ``ttl_s`` seconds, for every worker."""
        await self._guard(self._remember_fault(deployment, json.dumps(dict(fault), sort_keys=True), ttl_s))

    async def forget_fault(self, deployment: str) -> None:
        """Forget ``deployment``'s configuration fault (it failed since for a transient reason)."""
        await self._guard(self._forget_fault(deployment))

    async def faults(self, deployments: Sequence[str]) -> dict[str, dict[str, str]]:
        """The remembered, unexpired configuration faults of ``deployments``."""
        found: dict[str, str] = await self._guard(self._faults(list(deployments))) if deployments else {}
        return {name: json.loads(raw) for name, raw in found.items()}

    async def policy(self) -> PublishedPolicy | None:
        """The routing policy published for every worker (``None``: none, or a store no other worker shares)."""
        return None

    async def policy_version(self) -> str | None:
        """The published policy's version only (one small read per request while watching)."""
        return None

    async def publish_policy(self, version: str, body: str, mtime: float) -> None:  # noqa: B027  (shared stores override it)
        """Publish a policy to every worker sharing the store (a store of one process keeps nothing)."""

    async def ping(self) -> None:
        """Raise ``StoreUnavailableError`` unless the store answers."""
        await self._guard(self._ping())

    async def aclose(self) -> None:  # noqa: B027  (optional: only stores with connections override it)
        """Release connections."""

    @abc.abstractmethod
    async def _admit(self, request: AdmitRequest) -> AdmitResult: ...

    @abc.abstractmethod
    async def _settle(self, request: SettleRequest) -> SettleResult: ...

    @abc.abstractmethod
    async def _restore(
        self,
        totals: dict[tuple[str, str], int],
        epoch: str,
        ttl_s: int,
        provisional: bool,
        holds: tuple[RestoredHold, ...],
    ) -> bool: ...

    @abc.abstractmethod
    async def _forget_settle(self, request_id: str) -> None: ...

    @abc.abstractmethod
    async def _epoch_state(self) -> tuple[str | None, bool]: ...

    @abc.abstractmethod
    async def _reconcile(self, totals: dict[tuple[str, str], int], epoch: str) -> int: ...

    @abc.abstractmethod
    async def _spent(self, scope: str, window: str) -> tuple[int, int]: ...

    @abc.abstractmethod
    async def _breaker_status(self, spec: BreakerSpec) -> BreakerStatus: ...

    @abc.abstractmethod
    async def _ledger(self, limit: int | None) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    async def _ping(self) -> None: ...

    @abc.abstractmethod
    async def _remember_fault(self, deployment: str, fault: str, ttl_s: float) -> None: ...

    @abc.abstractmethod
    async def _forget_fault(self, deployment: str) -> None: ...

    @abc.abstractmethod
    async def _faults(self, deployments: list[str]) -> dict[str, str]: ...
