"""Proxy throughput and CPU per request: the plugin against the stock LiteLLM proxy, same run.

What a capacity planner needs: how many requests one proxy worker serves when the proxy itself is
the bottleneck, and how much CPU each costs, against the same stock proxy a user would run instead:
the same master key, the same kind of ``custom_auth`` and the same ``router_settings`` (see
``proxy_stack.py``). A fake upstream answers in 0 ms; one-worker proxies: ``stock``,
``stock-aa`` (an identical second stock proxy: the A/A control), ``plugin-memory`` and
``plugin-redis`` (the example's ``config.yaml`` with a realistic plugin config: two tiers, prices,
breakers, per-key budgets), and ``stock-otelfix``: stock without the failing OpenTelemetry import
LiteLLM's proxy re-runs on every request, which the plugin stops in its proxy (so plugin against
``stock-otelfix`` is the plugin's own work, and against ``stock`` what a user's proxy gains or
pays); ``plugin-memory-pings``: ``plugin-memory`` plus a bare ``PING`` to Redis on each admit and
settle (the Redis store's two round trips without its work), so beside it ``plugin-redis`` splits
into what the round trips cost and what the store's scripts add; ``--variants`` adds
``stock-keyonly`` (no ``custom_auth``). The load
comes from ``loadgen.py``, an aiohttp client in its own process (its CPU per request is printed: it
must stay well below the proxies'). For each concurrency, a round gives every proxy ``--seconds`` of
load in ``--slices`` interleaved turns (the order rotates each round), so all see the same machine;
a round is invalid when the A/A control differs from stock by more than ``--aa-tolerance``. Ratios
are paired per slice (proxy / stock of the same turn, a second or so apart), medians over the slices
of the valid rounds: this machine's speed drifts by 10-30% within a minute (other tenants), and a
pair that close in time sees the same machine, while a slice with one of LiteLLM's full garbage
collections (~0.4 s on its heap) is an outlier the median ignores. CPU is the proxy process's
utime+stime from ``/proc/<pid>/stat`` over its load windows, per successful request.

A second table repeats it with the upstream answering in ``--io-latency-ms`` (I/O-bound: the
proxies are not the bottleneck, so overhead shows in latency and CPU, not throughput).

Run: ``make bench-proxy`` (or ``.venv/bin/python bench/bench_proxy.py``). Needs Redis. On a shared
machine, look at the load average printed with the figures: req/s ratios need a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from proxy_stack import Sample, Stack

BASELINE, CONTROL, FIXED = "stock", "stock-aa", "stock-otelfix"
PINGS = "plugin-memory-pings"  # a control, not a proxy a user runs: no goal
GOAL_RPS, GOAL_CPU_MS = 0.95, 0.5


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def one_round(
    stack: Stack, order: Sequence[str], concurrency: int, seconds: float, slices: int
) -> dict[str, list[Sample]]:
    """Each proxy gets ``seconds`` of load in ``slices`` turns, interleaved, so all see the same machine."""
    parts: dict[str, list[Sample]] = {name: [] for name in order}
    for _ in range(slices):
        for name in order:
            parts[name].append(stack.proxies[name].load(seconds / slices, concurrency))
    return parts


def run_table(
    stack: Stack,
    title: str,
    concurrencies: Sequence[int],
    rounds: int,
    seconds: float,
    slices: int,
    tolerance: float,
    goals: bool = False,
) -> None:
    names = list(stack.proxies)
    print(
        f"\n== {title}: {rounds} rounds of {seconds:g} s per proxy (in {slices} interleaved slices) per concurrency; "
        + load_average(),
        flush=True,
    )
    summary: list[tuple[int, dict[str, list[Sample]], dict[str, list[Sample]]]] = []
    for concurrency in concurrencies:
        for proxy in stack.proxies.values():  # warm up at this concurrency (connections, caches)
            proxy.load(min(2.0, seconds), concurrency)
        valid: dict[str, list[Sample]] = {n: [] for n in names}
        valid_slices: dict[str, list[Sample]] = {n: [] for n in names}
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            parts = one_round(stack, order, concurrency, seconds, slices)
            got = {n: Sample.merge(p) for n, p in parts.items()}
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
                    valid_slices[n] += parts[n]
        summary.append((concurrency, valid, valid_slices))

    print(
        f"\n{title}: medians over valid rounds (A/A within {tolerance:.0%}); ratio and CPU difference: medians "
        f"over the paired slices of those rounds; {load_average()}"
    )
    print(
        "| concurrency | proxy | valid rounds | req/s | req/s / stock | CPU ms/request | CPU - stock, ms "
        "| p50 ms | load generator CPU ms/request | errors |"
    )
    print("|---" * 10 + "|")
    verdicts: list[str] = []
    own: list[str] = []
    trips: list[str] = []
    for concurrency, valid, valid_slices in summary:
        n_valid = len(valid[BASELINE])
        if not n_valid:
            print(f"| {concurrency} | all | 0/{rounds} | no valid round: the machine was too busy |")
            continue
        for n in names:
            s, base = valid[n], valid_slices[BASELINE]
            ratio, extra_cpu = paired(valid_slices[n], base, "rps"), paired(valid_slices[n], base, "cpu")
            print(
                f"| {concurrency} | {n} | {n_valid}/{rounds} | {statistics.median(x.rps for x in s):.1f} | "
                f"{ratio:.3f}x | {statistics.median(x.cpu_ms_per_request for x in s):.2f} | {extra_cpu:+.2f} | "
                f"{statistics.median(x.p50_ms for x in s):.1f} | "
                f"{statistics.median(x.loadgen_ms_per_request for x in s):.2f} | {sum(x.errors for x in s)} |"
            )
            if n == PINGS and "plugin-memory" in valid_slices:
                trips.append(round_trips(concurrency, valid_slices))
            elif n.startswith("plugin"):
                ok = ratio >= GOAL_RPS and extra_cpu <= GOAL_CPU_MS
                verdicts.append(f"c={concurrency} {n}: {ratio:.3f}x, {extra_cpu:+.2f} ms {'ok' if ok else 'MISSED'}")
                if FIXED in valid_slices:  # the plugin's own work: against stock without the failing import
                    fixed = valid_slices[FIXED]
                    own.append(
                        f"c={concurrency} {n}: {paired(valid_slices[n], fixed, 'rps'):.3f}x, "
                        f"{paired(valid_slices[n], fixed, 'cpu'):+.2f} ms"
                    )
    if not goals:
        return
    print(
        f"goals: plugin / stock (same master key, custom_auth and router_settings) >= {GOAL_RPS}x req/s and "
        f"CPU per request within +{GOAL_CPU_MS} ms: " + "; ".join(verdicts)
    )
    if own:
        print(f"the plugin's own work, against {FIXED} (paired slices likewise): " + "; ".join(own))
    if trips:
        print("two bare Redis round trips a request, and the Redis store's work beyond them: " + "; ".join(trips))


def round_trips(concurrency: int, valid_slices: dict[str, list[Sample]]) -> str:
    """``plugin-memory-pings`` against ``plugin-memory`` (what the round trips cost), and ``plugin-redis``
    against ``plugin-memory-pings`` (what the store's scripts cost beyond them), paired slices."""
    memory, pings = valid_slices["plugin-memory"], valid_slices[PINGS]
    text = (
        f"c={concurrency} {PINGS} / plugin-memory: {paired(pings, memory, 'rps'):.3f}x, "
        f"{paired(pings, memory, 'cpu'):+.2f} ms"
    )
    if "plugin-redis" in valid_slices:
        redis = valid_slices["plugin-redis"]
        text += f", plugin-redis / {PINGS}: {paired(redis, pings, 'rps'):.3f}x, {paired(redis, pings, 'cpu'):+.2f} ms"
    return text


def paired(samples: list[Sample], base: list[Sample], of: str) -> float:
    """Median over paired slices of proxy / stock req/s (``rps``) or proxy - stock CPU ms per request (``cpu``)."""
    pairs = zip(samples, base, strict=True)
    if of == "rps":
        return statistics.median(s.rps / b.rps for s, b in pairs)
    return statistics.median(s.cpu_ms_per_request - b.cpu_ms_per_request for s, b in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="load per proxy per round")
    parser.add_argument("--slices", type=int, default=10, help="turns a round's load is interleaved in")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=ints, default=[1, 8, 32], help="comma-separated, CPU-bound table")
    parser.add_argument("--aa-tolerance", type=float, default=0.08, help="invalidate a round beyond this A/A gap")
    parser.add_argument(
        "--variants",
        default="stock,stock-aa,stock-otelfix,plugin-memory,plugin-redis,plugin-memory-pings",
        help="proxies to compare (stock and stock-aa are always included; stock-keyonly: no custom_auth)",
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
            goals=True,
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
