"""``SettleQueue``: settles that could not reach the store wait here and are retried until they land.

A call that already happened must be charged: when its settle meets ``StoreUnavailableError`` the
request goes into a bounded, in-process queue (one per store, keyed by request id) and a background
task retries it with exponential backoff (tenacity) until the store answers. The settle script is
idempotent by request id, so a retry whose predecessor did land charges nothing twice. The queue's
length is the ``lrp_settle_queue`` gauge; what is still queued at shutdown is flushed by ``close``
or, failing that, logged with the amounts.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import StoreUnavailableError
from litellm_router_plugin.state import SettleRequest, SettleResult, Store
from litellm_router_plugin.state.base import MICROS_PER_USD

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 10_000


class SettleQueue:
    """Pending settles of one store, retried in the background in arrival order."""

    def __init__(
        self,
        store: Store,
        *,
        max_queued: int = DEFAULT_MAX_QUEUED,
        initial_wait: float = 0.05,
        max_wait: float = 2.0,
    ) -> None:
        self.store = store
        self.max_queued = max_queued
        self.initial_wait, self.max_wait = initial_wait, max_wait
        self._pending: OrderedDict[str, SettleRequest] = OrderedDict()
        self._settle: dict[str, Callable[[SettleRequest], Awaitable[SettleResult]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.results: dict[str, SettleResult] = {}
        """The last results of queued settles that landed, by request id (bounded; for tests and logs)."""
        _LIVE.add(self)

    def __len__(self) -> int:
        return len(self._pending)

    def put(
        self, request: SettleRequest, settle: Callable[[SettleRequest], Awaitable[SettleResult]] | None = None
    ) -> bool:
        """Queue ``request`` for retry (with ``settle``, default ``store.settle``: the guard's re-creates
        a hold lost with the store's data); ``False`` (and an error log with the amount) when full."""
        if request.request_id in self._pending:
            return True  # the same settle twice: it lands once either way
        if len(self._pending) >= self.max_queued:
            metrics.SETTLES_DROPPED.inc()
            logger.error(
                "settle queue full (%d): request %s charged $%.6f is NOT recorded",
                self.max_queued,
                request.request_id,
                request.actual / MICROS_PER_USD,
            )
            return False
        self._pending[request.request_id] = request
        if settle is not None:
            self._settle[request.request_id] = settle
        metrics.SETTLE_QUEUE.inc()
        logger.warning(
            "store unreachable: settle of %s ($%.6f) queued for retry (%d queued)",
            request.request_id,
            request.actual / MICROS_PER_USD,
            len(self._pending),
        )
        if self._task is None or self._task.done():
            # A fresh task on the caller's loop (LiteLLM may settle from another loop than before).
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="lrp-settle-queue")
        return True

    async def _drain(self) -> None:
        while self._pending:
            request_id, request = next(iter(self._pending.items()))
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(StoreUnavailableError),
                wait=wait_exponential_jitter(initial=self.initial_wait, max=self.max_wait),
                reraise=True,
            )
            settle = self._settle.get(request_id, self.store.settle)
            async for attempt in retrying:
                with attempt:
                    result = await settle(request)
            self._pending.pop(request_id, None)
            self._settle.pop(request_id, None)
            metrics.SETTLE_QUEUE.dec()
            self.results[request_id] = result
            while len(self.results) > self.max_queued:
                self.results.pop(next(iter(self.results)))
            logger.info(
                "queued settle of %s landed: %s, charged %d micro-USD", request_id, result.status, result.charged
            )

    async def flush(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for every queued settle to land; ``True`` when none is left."""
        if not self._pending:
            return True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="lrp-settle-queue")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), seconds)
        return not self._pending

    async def close(self, seconds: float = 5.0) -> None:
        """Flush for up to ``seconds``, then log what is left (ids and amounts) and stop."""
        await self.flush(seconds)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.log_unsettled()

    def log_unsettled(self) -> None:
        """Log every settle still queued, with its amount, so the spend can be recorded by hand."""
        if not self._pending:
            return
        total = sum(r.actual for r in self._pending.values())
        logger.error(
            "%d settles never reached %s (total $%.6f): %s",
            len(self._pending),
            self.store.name,
            total / MICROS_PER_USD,
            ", ".join(f"{rid}=${r.actual / MICROS_PER_USD:.6f}" for rid, r in self._pending.items()),
        )


_QUEUES: weakref.WeakKeyDictionary[Store, SettleQueue] = weakref.WeakKeyDictionary()
_LIVE: weakref.WeakSet[SettleQueue] = weakref.WeakSet()


def queue_for(store: Store) -> SettleQueue:
    """The settle queue of ``store`` (one per store object, made on first use)."""
    queue = _QUEUES.get(store)
    if queue is None:
        queue = _QUEUES[store] = SettleQueue(store)
    return queue


@atexit.register
def _log_unsettled_at_exit() -> None:
    # A process that exits without close(): whatever is still queued must at least be on record.
    for queue in list(_LIVE):
        queue.log_unsettled()
