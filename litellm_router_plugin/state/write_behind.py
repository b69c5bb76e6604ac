"""``WriteBehind``: a bounded in-process queue, keyed by id, written in the background until it lands.

What must not be lost but need not be written on the request's path (a settle the store could not
take, a ledger row) is queued here; one task per queue writes it in batches, in arrival order,
retrying with exponential backoff (tenacity) while the destination is unreachable. An id queued twice
is kept once (every destination is idempotent by id). A full queue refuses (logged with the amount);
``close`` flushes, then logs whatever is left with its amounts, and so does the process's exit.
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import contextlib
import logging
import weakref
from collections import OrderedDict
from itertools import islice
from typing import Any, Generic, TypeVar

from prometheus_client import Counter, Gauge
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from litellm_router_plugin.state.records import MICROS_PER_USD

Item = TypeVar("Item")


class WriteBehind(abc.ABC, Generic[Item]):
    """The queue, its writer task, flush and close; subclasses say how a batch is written and described."""

    task_name = "lrp-write-behind"
    retry_on: tuple[type[BaseException], ...] = ()
    """Errors that mean "the destination is unreachable": the batch is retried, never dropped."""
    batch_size = 1
    flush_seconds = 0.0
    """How long a writer waits for a batch to gather (0: writes whatever is queued at once)."""
    initial_wait, max_wait = 0.05, 2.0
    gauge: Gauge
    """The queue's length (``metrics``)."""
    dropped: Counter
    """Items refused by a full queue (``metrics``)."""

    def __init__(self, max_queued: int) -> None:
        self.max_queued = max_queued
        self.logger = logging.getLogger(type(self).__module__)
        """The subclass's module logger: its lines keep their logger name."""
        self._pending: OrderedDict[str, Item] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        _LIVE.add(self)

    def __len__(self) -> int:
        return len(self._pending)

    # -- what a subclass says --------------------------------------------------------------------
    @abc.abstractmethod
    async def _write(self, batch: list[tuple[str, Item]]) -> None:
        """Write ``batch`` (raises one of ``retry_on`` while the destination is unreachable)."""

    async def _written(self, batch: list[tuple[str, Item]]) -> None:
        """``batch`` landed (already off the queue)."""

    @abc.abstractmethod
    def _micros(self, item: Item) -> int:
        """The amount ``item`` charges, for the logs of what was refused or lost."""

    def _queued(self, key: str, item: Item) -> None:
        """``item`` was just queued."""

    @abc.abstractmethod
    def _refused(self, key: str, item: Item) -> None:
        """``item`` was refused: the queue is full (log it with its amount)."""

    @abc.abstractmethod
    def _lost_message(self) -> str:
        """What the log of unwritten items says they never reached (``"settles never reached ..."``)."""

    # -- the queue ---------------------------------------------------------------------------------
    def _put(self, key: str, item: Item) -> bool:
        """Queue ``item`` under ``key`` and make sure a writer runs; ``False`` (logged) when full."""
        if key in self._pending:
            return True  # the same item twice: it lands once either way
        if len(self._pending) >= self.max_queued:
            self.dropped.inc()
            self._refused(key, item)
            return False
        self._pending[key] = item
        self.gauge.inc()
        self._queued(key, item)
        self._ensure_writer()
        return True

    def _ensure_writer(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a sync caller): the next put or flush from a loop starts the writer
        if self._task is None or self._task.done():
            # A fresh task on the caller's loop (LiteLLM may settle from another loop than before).
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name=self.task_name)
        elif self._wake is not None and len(self._pending) >= self.batch_size:
            self._wake.set()

    async def _run(self) -> None:
        while self._pending:
            if len(self._pending) < self.batch_size and self._wake is not None:
                # Let a batch gather: one write for many items.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
                self._wake.clear()
            batch = list(islice(self._pending.items(), self.batch_size))
            retrying = AsyncRetrying(
                retry=retry_if_exception_type(self.retry_on),
                wait=wait_exponential_jitter(initial=self.initial_wait, max=self.max_wait),
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    await self._write(batch)
            for key, _ in batch:
                if self._pending.pop(key, None) is not None:
                    self.gauge.dec()
            await self._written(batch)

    async def flush(self, seconds: float = 5.0) -> bool:
        """Write what is queued, waiting up to ``seconds``; ``True`` when nothing is left."""
        if not self._pending:
            return True
        self._ensure_writer()
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), seconds)
        return not self._pending

    async def close(self, seconds: float = 5.0) -> None:
        """Flush for up to ``seconds``, then log what is left (ids and amounts) and stop."""
        await self.flush(seconds)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.log_unwritten()

    def log_unwritten(self) -> None:
        """Log every item still queued, with its amount, so it can be recorded by hand."""
        if not self._pending:
            return
        total = sum(self._micros(item) for item in self._pending.values())
        self.logger.error(
            "%d %s (total $%.6f): %s",
            len(self._pending),
            self._lost_message(),
            total / MICROS_PER_USD,
            ", ".join(f"{key}=${self._micros(item) / MICROS_PER_USD:.6f}" for key, item in self._pending.items()),
        )


_LIVE: weakref.WeakSet[WriteBehind[Any]] = weakref.WeakSet()


@atexit.register
def _log_unwritten_at_exit() -> None:
    # A process that exits without close(): whatever is still queued must at least be on record.
    for queue in list(_LIVE):
        queue.log_unwritten()
