"""Routing overhead: heuristic decision latency, the planner, and Router.acompletion plugin vs stock.

The Router comparison runs every variant in its own process, so nothing one installs (the plugin's
LiteLLM callbacks, its strategy) touches another: ``stock`` (a stock ``litellm.Router`` asked for the
tier the plugin would choose, never importing the plugin), ``stock-aa`` (an identical second stock
process: the A/A control), ``plugin`` (``build_router``, budgets and breakers on the memory store)
and ``plugin-redis`` (the same on Redis, own key prefix; skipped when Redis does not answer). The
orchestrator asks each process for a batch in turn (the order rotates), so all see the same load.

Run: ``make bench`` (or ``.venv/bin/python bench/bench_routing.py``). Prints ratios against
baselines measured in the same run; absolute figures vary with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

PROMPT = [{"role": "user", "content": "Write a Python function that reverses a linked list, with unit tests."}]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def plugin_config(store: str, prefix: str) -> dict[str, Any]:
    """Budgets and breakers on: the full admit + settle path of every routed call."""
    kind: dict[str, Any] = {"kind": "memory"} if store == "memory" else {"kind": "redis", "url": REDIS_URL}
    if store == "redis":
        kind["prefix"] = prefix
    return {"budgets": {"global": {"daily": 1_000_000.0}}, "store": kind}


# -- in-process micro benchmarks ----------------------------------------------------------------
def bench_heuristic(rounds: int) -> None:
    from litellm_router_plugin.classify import HeuristicClassifier
    from litellm_router_plugin.tools.demo import DEMO_PROMPTS

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
    from litellm_router_plugin import Planner, PluginConfig
    from litellm_router_plugin.tools.demo import DEMO_PROMPTS

    planner = Planner(PluginConfig())
    messages = [[{"role": "user", "content": p}] for p in DEMO_PROMPTS]
    samples = []

    async def run() -> None:
        for _ in range(rounds):
            for m in messages:
                start = time.perf_counter_ns()
                request = planner.request(m)
                planner.plan(await planner.analyse(request.prompt), request)
                samples.append((time.perf_counter_ns() - start) / 1e6)

    asyncio.run(run())
    print(
        f"full plan (classify + tokens + choose)  n={len(samples):>6}  "
        f"p50={percentile(samples, 0.5):.4f} ms  p99={percentile(samples, 0.99):.4f} ms"
    )


# -- one variant per process ------------------------------------------------------------------
def worker(variant: str, setup: dict[str, Any]) -> None:
    """Serve batches: read a count on stdin, run that many calls, answer their latencies (ms) and the
    process's CPU time per call (ms; every thread, LiteLLM's logging threads included) as JSON."""
    if variant.startswith("stock"):
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm  # the stock process never imports the plugin

        litellm.suppress_debug_info = True
        router = litellm.Router(model_list=setup["model_list"])
        model = setup["group"]
    else:
        from litellm_router_plugin import build_router

        router = build_router(plugin_config("redis" if variant == "plugin-redis" else "memory", setup["prefix"]))
        model = "auto"

    async def call() -> None:
        await router.acompletion(model=model, messages=PROMPT, mock_response="ok")

    async def serve() -> None:
        for _ in range(setup["warmup"]):
            await call()
        print("ready", flush=True)
        for line in sys.stdin:
            samples = []
            cpu = time.process_time()
            for _ in range(int(line)):
                start = time.perf_counter_ns()
                await call()
                samples.append((time.perf_counter_ns() - start) / 1e6)
            cpu_ms = (time.process_time() - cpu) * 1000 / len(samples)
            print(json.dumps({"ms": samples, "cpu_ms": cpu_ms}), flush=True)

    asyncio.run(serve())


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def clear_prefix(prefix: str) -> None:
    from litellm_router_plugin.state import RedisStore

    async def clear() -> None:
        store = RedisStore(REDIS_URL, prefix=prefix)
        await store.clear()
        await store.aclose()

    asyncio.run(clear())


def bench_router(variants: list[str], batches: int, per_batch: int, warmup: int) -> None:
    from litellm_router_plugin import Planner, PluginConfig

    planner = Planner(PluginConfig.load(plugin_config("memory", "-")))
    group = asyncio.run(planner.decide(PROMPT)).tier  # the stock router is asked for the same group directly
    setup = {"model_list": planner.tier_map.model_list(), "group": group, "prefix": f"bench-{uuid.uuid4().hex[:8]}"}
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for variant in variants:
            procs[variant] = subprocess.Popen(
                [sys.executable, __file__, "--worker", variant, "--setup", json.dumps({**setup, "warmup": warmup})],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
        for variant, proc in procs.items():
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{variant} worker failed to start")
        samples: dict[str, list[float]] = {v: [] for v in variants}
        batch_p50: dict[str, list[float]] = {v: [] for v in variants}
        batch_cpu: dict[str, list[float]] = {v: [] for v in variants}
        for b in range(batches):
            for variant in variants[b % len(variants) :] + variants[: b % len(variants)]:
                proc = procs[variant]
                assert proc.stdin is not None
                assert proc.stdout is not None
                proc.stdin.write(f"{per_batch}\n")
                proc.stdin.flush()
                got = json.loads(proc.stdout.readline())
                samples[variant] += got["ms"]
                batch_p50[variant].append(statistics.median(got["ms"]))
                batch_cpu[variant].append(got["cpu_ms"])
    finally:
        for proc in procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(30)
        if "plugin-redis" in variants:
            clear_prefix(str(setup["prefix"]))

    base = statistics.median(samples["stock"])
    print(f"Router.acompletion (mock_response), group {group!r}, {batches} interleaved batches of {per_batch} each")
    print(
        "| variant | p50 ms | p99 ms | p50 / stock | median per-batch p50 ratio | CPU ms/call | CPU / stock |\n"
        "|---|---|---|---|---|---|---|"
    )
    base_cpu = statistics.median(batch_cpu["stock"])
    for variant in variants:
        p50 = statistics.median(samples[variant])
        paired = statistics.median(v / s for v, s in zip(batch_p50[variant], batch_p50["stock"], strict=True))
        cpu = statistics.median(batch_cpu[variant])
        print(
            f"| {variant} | {p50:.3f} | {percentile(samples[variant], 0.99):.3f} | {p50 / base:.3f}x | {paired:.3f}x "
            f"| {cpu:.3f} | {cpu / base_cpu:.3f}x |"
        )
    print("goal: plugin/stock p50 <= 1.05x; stock-aa/stock is the noise floor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=500, help="passes over the demo prompts (heuristic)")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--per-batch", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--variants", default="stock,stock-aa,plugin,plugin-redis")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, json.loads(args.setup))
        return
    variants = list(dict.fromkeys(["stock", "stock-aa", *args.variants.split(",")]))
    if "plugin-redis" in variants and not redis_answers():
        print(f"Redis does not answer at {REDIS_URL}: plugin-redis skipped")
        variants.remove("plugin-redis")
    bench_heuristic(args.rounds)
    bench_plan(max(1, args.rounds // 10))
    bench_router(variants, args.batches, args.per_batch, args.warmup)


if __name__ == "__main__":
    main()
