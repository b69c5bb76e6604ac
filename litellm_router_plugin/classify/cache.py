"""A bounded LRU cache in front of a classifier, keyed on the normalised prompt."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from litellm_router_plugin.classify.base import Classifier, ComplexityAnalysis


def normalise(prompt: str) -> str:
    """Case- and whitespace-insensitive form of a prompt: the cache key."""
    return " ".join(prompt.casefold().split())


class CachedClassifier:
    """Answers a repeated prompt from memory, so it costs no second LLM call.

    Concurrent requests for the same prompt share one call. Fallback answers (the agent timed out
    or failed) are not cached: the next request gives the agent another chance.
    """

    def __init__(self, inner: Classifier, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.inner = inner
        self.name = inner.name
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, ComplexityAnalysis] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[ComplexityAnalysis]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, prompt: str) -> ComplexityAnalysis | None:
        """The cached analysis of ``prompt``, if any (no call is made)."""
        key = normalise(prompt)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` from the cache, or by the inner classifier on a miss."""
        start = time.perf_counter()
        key = normalise(prompt)
        found = self._entries.get(key)
        if found is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return found.model_copy(update={"cached": True, "latency_ms": (time.perf_counter() - start) * 1000})
        pending = self._in_flight.get(key)
        if pending is not None:
            self.hits += 1
            return (await asyncio.shield(pending)).model_copy(update={"cached": True})

        self.misses += 1
        future: asyncio.Future[ComplexityAnalysis] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            analysis = await self.inner.aclassify(prompt)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters may not exist
            raise
        finally:
            self._in_flight.pop(key, None)
        future.set_result(analysis)
        if analysis.fallback_reason is None:
            self._entries[key] = analysis
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return analysis
