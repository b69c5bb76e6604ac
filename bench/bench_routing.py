"""Routing overhead: heuristic decision latency, and Router.acompletion plugin vs stock.

Run: ``make bench`` (or ``.venv/bin/python bench/bench_routing.py``). Prints ratios against
baselines measured in the same run; absolute figures vary with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from litellm_router_plugin import HeuristicClassifier, Pipeline, Planner, PluginConfig, build_router
from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.integrations.hooks import DecisionHook, ensure_decision_hook
from litellm_router_plugin.tools.demo import DEMO_PROMPTS


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_heuristic(rounds: int) -> None:
    clf = HeuristicClassifier()
    samples = []
    for _ in range(rounds):
        for prompt in DEMO_PROMPTS:
            start = time.perf_counter_ns()
            clf.classify(prompt)
            samples.append((time.perf_counter_ns() - start) / 1e6)
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    print(f"heuristic decision  n={len(samples):>6}  p50={p50:.4f} ms  p99={p99:.4f} ms  (goal p50 <= 0.1 ms)")


def bench_plan(rounds: int) -> None:
    planner = Planner(PluginConfig())
    messages = [[{"role": "user", "content": p}] for p in DEMO_PROMPTS]
    samples = []

    async def run() -> None:
        for _ in range(rounds):
            for m in messages:
                start = time.perf_counter_ns()
                await planner.plan(m)
                samples.append((time.perf_counter_ns() - start) / 1e6)

    asyncio.run(run())
    print(
        f"full plan (classify + tokens + choose)  n={len(samples):>6}  "
        f"p50={percentile(samples, 0.5):.4f} ms  p99={percentile(samples, 0.99):.4f} ms"
    )


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        await call()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


async def bench_router(batches: int, per_batch: int) -> None:
    planner = Planner(PluginConfig())
    plugin = build_router(pipeline=Pipeline(planner=planner))
    stock = litellm.Router(model_list=planner.tier_map.model_list())
    prompt = [{"role": "user", "content": "Write a Python function that reverses a linked list, with unit tests."}]
    group = (await planner.decide(prompt)).tier  # the stock router is asked for the same group directly

    async def via_plugin() -> object:
        return await plugin.acompletion(model="auto", messages=prompt, mock_response="ok")

    async def via_stock() -> object:
        return await stock.acompletion(model=group, messages=prompt, mock_response="ok")

    for call in (via_plugin, via_stock):  # warm up clients and caches
        await timed(call, 50)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(batches):
        # The decision hook is process-wide; take it out while the stock router runs.
        litellm.callbacks[:] = [cb for cb in litellm.callbacks if not isinstance(cb, DecisionHook)]
        theirs += await timed(via_stock, per_batch)
        ensure_decision_hook()
        ours += await timed(via_plugin, per_batch)
    p50_ours, p50_theirs = statistics.median(ours), statistics.median(theirs)
    print(f"Router.acompletion (mock_response), group {group!r}, n={len(ours)} each, interleaved batches")
    print(f"  stock Router  p50={p50_theirs:.3f} ms  p99={percentile(theirs, 0.99):.3f} ms")
    print(f"  plugin Router p50={p50_ours:.3f} ms  p99={percentile(ours, 0.99):.3f} ms")
    print(f"  ratio plugin/stock p50 = {p50_ours / p50_theirs:.3f}x  (goal <= 1.05x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=500, help="passes over the demo prompts (heuristic)")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--per-batch", type=int, default=200)
    args = parser.parse_args()
    bench_heuristic(args.rounds)
    bench_plan(max(1, args.rounds // 10))
    asyncio.run(bench_router(args.batches, args.per_batch))


if __name__ == "__main__":
    main()
