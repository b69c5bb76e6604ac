"""Scoring latency of the traffic model (issue 22: p50 <= 0.2 ms a prompt, pure Python), per prompt kind.

    PYTHONPATH=. python bench/traffic_latency.py                      # this tree
    PYTHONPATH=. python bench/traffic_latency.py --baseline /work/main  # and another checkout, same run

Each prompt is timed alone (``perf_counter_ns`` around one call), several passes, in three sets:
``chat`` (the demo's 20 everyday requests, 9-190 characters), ``mmlu`` (400 questions of the held-out
MMLU subjects, median ~300 characters) and ``long`` (the held-out questions of 1-2 KB). Scorers: the
heuristic (the floor every local classifier pays), the shipped shape model (``learned.json``), and the
shipped traffic model (``traffic.json``): ``strength`` (the number routing reads) and ``classify`` (the
full analysis the plugin builds). With ``--baseline TREE`` every round runs one process per tree in turn
(the order alternates), so both see the same load; the table gives each tree's p50 / p99 and the p50
ratio, of the wall clock and of the thread's CPU time (``cpu`` rows: what a call costs when no other
process takes the core). The machine's load inflates wall figures: compare within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCORERS = ("heuristic classify", "shape model classify", "traffic strength", "traffic classify")


def prompt_sets() -> dict[str, list[str]]:
    """The three prompt sets, the same in every process."""
    import random

    from litellm_router_plugin.evaluation.bench_runs import mmlu_stream
    from litellm_router_plugin.tools.demo import DEMO_PROMPTS

    _, prompts, _ = mmlu_stream()
    order = list(range(len(prompts)))
    random.Random(0).shuffle(order)
    return {
        "chat": list(DEMO_PROMPTS),
        "mmlu": [prompts[i] for i in order[:400]],
        "long": [p for p in prompts if 1000 <= len(p.strip()) <= 2000],
    }


def scorers() -> dict[str, Callable[[str], object]]:
    """What is timed: one call per prompt each."""
    from litellm_router_plugin.classify import HeuristicClassifier
    from litellm_router_plugin.classify.learned import LearnedClassifier
    from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel

    shape = LearnedClassifier()
    shape.load()
    traffic = TrafficModel.load(SHIPPED_PATH)
    return dict(
        zip(SCORERS, (HeuristicClassifier().classify, shape.classify, traffic.strength, traffic.classify), strict=True)
    )


def measure(passes: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per call, {set: {scorer (and scorer + " cpu"): [ms, ...]}}: wall clock, and the CPU time
    of this thread (what the call costs when no other process takes the core). A warm-up pass first."""
    sets, timed = prompt_sets(), scorers()
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    out: dict[str, dict[str, list[float]]] = {}
    for set_name, prompts in sets.items():
        out[set_name] = {}
        for name, f in timed.items():
            for p in prompts:  # warm-up: caches, the model's tables
                f(p)
            walls, cpus = [], []
            for _ in range(passes):
                for p in prompts:
                    start, start_cpu = wall(), cpu()
                    f(p)
                    end_cpu, end = cpu(), wall()
                    walls.append((end - start) / 1e6)
                    cpus.append((end_cpu - start_cpu) / 1e6)
            out[set_name][name] = walls
            out[set_name][name + " cpu"] = cpus
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank quantile ``q`` (0-1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def child(tree: str, passes: int) -> dict[str, dict[str, list[float]]]:
    """``measure`` in a fresh process importing the package from ``tree``."""
    env = {**os.environ, "PYTHONPATH": tree, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--passes", str(passes)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, dict[str, list[float]]] = json.loads(done.stdout.splitlines()[-1])
    return result


def report(runs: dict[str, list[dict[str, dict[str, list[float]]]]]) -> str:
    """Markdown: per set and scorer, each tree's p50 / p99 (median over rounds) and the p50 ratio."""
    trees = list(runs)
    head = "| set | scorer | " + " | ".join(f"{t} p50 / p99 ms" for t in trees)
    head += " | p50 this / baseline |" if len(trees) > 1 else " |"
    lines = [head, "|---|---|" + "---|" * (len(trees) + (len(trees) > 1))]
    first = runs[trees[0]][0]
    for set_name, by_scorer in first.items():
        for scorer in by_scorer:
            cells, p50s = [], []
            for t in trees:
                p50 = statistics.median(percentile(r[set_name][scorer], 0.5) for r in runs[t])
                p99 = statistics.median(percentile(r[set_name][scorer], 0.99) for r in runs[t])
                cells.append(f"{p50:.4f} / {p99:.3f}")
                p50s.append(p50)
            ratio = f" {p50s[0] / p50s[1]:.2f}x |" if len(trees) > 1 else ""
            lines.append(f"| {set_name} | {scorer} | " + " | ".join(cells) + " |" + ratio)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", help="another checkout's root, measured in the same run")
    parser.add_argument("--rounds", type=int, default=3, help="processes per tree (median of their p50s)")
    parser.add_argument("--passes", type=int, default=5, help="timed passes over each set, per process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.passes)))
        return
    this = str(Path(__file__).resolve().parent.parent)
    trees = {"this": this} | ({"baseline": str(Path(args.baseline).resolve())} if args.baseline else {})
    runs: dict[str, list[Any]] = {name: [] for name in trees}
    for r in range(args.rounds):
        order = list(trees.items()) if r % 2 == 0 else list(reversed(trees.items()))
        for name, tree in order:
            runs[name].append(child(tree, args.passes))
    print(f"load average {os.getloadavg()[0]:.1f}; {args.rounds} rounds x {args.passes} passes; trees: {trees}")
    print(report(runs))


if __name__ == "__main__":
    main()
