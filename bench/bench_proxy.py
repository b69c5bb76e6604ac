"""Proxy throughput and CPU per request: the plugin against the stock LiteLLM proxy, same run.

What a capacity planner needs: how many requests one proxy worker serves when the proxy itself is
the bottleneck, and how much CPU each costs. A fake upstream answers in 0 ms; one-worker proxies
(see ``proxy_stack.py``): ``stock`` (master key), ``stock-aa`` (an identical second stock proxy: the
A/A control), ``stock-auth`` (stock with the example's ``custom_auth``, which the plugin's example
config uses: it separates the auth hook's cost from the plugin's), ``plugin-memory`` and
``plugin-redis``. For each concurrency, a round gives every proxy ``--seconds`` of load in
``--slices`` interleaved turns (the order rotates each round), so all see the same machine; a round
is invalid when the A/A control differs from stock by more than ``--aa-tolerance``. Ratios are
paired per round (proxy / stock of the same round), medians over the valid rounds. CPU is the proxy
process's utime+stime from ``/proc/<pid>/stat`` over its load windows, per successful request.

A second table repeats it with the upstream answering in ``--io-latency-ms`` (I/O-bound: the
proxies are not the bottleneck, so overhead shows in latency and CPU, not throughput).

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

BASELINE, CONTROL, AUTH = "stock", "stock-aa", "stock-auth"


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


async def one_round(
    stack: Stack, order: Sequence[str], concurrency: int, seconds: float, slices: int
) -> dict[str, Sample]:
    """Each proxy gets ``seconds`` of load in ``slices`` turns, interleaved, so all see the same machine."""
    parts: dict[str, list[Sample]] = {name: [] for name in order}
    for _ in range(slices):
        for name in order:
            parts[name].append(await stack.proxies[name].load(seconds / slices, concurrency))
    return {name: Sample.merge(p) for name, p in parts.items()}


def run_table(
    stack: Stack,
    title: str,
    concurrencies: Sequence[int],
    rounds: int,
    seconds: float,
    slices: int,
    tolerance: float,
) -> None:
    names = list(stack.proxies)
    print(
        f"\n== {title}: {rounds} rounds of {seconds:g} s per proxy (in {slices} interleaved slices) per concurrency; "
        + load_average(),
        flush=True,
    )
    summary: list[tuple[int, dict[str, list[Sample]]]] = []
    for concurrency in concurrencies:
        for proxy in stack.proxies.values():  # warm up at this concurrency (connections, caches)
            asyncio.run(proxy.load(min(2.0, seconds), concurrency))
        valid: dict[str, list[Sample]] = {n: [] for n in names}
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            got = asyncio.run(one_round(stack, order, concurrency, seconds, slices))
            aa = got[CONTROL].rps / got[BASELINE].rps
            ok = abs(aa - 1) <= tolerance
            cells = "  ".join(
                f"{n} {got[n].rps:6.1f} req/s {got[n].cpu_ms_per_request:5.2f} ms"
                + (f" {got[n].errors} err" if got[n].errors else "")
                for n in names
            )
            print(f"c={concurrency:<3d} round {r + 1}: A/A {aa:.3f}{'' if ok else ' INVALID'}  {cells}", flush=True)
            if ok:
                for n in names:
                    valid[n].append(got[n])
        summary.append((concurrency, valid))

    print(f"\n{title}: medians over valid rounds (A/A within {tolerance:.0%}); {load_average()}")
    extra = [AUTH] if AUTH in names else []
    print(
        "| concurrency | proxy | valid rounds | req/s | req/s / stock | "
        + "".join(f"req/s / {e} | " for e in extra)
        + "CPU ms/request | CPU - stock, ms | p50 ms | errors |"
    )
    print("|---" * (9 + len(extra)) + "|")

    def paired(samples: list[Sample], base: list[Sample], of: str) -> float:
        pairs = zip(samples, base, strict=True)
        if of == "rps":
            return statistics.median(s.rps / b.rps for s, b in pairs)
        return statistics.median(s.cpu_ms_per_request - b.cpu_ms_per_request for s, b in pairs)

    for concurrency, valid in summary:
        n_valid = len(valid[BASELINE])
        if not n_valid:
            print(f"| {concurrency} | all | 0/{rounds} | no valid round: the machine was too busy |")
            continue
        for n in names:
            s = valid[n]
            print(
                f"| {concurrency} | {n} | {n_valid}/{rounds} | {statistics.median(x.rps for x in s):.1f} | "
                f"{paired(s, valid[BASELINE], 'rps'):.3f}x | "
                + "".join(f"{paired(s, valid[e], 'rps'):.3f}x | " for e in extra)
                + f"{statistics.median(x.cpu_ms_per_request for x in s):.2f} | "
                f"{paired(s, valid[BASELINE], 'cpu'):+.2f} | {statistics.median(x.p50_ms for x in s):.1f} | "
                f"{sum(x.errors for x in s)} |"
            )
    print("goals: plugin/stock req/s >= 0.95x; plugin CPU per request within +0.5 ms of stock")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="load per proxy per round")
    parser.add_argument("--slices", type=int, default=5, help="turns a round's load is interleaved in")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=ints, default=[1, 8, 32], help="comma-separated, CPU-bound table")
    parser.add_argument("--aa-tolerance", type=float, default=0.08, help="invalidate a round beyond this A/A gap")
    parser.add_argument(
        "--variants",
        default="stock,stock-aa,stock-auth,plugin-memory,plugin-redis",
        help="proxies to compare (stock and stock-aa are always included)",
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
            args.slices,
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
                args.slices,
                args.aa_tolerance,
            )
    finally:
        stack.close()


if __name__ == "__main__":
    main()
