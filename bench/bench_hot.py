"""The plugin's own CPU per request, in process: one routed request (pick + settle) on the memory store.

Measures CPU time of this thread (``time.thread_time_ns``: other processes' time does not count,
though on a loaded machine they still slow this one through shared caches) of every request, the
variants taking turns request by request; it reports medians, for:

- ``stock`` / ``stock-aa``: a stock ``litellm.Router``'s pick of a deployment of the tier the plugin
  chooses (``Router.async_get_available_deployment``), twice: the baseline and its A/A control;
- ``router``: the plugin's Router strategy path: ``async_get_available_deployment(model="auto")``
  (read the request, classify, plan, admit, attach the decision) and the settle LiteLLM's deployment
  hook runs after the call (``DecisionHook.async_post_call_success_deployment_hook``);
- ``proxy``: the same behind the proxy's pre-call hook (``ProxyRouterPlugin.async_pre_call_hook``:
  the client's overrides, the authenticated identity), as the proxy runs it.

The config is the one of issue 25's proxy benchmark (two priced tiers, breakers, a per-key and a
global daily budget, memory store). Measuring ``proxy`` imports LiteLLM's proxy server, which also
makes ``router`` name its savings baseline (as inside a proxy). ``--profile router|proxy`` runs
that variant under cProfile and prints the top functions by own time, by calls, and the plugin's
functions by cumulative time.

``--against DIR`` measures another checkout (say, a worktree of main) in a second process, the two
taking turns, and prints both: a before/after on the same machine state.

Run: ``.venv/bin/python bench/bench_hot.py`` (``--rounds 5000``; ``--against ../main``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Say hello in one short sentence, please."
MESSAGES = [{"role": "user", "content": PROMPT}]
UPSTREAM = "http://127.0.0.1:9/v1"  # never called
CONFIG: dict[str, Any] = {
    "alias": "auto",
    "tiers": [
        {
            "name": "cheap",
            "deployments": [
                {
                    "model": "openai/gpt-4o-mini",
                    "litellm_params": {
                        "api_base": UPSTREAM,
                        "api_key": "fake",
                        "input_cost_per_token": 1.5e-7,
                        "output_cost_per_token": 6.0e-7,
                    },
                }
            ],
        },
        {
            "name": "strong",
            "deployments": [
                {
                    "model": "openai/gpt-4o",
                    "litellm_params": {
                        "api_base": UPSTREAM,
                        "api_key": "fake",
                        "input_cost_per_token": 2.5e-6,
                        "output_cost_per_token": 1.0e-5,
                    },
                }
            ],
        },
    ],
    "budgets": {"global": {"daily": 1_000_000.0}, "per_key": {"daily": 1_000_000.0}},
    "breaker": {"enabled": True, "failure_threshold": 5, "window_seconds": 60, "recovery_timeout": 30},
    "store": {"kind": "memory"},
}

Call = Callable[[], Awaitable[Any]]


def response() -> Any:
    """What a deployment answered (16 completion tokens), made once: settling reads its usage. It
    carries its cost, as after the hook's first pricing of it: pricing a response is LiteLLM's work,
    which a stock proxy does too (in its logging), so it is not counted as the plugin's."""
    import litellm

    answer = litellm.ModelResponse(
        model="gpt-4o-mini",
        choices=[{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
        usage={"prompt_tokens": 16, "completion_tokens": 16, "total_tokens": 32},
    )
    answer._hidden_params["response_cost"] = 16 * 1.5e-7 + 16 * 6.0e-7
    return answer


def stock_call(group: str, model_list: list[dict[str, Any]]) -> Call:
    """A stock Router's pick of a deployment of ``group`` (its own Router: no plugin strategy on it)."""
    import litellm

    router = litellm.Router(model_list=model_list)

    async def call() -> Any:
        return await router.async_get_available_deployment(model=group, messages=MESSAGES, request_kwargs={})

    return call


def router_call(router: Any, hook: Any, answer: Any) -> Call:
    """The Router strategy's pick of ``auto`` and the deployment hook's settle of it."""
    pick = router.async_get_available_deployment  # the strategy's: set_custom_routing_strategy replaced it

    async def call() -> Any:
        kwargs: dict[str, Any] = {"model": "auto", "messages": MESSAGES, "max_tokens": 16, "metadata": {}}
        deployment = await pick(model="auto", messages=MESSAGES, request_kwargs=kwargs)
        kwargs["metadata"]["model_info"] = deployment["model_info"]
        return await hook.async_post_call_success_deployment_hook(kwargs, answer, "acompletion")

    return call


def proxy_call(plugin: Any, router: Any, hook: Any, answer: Any) -> Call:
    """The proxy's pre-call hook (authenticated identity), then the Router path of :func:`router_call`."""
    from litellm.proxy._types import UserAPIKeyAuth

    auth = UserAPIKeyAuth(api_key="hashed-key-1", user_id="user-1", team_id="team-1")
    pick = router.async_get_available_deployment

    async def call() -> Any:
        data: dict[str, Any] = {"model": "auto", "messages": MESSAGES, "max_tokens": 16, "metadata": {}}
        data = await plugin.async_pre_call_hook(auth, None, data, "acompletion")
        deployment = await pick(model="auto", messages=MESSAGES, request_kwargs=data)
        data["metadata"]["model_info"] = deployment["model_info"]
        return await hook.async_post_call_success_deployment_hook(data, answer, "acompletion")

    return call


def variants(names: list[str]) -> dict[str, Call]:
    """Every variant asked for, built (the proxy's imports only when it is measured)."""
    from litellm_router_plugin import Planner, PluginConfig, build_router
    from litellm_router_plugin.integrations.hooks import DecisionHook

    planner = Planner(PluginConfig.load(CONFIG))
    group = asyncio.run(planner.decide(MESSAGES)).tier
    calls: dict[str, Call] = {}
    answer, hook = response(), DecisionHook()
    for name in names:
        if name.startswith("stock"):
            calls[name] = stock_call(group, planner.tier_map.model_list())
        elif name == "router":
            router = build_router(CONFIG)
            calls[name] = router_call(router, hook, answer)
    if "proxy" in names:
        from litellm.proxy import proxy_server

        from litellm_router_plugin.integrations.proxy import ProxyRouterPlugin

        plugin = ProxyRouterPlugin(CONFIG, mount_routes=False)
        proxy_server.llm_router = build_router(pipeline=plugin.pipeline)
        calls["proxy"] = proxy_call(plugin, proxy_server.llm_router, hook, answer)
    return calls


async def warm_up(calls: dict[str, Call]) -> None:
    for call in calls.values():  # caches, first-use imports, breaker specs
        for _ in range(200):
            await call()


async def measure(calls: dict[str, Call], rounds: int, order: random.Random) -> dict[str, list[float]]:
    """CPU microseconds of this thread per call: each round calls every variant once, in a shuffled
    order (a fixed order would give each variant the same predecessor, whose traces in the CPU caches
    it pays for), so a burst of load elsewhere touches every variant alike; medians drop the bursts."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    clock = time.thread_time_ns
    for i in range(rounds):
        if i % 500 == 0:
            gc.collect()  # outside the timed calls; a collection inside one is counted (and is rare)
        order.shuffle(names)
        for name in names:
            call = calls[name]
            start = clock()
            await call()
            samples[name].append((clock() - start) / 1000)
    return samples


def report(samples: dict[str, list[float]], title: str = "") -> None:
    base = statistics.median(samples["stock"]) if "stock" in samples else None
    print(f"{title:<12} {'median us':>10} {'mean':>8} {'p90':>8}  {'median - stock':>14}")
    for name, values in samples.items():
        med = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        extra = f"{med - base:>+14.1f}" if base is not None else ""
        print(f"{name:<12} {med:>10.1f} {statistics.fmean(values):>8.1f} {p90:>8.1f}  {extra}")


async def serve(calls: dict[str, Call]) -> None:
    """``--serve``: answer each line of stdin (a number of rounds) with those rounds' samples (JSON)."""
    await warm_up(calls)
    order = random.Random(0)
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(await measure(calls, int(line), order)), flush=True)


def compare(names: str, against: Path, turns: int, rounds: int) -> None:
    """This checkout and ``against`` (another checkout of the project), each in its own process,
    taking turns of ``rounds`` rounds: both see the machine in the same state, turn after turn."""
    trees = {"this": ROOT, "against": against.resolve()}
    procs = {
        label: subprocess.Popen(
            [sys.executable, __file__, "--serve", "--variants", names],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(tree)},
            cwd=tree,
        )
        for label, tree in trees.items()
    }
    samples: dict[str, dict[str, list[float]]] = {label: {} for label in procs}
    try:
        for proc in procs.values():
            assert proc.stdout is not None
            while proc.stdout.readline().strip() != "ready":  # the plugin's start-up lines come first
                pass
        for turn in range(turns):
            for label in list(procs)[turn % 2 :] + list(procs)[: turn % 2]:
                proc = procs[label]
                assert proc.stdin is not None
                assert proc.stdout is not None
                proc.stdin.write(f"{rounds}\n")
                proc.stdin.flush()
                for name, values in json.loads(proc.stdout.readline()).items():
                    samples[label].setdefault(name, []).extend(values)
    finally:
        for proc in procs.values():
            proc.kill()
    for label, tree in trees.items():
        report(samples[label], label)
        print(f"({tree})\n")


async def profile(call: Call, n: int, top: int) -> None:
    for _ in range(200):
        await call()
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for _ in range(n):
        await call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    if os.environ.get("BENCH_PROFILE_SAVE"):  # the raw stats, for pstats' callers view
        stats.dump_stats(os.environ["BENCH_PROFILE_SAVE"])
    total_calls = sum(v[1] for v in stats.stats.values())  # type: ignore[attr-defined]
    print(f"{total_calls / n:.0f} function calls per request (primitive and not)")
    for key in ("tottime", "ncalls"):
        print(f"\n-- top {top} by {key} (over {n} requests) --")
        stats.sort_stats(key).print_stats(top)
    print(f"\n-- the plugin's functions by cumulative time (over {n} requests) --")
    stats.sort_stats("cumulative").print_stats("litellm_router_plugin", top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="stock,stock-aa,router,proxy")
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--profile", choices=["router", "proxy"])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--against", type=Path, help="another checkout, measured turn by turn with this one")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import logging

    logging.getLogger("LiteLLM").setLevel(logging.ERROR)
    if args.against is not None:
        compare(args.variants, args.against, args.turns, max(1, args.rounds // args.turns))
        return
    if args.profile:
        calls = variants([args.profile])
        asyncio.run(profile(calls[args.profile], args.requests, args.top))
        return
    calls = variants(args.variants.split(","))
    if args.serve:
        asyncio.run(serve(calls))
        return

    async def run() -> dict[str, list[float]]:
        await warm_up(calls)
        return await measure(calls, args.rounds, random.Random(0))

    report(asyncio.run(run()))


if __name__ == "__main__":
    main()
