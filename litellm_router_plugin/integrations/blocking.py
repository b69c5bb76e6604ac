"""``run_blocking``: the async pipeline for synchronous callers, inside or outside a running event loop.

``litellm.completion(model="router/auto")`` is synchronous, but the pipeline (classifier, store,
the inner ``litellm.acompletion``) is async. ``asyncio.run`` cannot be nested in a running loop, and
a private loop per call leaves the store's connections bound to a closed loop (later async calls
then fail with ``Event loop is closed``). So every synchronous call runs on one long-lived loop in a
daemon thread; the store keeps one client per loop (``state/redis.py``), so the caller's own loop
and this one never share a connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _bridge_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="lrp-sync-bridge", daemon=True).start()
            _loop = loop
        return _loop


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on the bridge loop and return its result (or raise its error).

    Blocks the calling thread (a running loop in it too, as any synchronous call does).
    """
    loop = _bridge_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:  # called from a coroutine already on the bridge: waiting would deadlock
        coro.close()
        raise RuntimeError("run_blocking called from the bridge loop itself; await the coroutine instead")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Start ``coro`` on the bridge loop and return at once (its future says when it is done)."""
    return asyncio.run_coroutine_threadsafe(coro, _bridge_loop())


__all__ = ["run_blocking", "submit"]
