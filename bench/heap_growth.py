"""What a long run keeps: GC-tracked objects, gen2 collections and CPU per request, batch by batch.

Drives ``build_router`` (the issue-25 two-tier config: prices, breakers, a per-key budget, memory
store) with ``mock_response`` and the identity the proxy hook sets, in one process, no proxy; or a
stock ``litellm.Router`` with the same two groups (``--stock``) for comparison. After every batch it
prints the CPU per request of that batch, ``len(gc.get_objects())``, the gen2 collection count and,
with ``--trace``, the allocation lines that grew most since the first batch (tracemalloc).

Run: ``python bench/heap_growth.py --batches 5 --size 1000 [--stock] [--trace]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
import tracemalloc
from typing import Any

from proxy_stack import EXAMPLE_CONFIG, plugin_config

PROMPT = [{"role": "user", "content": "Say hello in one short sentence, please."}]
# The issue-25 plugin config and the example proxy's router settings, as the proxy benchmark uses them;
# the upstream is never called (mock_response).
CONFIG: dict[str, Any] = plugin_config("http://127.0.0.1:9", {"kind": "memory"})
ROUTER_SETTINGS: dict[str, Any] = EXAMPLE_CONFIG["router_settings"]


def make_router(stock: bool) -> tuple[Any, str, Any]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if stock:
        import litellm

        litellm.suppress_debug_info = True
        model_list = [
            {"model_name": t["name"], "litellm_params": {"model": d["model"], **d["litellm_params"]}}
            for t in CONFIG["tiers"]
            for d in t["deployments"]
        ]
        return litellm.Router(model_list=model_list, **ROUTER_SETTINGS), "cheap", None
    from litellm_router_plugin import build_router

    router = build_router(CONFIG, **ROUTER_SETTINGS)
    return router, "auto", None


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


GC_MS = [0.0, 0.0, 0.0]
_gc_start = [0.0]


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_start[0] = time.process_time()
    else:
        GC_MS[info["generation"]] += (time.process_time() - _gc_start[0]) * 1000


async def run(args: argparse.Namespace) -> None:
    if args.proxy_heap:  # the heap of a proxy process (what every full collection walks)
        import litellm.proxy.proxy_server  # noqa: F401
    router, model, _ = make_router(args.stock)
    gc.callbacks.append(_gc_timer)

    async def call(i: int) -> None:
        # What the proxy hook puts in every request's metadata (ProxyRouterPlugin.async_pre_call_hook).
        metadata = {"router": {"user": "u1", "key": f"sk-{i % 4}", "team": "t1", "authenticated": True}}
        await router.acompletion(model=model, messages=PROMPT, max_tokens=16, mock_response="Hello!", metadata=metadata)

    for i in range(args.warmup):
        await call(i)
    await asyncio.sleep(0.05)  # LiteLLM's logging tasks finish
    gc.collect()
    if args.trace:
        tracemalloc.start(args.frames)
    first: Any = None
    print(
        f"{'batch':>5} {'cpu ms/req':>10} {'loop ms':>7} {'gc objects':>10} {'+obj/req':>8} {'gen2':>5} {'rss MB':>7}"
    )
    objects = len(gc.get_objects())
    for batch in range(1, args.batches + 1):
        gen2 = gc.get_stats()[2]["collections"]
        counts0 = [g["collections"] for g in gc.get_stats()]
        GC_MS[:] = [0.0, 0.0, 0.0]
        cpu, main_cpu = time.process_time(), time.thread_time()
        for i in range(args.size):
            await call(i)
        await asyncio.sleep(0.05)
        spent = (time.process_time() - cpu) * 1000 / args.size
        main_spent = (time.thread_time() - main_cpu) * 1000 / args.size
        now_objects = len(gc.get_objects())
        per_req = (now_objects - objects) / args.size
        print(
            f"{batch:>5} {spent:>10.3f} {main_spent:>7.3f} {now_objects:>10} {per_req:>8.2f} "
            f"{gc.get_stats()[2]['collections'] - gen2:>5} {rss_mb():>7.1f}"
        )
        objects = now_objects
        runs = [g["collections"] - c for g, c in zip(gc.get_stats(), counts0, strict=True)]
        print(
            f"      gc runs per 1000 req (gen0/1/2): {[round(r * 1000 / args.size, 1) for r in runs]}  "
            f"gc ms per req (gen0/1/2): {[round(ms / args.size, 3) for ms in GC_MS]}"
        )
        if args.trace:
            snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            if first is None:
                first = snap
            elif batch == args.batches:
                print("largest growth since batch 1 (by line):")
                for stat in snap.compare_to(first, "traceback" if args.frames > 1 else "lineno")[: args.top]:
                    where = stat.traceback.format()[-1].strip()
                    print(f"  {stat.size_diff / 1024:>8.1f} KiB {stat.count_diff:>+7} blocks  {where}")
                    if args.frames > 1:
                        for line in stat.traceback.format()[:-1]:
                            print("        " + line.strip())
    if not args.stock:
        from litellm_router_plugin.pipeline.pipeline import _PIPELINES

        for pipeline in list(_PIPELINES.values()):
            store = pipeline.admission.store if pipeline.admission is not None else None
            sizes = (
                {k: len(v) for k, v in vars(store).items() if hasattr(v, "__len__") and not isinstance(v, str)}
                if hasattr(store, "__dict__")
                else {}
            )
            print("store sizes:", type(store).__name__, sizes)
    if args.types:
        counts: dict[str, int] = {}
        for obj in gc.get_objects():
            counts[type(obj).__name__] = counts.get(type(obj).__name__, 0) + 1
        print("tracked objects by type:", sorted(counts.items(), key=lambda kv: -kv[1])[: args.top])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--stock", action="store_true", help="a stock litellm.Router, no plugin")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: the lines that grew most")
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--types", action="store_true", help="tracked objects by type at the end")
    parser.add_argument("--proxy-heap", action="store_true", help="import litellm.proxy first")
    parser.add_argument("--top", type=int, default=15)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
