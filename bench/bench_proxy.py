"""Proxy throughput and CPU per request: the plugin against the stock LiteLLM proxy, same run.

What a capacity planner needs: how many requests one proxy worker serves when the proxy itself is
the bottleneck, and how much CPU each costs. A fake upstream answers in 0 ms; one-worker proxies:
``stock``, ``stock-aa`` (an identical second stock proxy: the A/A control), ``plugin-memory`` and
``plugin-redis`` (see ``proxy_stack.py``). For each concurrency, rounds run every proxy in turn
(the order rotates each round); a round is invalid when the A/A control differs from stock by more
than ``--aa-tolerance``. Ratios are per round (variant / stock of the same round), medians over the
valid rounds. CPU is the proxy process's utime+stime from ``/proc/<pid>/stat`` over the load window.

A second table repeats it with the upstream answering in ``--io-latency-ms`` (I/O-bound: the
proxies are not the bottleneck, so overhead shows in latency, not throughput).

Run: ``make bench-proxy`` (or ``.venv/bin/python bench/bench_proxy.py``). Needs Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from proxy_stack import Sample, Stack

BASELINE, CONTROL = "stock", "stock-aa"


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def run_table(
    stack: Stack, title: str, concurrencies: Sequence[int], rounds: int, seconds: float, tolerance: float
) -> None:
    names = list(stack.proxies)
    print(f"\n== {title}: {rounds} rounds of {seconds:g} s per proxy and concurrency; {load_average()}", flush=True)
    summary: list[tuple[int, int, dict[str, list[Sample]]]] = []
    for concurrency in concurrencies:
        for proxy in stack.proxies.values():  # warm up at this concurrency (connections, caches)
            asyncio.run(proxy.load(min(2.0, seconds), concurrency))
        valid: dict[str, list[Sample]] = {n: [] for n in names}
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            got = {name: asyncio.run(stack.proxies[name].load(seconds, concurrency)) for name in order}
            aa = got[CONTROL].rps / got[BASELINE].rps
            ok = abs(aa - 1) <= tolerance
            cells = "  ".join(
                f"{n} {got[n].rps:6.1f} req/s {got[n].cpu_ms_per_request:5.2f} ms cpu"
                + (f" {got[n].errors} err" if got[n].errors else "")
                for n in names
            )
            print(f"c={concurrency:<3d} round {r + 1}: A/A {aa:.3f}{'' if ok else ' INVALID'}  {cells}", flush=True)
            if ok:
                for n in names:
                    valid[n].append(got[n])
        summary.append((concurrency, len(valid[BASELINE]), valid))

    others = [n for n in names if n != BASELINE]
    print(f"\n{title}: medians over valid rounds (A/A within {tolerance:.0%}); {load_average()}")
    header = (
        "| concurrency | valid rounds | stock req/s | "
        + " | ".join(f"{n}/stock req/s" for n in others)
        + " | CPU ms/request "
        + " / ".join(names)
        + " | p50 ms "
        + " / ".join(names)
        + " |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for concurrency, n_valid, valid in summary:
        if not n_valid:
            print(f"| {concurrency} | 0 | - | " + " | ".join("-" for _ in others) + " | - | - |")
            continue
        base = valid[BASELINE]
        ratios = [statistics.median(s.rps / b.rps for s, b in zip(valid[n], base, strict=True)) for n in others]
        cpu = [statistics.median(s.cpu_ms_per_request for s in valid[n]) for n in names]
        p50 = [statistics.median(s.p50_ms for s in valid[n]) for n in names]
        print(
            f"| {concurrency} | {n_valid}/{rounds} | {statistics.median(s.rps for s in base):.1f} | "
            + " | ".join(f"{r:.3f}x" for r in ratios)
            + " | "
            + " / ".join(f"{c:.2f}" for c in cpu)
            + " | "
            + " / ".join(f"{p:.1f}" for p in p50)
            + " |"
        )
    print("goals: plugin/stock req/s >= 0.95x; plugin CPU per request within +0.5 ms of stock")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="load per proxy per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=ints, default=[1, 8, 32], help="comma-separated, CPU-bound table")
    parser.add_argument("--aa-tolerance", type=float, default=0.08, help="invalidate a round beyond this A/A gap")
    parser.add_argument(
        "--variants",
        default="stock,stock-aa,plugin-memory,plugin-redis",
        help="proxies to compare (stock and stock-aa are always included); also: stock-auth",
    )
    parser.add_argument("--io-latency-ms", type=float, default=200.0)
    parser.add_argument("--io-concurrency", type=ints, default=[1, 8], help="comma-separated; empty skips the table")
    parser.add_argument("--io-rounds", type=int, default=3)
    args = parser.parse_args()

    variants = list(dict.fromkeys([BASELINE, CONTROL, *args.variants.split(",")]))
    stack = Stack(variants, Path(tempfile.mkdtemp(prefix="bench-proxy-")))
    try:
        run_table(
            stack,
            "CPU-bound (upstream answers in 0 ms)",
            args.concurrency,
            args.rounds,
            args.seconds,
            args.aa_tolerance,
        )
        if args.io_concurrency:
            stack.upstream_latency(args.io_latency_ms)
            run_table(
                stack,
                f"I/O-bound (upstream answers in {args.io_latency_ms:g} ms)",
                args.io_concurrency,
                args.io_rounds,
                args.seconds,
                args.aa_tolerance,
            )
    finally:
        stack.close()


if __name__ == "__main__":
    main()
