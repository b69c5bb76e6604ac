"""``SettleQueue``: settles that could not reach the store wait here and are retried until they land.

A call that already happened must be charged: when its settle meets ``StoreUnavailableError`` the
request goes into a bounded, in-process queue (one per store, keyed by request id) and a background
task retries it with exponential backoff (tenacity) until the store answers. The settle script is
idempotent by request id, so a retry whose predecessor did land charges nothing twice. The queue's
length is the ``lrp_settle_queue`` gauge; what is still queued at shutdown is flushed by ``close``
or, failing that, logged with the amounts.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import StoreUnavailableError
from litellm_router_plugin.state import SettleRequest, SettleResult, Store
from litellm_router_plugin.state.base import MICROS_PER_USD
from litellm_router_plugin.state.write_behind import WriteBehind

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 10_000

Settle = Callable[[SettleRequest], Awaitable[SettleResult]]


class _Queued(NamedTuple):
    request: SettleRequest
    settle: Settle


class SettleQueue(WriteBehind[_Queued]):
    """Pending settles of one store, retried in the background in arrival order."""

    task_name = "lrp-settle-queue"
    retry_on = (StoreUnavailableError,)
    gauge, dropped = metrics.SETTLE_QUEUE, metrics.SETTLES_DROPPED

    def __init__(
        self,
        store: Store,
        *,
        max_queued: int = DEFAULT_MAX_QUEUED,
        initial_wait: float = 0.05,
        max_wait: float = 2.0,
    ) -> None:
        super().__init__(max_queued)
        self.store = store
        self.initial_wait, self.max_wait = initial_wait, max_wait
        self.results: dict[str, SettleResult] = {}
        """The last results of queued settles that landed, by request id (bounded; for tests and logs)."""

    def put(self, request: SettleRequest, settle: Settle | None = None) -> bool:
        """Queue ``request`` for retry (with ``settle``, default ``store.settle``: the guard's re-creates
        a hold lost with the store's data); ``False`` (and an error log with the amount) when full."""
        return self._put(request.request_id, _Queued(request, settle or self.store.settle))

    def _micros(self, item: _Queued) -> int:
        return item.request.actual

    def _queued(self, key: str, item: _Queued) -> None:
        logger.warning(
            "store unreachable: settle of %s ($%.6f) queued for retry (%d queued)",
            key,
            item.request.actual / MICROS_PER_USD,
            len(self),
        )

    def _refused(self, key: str, item: _Queued) -> None:
        logger.error(
            "settle queue full (%d): request %s charged $%.6f is NOT recorded",
            self.max_queued,
            key,
            item.request.actual / MICROS_PER_USD,
        )

    def _lost_message(self) -> str:
        return f"settles never reached {self.store.name}"

    async def _write(self, batch: list[tuple[str, _Queued]]) -> None:
        for request_id, (request, settle) in batch:  # one at a time (batch_size 1): each its own retries
            result = await settle(request)
            self.results[request_id] = result
            while len(self.results) > self.max_queued:
                self.results.pop(next(iter(self.results)))
            logger.info(
                "queued settle of %s landed: %s, charged %d micro-USD", request_id, result.status, result.charged
            )


_QUEUES: weakref.WeakKeyDictionary[Store, SettleQueue] = weakref.WeakKeyDictionary()


def queue_for(store: Store) -> SettleQueue:
    """The settle queue of ``store`` (one per store object, made on first use)."""
    queue = _QUEUES.get(store)
    if queue is None:
        queue = _QUEUES[store] = SettleQueue(store)
    return queue
