"""``litellm`` (the proxy CLI) with chosen functions timed in thread CPU, for ``hook_cpu.py``.

``$BENCH_TIMED`` lists ``module:Qualified.name`` entries (comma-separated); each is wrapped, before
the proxy starts, so every call adds the CPU time of the thread it runs on (``time.thread_time``)
to that entry's total (its wall time with ``$BENCH_TIMED_CLOCK=wall``). A coroutine is timed from
its first step to its return: an entry that suspends on real I/O (a Redis round trip) also counts
what the loop ran meanwhile, so time only entries that do not (the memory store, LiteLLM's
in-memory caches). SIGUSR1 zeroes the totals, SIGUSR2 writes them as JSON to
``$BENCH_TIMED_OUT.<pid>``; garbage collections are timed too (``gc:generation N``). An entry that
cannot be found is named on stderr and skipped (another LiteLLM, or a stock proxy without the plugin's hooks)."""

from __future__ import annotations

import functools
import gc
import importlib
import inspect
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

TOTALS: dict[str, list[float]] = {}
"""Per entry: [thread CPU seconds (wall seconds with ``$BENCH_TIMED_CLOCK=wall``), calls]."""
CLOCK = time.perf_counter if os.environ.get("BENCH_TIMED_CLOCK") == "wall" else time.thread_time


def timed(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` adding its thread CPU time and one call to ``TOTALS[key]``."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = CLOCK()
            try:
                return await fn(*args, **kwargs)
            finally:
                entry = TOTALS.setdefault(key, [0.0, 0])
                entry[0] += CLOCK() - started
                entry[1] += 1

        return timed_async

    @functools.wraps(fn)
    def timed_sync(*args: Any, **kwargs: Any) -> Any:
        started = CLOCK()
        try:
            return fn(*args, **kwargs)
        finally:
            entry = TOTALS.setdefault(key, [0.0, 0])
            entry[0] += CLOCK() - started
            entry[1] += 1

    return timed_sync


def install(entries: str) -> None:
    """Wrap every ``module:Qualified.name`` of ``entries`` where it is defined."""
    for spec in filter(None, (e.strip() for e in entries.split(","))):
        module_name, _, qualified = spec.partition(":")
        try:
            owner: Any = importlib.import_module(module_name)
            *path, name = qualified.split(".")
            for part in path:
                owner = getattr(owner, part)
            setattr(owner, name, timed(spec, getattr(owner, name)))
        except (ImportError, AttributeError) as exc:
            print(f"timed_litellm: {spec} not timed ({exc})", file=sys.stderr)


_GC_STARTED = [0.0]


def _gc_timed(phase: str, info: dict[str, Any]) -> None:
    """Garbage collection as one more entry: its CPU and collections (by generation)."""
    if phase == "start":
        _GC_STARTED[0] = time.thread_time()
        return
    entry = TOTALS.setdefault(f"gc:generation {info['generation']}", [0.0, 0])
    entry[0] += time.thread_time() - _GC_STARTED[0]
    entry[1] += 1


def _reset(signum: int, frame: FrameType | None) -> None:
    TOTALS.clear()


def _dump(signum: int, frame: FrameType | None) -> None:
    path = f"{os.environ['BENCH_TIMED_OUT']}.{os.getpid()}"
    with open(f"{path}.partial", "w", encoding="utf-8") as out:
        json.dump(TOTALS, out)
    os.replace(f"{path}.partial", path)  # the driver reads it as soon as it exists


if __name__ == "__main__":
    install(os.environ.get("BENCH_TIMED", ""))
    gc.callbacks.append(_gc_timed)
    signal.signal(signal.SIGUSR1, _reset)
    signal.signal(signal.SIGUSR2, _dump)
    from litellm.proxy.proxy_cli import run_server

    sys.argv = ["litellm", *sys.argv[1:]]
    run_server()
