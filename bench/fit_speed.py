"""Time of ``fit`` (the traffic model's training) on the shipped MMLU outcomes, without and with the prior.

    PYTHONPATH=. python bench/fit_speed.py 500,5000 3        # label counts, runs each (median shown)

Labels: the first N of all questions in a seeded order (seed 100, as bench/learning_splits.py). Run it
with ``PYTHONPATH`` on another checkout for a before/after; the machine's load inflates both alike.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time

from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.evaluation.routing_bench import load_dataset
from litellm_router_plugin.learning.fit import fit
from litellm_router_plugin.learning.outcomes import Outcome


def main(label_counts: list[int], runs: int) -> None:
    samples = load_dataset(MMLU_DATASET)
    order = list(range(len(samples)))
    random.Random(100).shuffle(order)
    outcomes = [
        Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file", at=0.0)
        for s in (samples[i] for i in order[: max(label_counts)])
    ]
    base = TrafficModel.load(SHIPPED_PATH)
    for n in label_counts:
        for name, prior in (("no prior", None), ("prior", base)):
            seconds = []
            for _ in range(runs):
                start = time.perf_counter()
                model = fit(outcomes[:n], base=prior, seed=0)
                seconds.append(time.perf_counter() - start)
            print(
                f"labels {n} {name}: fit {statistics.median(seconds):.2f} s (median of {runs}; "
                f"{', '.join(f'{s:.2f}' for s in seconds)}) penalty {model.meta['penalty']} "
                f"version {model.version} load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1].split(",")], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
