"""Where a proxy request's extra CPU goes: thread CPU of each hook, inside the real proxies.

The proxy benchmark (``bench_proxy.py``) sees the plugin's total cost; a sampling or tracing
profiler spreads it over LiteLLM's frames (and a sampler counts the event loop's waits for the GIL,
which LiteLLM's thread pool holds, as time in whatever frame is waiting). This runs the proxies of
``proxy_stack.py`` under ``timed_litellm.py``, which wraps the entry points below and adds up the
CPU time of the thread each call runs on (``time.thread_time``), and prints, per request, each
entry's CPU and calls, stock beside plugin: the stock pick against the plugin's Router strategy,
the plugin's proxy and deployment hooks, and the LiteLLM steps the plugin changes (its cost
calculation, which the deployment hook now runs; the savings figure the decision asks for; the
success logging). The plugin's entries are timed in the plugin proxies only (a stock proxy never
imports the plugin). ``plugin-memory`` is the default: timing a coroutine that suspends (a Redis
round trip) also counts what the loop ran meanwhile.
Above them: the proxy process's whole CPU (``/proc``), its main thread's (the event loop's; the
rest is LiteLLM's thread pool), and how often the main thread slept (voluntary context switches:
waiting for the network, or for the GIL; each Redis round trip adds one when the loop has nothing
else to run, as at concurrency 1).

``--clock wall`` times the entries in wall time instead: beside the CPU run, what a coroutine
waited (a Redis round trip's reply) shows as the difference.

Before/after: ``PYTHONPATH=<another checkout> .venv/bin/python bench/hook_cpu.py`` times that
checkout's plugin (the proxies import the package from ``PYTHONPATH`` first).

Run: ``.venv/bin/python bench/hook_cpu.py`` (``--concurrency 8 --seconds 5 --rounds 4``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from profile_proxy import thread_cpu
from proxy_stack import Stack

HERE = Path(__file__).resolve().parent
LITELLM_ENTRIES = (
    "litellm.router:Router.async_get_available_deployment",
    "litellm.proxy.litellm_pre_call_utils:add_litellm_data_to_request",
    "litellm.litellm_core_utils.litellm_logging:Logging.response_cost_calculator",
    "litellm.litellm_core_utils.litellm_logging:Logging.async_success_handler",
    "litellm.proxy.spend_tracking.savings:autorouter_savings_for_logging_payload",
    "litellm.router:Router._increment_deployment_usage",
)
PLUGIN_ENTRIES = (
    "litellm_router_plugin.integrations.router:CostAwareRoutingStrategy.async_get_available_deployment",
    "litellm_router_plugin.integrations.proxy:ProxyRouterPlugin.async_pre_call_hook",
    "litellm_router_plugin.integrations.hooks:DecisionHook.async_post_call_success_deployment_hook",
    "litellm_router_plugin.integrations.proxy:ProxyRouterPlugin.async_post_call_response_headers_hook",
)


def read_totals(pid: int, out: str) -> dict[str, list[float]]:
    path = Path(f"{out}.{pid}")
    for _ in range(100):
        if path.exists():
            totals: dict[str, list[float]] = json.loads(path.read_text())
            path.unlink()
            return totals
        time.sleep(0.05)
    raise RuntimeError(f"proxy {pid} wrote no totals")


def main_thread(pid: int) -> tuple[float, int]:
    """The proxy's main thread (its event loop): CPU seconds so far, and how often it has slept
    (voluntary context switches: waiting for the network when nothing else is ready, or for the GIL)."""
    status = Path(f"/proc/{pid}/task/{pid}/status").read_text()
    waits = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("voluntary_ctxt_switches"))
    return thread_cpu(pid)["event loop"], waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="stock,plugin-memory")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="load per proxy per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, the proxies taking turns")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="time the entries in thread CPU or in wall time (a coroutine's awaits included)",
    )
    parser.add_argument("--extra", default="", help="more module:Qualified.name entries, comma-separated")
    args = parser.parse_args()

    variants = args.variants.split(",")
    extra = tuple(e for e in args.extra.split(",") if e)
    work = Path(tempfile.mkdtemp(prefix="hook-cpu-"))
    out = str(work / "timed")

    def env(name: str) -> dict[str, str]:
        entries = LITELLM_ENTRIES + extra + (PLUGIN_ENTRIES if name.startswith("plugin") else ())
        return {"BENCH_TIMED": ",".join(entries), "BENCH_TIMED_OUT": out, "BENCH_TIMED_CLOCK": args.clock}

    stack = Stack(variants, work, launcher=[sys.executable, str(HERE / "timed_litellm.py")], env=env)
    totals: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    requests = dict.fromkeys(variants, 0)
    cpu = dict.fromkeys(variants, 0.0)
    loop_cpu = dict.fromkeys(variants, 0.0)
    loop_waits = dict.fromkeys(variants, 0)
    try:
        for proxy in stack.proxies.values():
            proxy.load(3.0, args.concurrency)  # warm up
        for _ in range(args.rounds):
            for name, proxy in stack.proxies.items():
                os.kill(proxy.proc.pid, signal.SIGUSR1)
                time.sleep(0.1)
                before = main_thread(proxy.proc.pid)
                sample = proxy.load(args.seconds, args.concurrency)
                after = main_thread(proxy.proc.pid)
                os.kill(proxy.proc.pid, signal.SIGUSR2)
                loop_cpu[name] += after[0] - before[0]
                loop_waits[name] += after[1] - before[1]
                requests[name] += sample.requests
                cpu[name] += sample.cpu_seconds
                for key, (seconds, calls) in read_totals(proxy.proc.pid, out).items():
                    entry = totals[name].setdefault(key, [0.0, 0])
                    entry[0] += seconds
                    entry[1] += calls
    finally:
        stack.close()

    clock = "thread CPU" if args.clock == "cpu" else "wall time (entries)"
    print(f"\n{clock} per request, c={args.concurrency}, {args.rounds} rounds of {args.seconds:g} s per proxy")
    print("| entry | " + " | ".join(f"{v} us (calls)" for v in variants) + " |")
    print("|---" * (len(variants) + 1) + "|")
    print("| proxy process, all threads | " + " | ".join(f"{1e6 * cpu[v] / requests[v]:.0f}" for v in variants) + " |")
    loop = " | ".join(f"{1e6 * loop_cpu[v] / requests[v]:.0f}" for v in variants)
    print(f"| main thread (event loop) | {loop} |")
    print(
        "| main thread's sleeps (voluntary context switches) | "
        + " | ".join(f"({loop_waits[v] / requests[v]:.2f})" for v in variants)
        + " |"
    )
    collections = sorted({k for v in variants for k in totals[v] if k.startswith("gc:")})
    for key in LITELLM_ENTRIES + extra + PLUGIN_ENTRIES + tuple(collections):
        cells = []
        for v in variants:
            seconds, calls = totals[v].get(key, [0.0, 0])
            cells.append(f"{1e6 * seconds / requests[v]:.0f} ({calls / requests[v]:.2f})" if calls else "-")
        print(f"| {key.split(':')[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
