"""Proxy throughput and latency: the plugin's config against the stock proxy, same run.

Starts a fake upstream and three `litellm` proxies on loopback: stock (model group "cheap"), a
second stock one as an identical-config control (how much two identical proxies differ here),
and one with the plugin (model "auto", routed to the same deployment, budgets and breakers on a
Redis store). One load generator drives each in turn, several rounds, interleaved.

Run: ``make bench-proxy`` (or ``.venv/bin/python bench/bench_proxy.py``). Needs Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.proxy_harness import EXAMPLE, Harness, tier_deployment, wait_http  # noqa: E402

PROMPT = [{"role": "user", "content": "Hi there! What is the capital of France?"}]


async def load(url: str, model: str, seconds: float, concurrency: int) -> tuple[float, float, int]:
    """Requests/s, p50 latency (ms) and errors of `concurrency` clients looping for `seconds`."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    headers = {"Authorization": "Bearer sk-bench-team"}
    body = {"model": model, "messages": PROMPT, "max_tokens": 20}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            start = time.perf_counter()
            response = await client.post("/v1/chat/completions", json=body, headers=headers)
            if response.status_code == 200:
                latencies.append((time.perf_counter() - start) * 1000)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        began = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    return len(latencies) / elapsed, statistics.median(latencies) if latencies else float("nan"), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    harness = Harness(work)
    try:
        upstream = harness.upstream()
        cheap = tier_deployment("cheap-a", f"{upstream}/v1", 1e-7, 4e-7)
        stock_config = work / "stock.yaml"
        stock_config.write_text(
            yaml.safe_dump(
                {
                    "model_list": [
                        {"model_name": "cheap", "litellm_params": {"model": cheap["model"], **cheap["litellm_params"]}}
                    ],
                    "router_settings": {"num_retries": 2, "allowed_fails": 3, "cooldown_time": 5},
                    "general_settings": {"master_key": "sk-bench-team"},
                }
            )
        )
        plugin = {
            "tiers": [{"name": "cheap", "deployments": [cheap]}],
            "budgets": {"per_key": {"daily": 1000.0}},
            "store": {"kind": "redis", "prefix": f"bench-{uuid.uuid4().hex[:8]}"},
        }
        targets = {
            "stock": (*harness.start_proxy("stock", None, stock_config), "cheap"),
            "stock-control": (*harness.start_proxy("stock-control", None, stock_config), "cheap"),
            "plugin": (*harness.start_proxy("plugin", plugin, EXAMPLE / "config.yaml"), "auto"),
        }
        for url, proc, _ in targets.values():
            wait_http(f"{url}/health/liveliness", proc, 180)
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in targets}
        for url, _, model in targets.values():  # warm up
            asyncio.run(load(url, model, 2, args.concurrency))
        for r in range(args.rounds):
            for name, (url, _, model) in targets.items():
                results[name].append(asyncio.run(load(url, model, args.seconds, args.concurrency)))
                rps, p50, errors = results[name][-1]
                print(f"round {r + 1} {name:14s} {rps:7.1f} req/s  p50 {p50:6.1f} ms  errors {errors}")
        summary = {
            n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for n, v in results.items()
        }
        print(f"\n{args.concurrency} concurrent clients, {args.rounds} rounds of {args.seconds:g} s, medians:")
        for name, (rps, p50) in summary.items():
            print(f"  {name:14s} {rps:7.1f} req/s  p50 {p50:6.1f} ms")
        print(f"  plugin / stock throughput = {summary['plugin'][0] / summary['stock'][0]:.3f}x  (goal >= 0.95x)")
        print(f"  control / stock throughput = {summary['stock-control'][0] / summary['stock'][0]:.3f}x  (noise floor)")
        print(f"  plugin / stock p50 latency = {summary['plugin'][1] / summary['stock'][1]:.3f}x")
    finally:
        harness.close()


if __name__ == "__main__":
    main()
